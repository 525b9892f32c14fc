package tsmigrate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import tsmigrate.db.Pg;

/**
 * A run that waits for a lock another session holds says so every progress period, naming the table and who holds
 * the lock: it was silent for as long as the lock was held (QA). Preflight's reads and pg_dump's are both watched.
 */
class LockWaitsTest {
    @TempDir
    Path work;

    @Test
    void waitsForLocksAreNamedWithTheirHolders() throws Exception {
        String[] dbs = Clusters.newPair("lockwaits");
        Clusters.runSql(Clusters.source(), dbs[0], """
                CREATE TABLE "Kept Log" (id int); INSERT INTO "Kept Log" VALUES (1);
                CREATE TABLE "Busy Log" (id int); INSERT INTO "Busy Log" VALUES (1);
                """);
        try (Connection a = Clusters.source().connect(dbs[0]); Connection b = Clusters.source().connect(dbs[0])) {
            Pg.exec(a, "SET application_name = 'holder A'");
            Pg.exec(b, "SET application_name = 'holder B'");
            a.setAutoCommit(false);
            b.setAutoCommit(false);
            Pg.exec(a, "LOCK TABLE \"Kept Log\" IN ACCESS EXCLUSIVE MODE"); // preflight reads its size
            Pg.exec(b, "LOCK TABLE \"Busy Log\" IN ACCESS EXCLUSIVE MODE"); // left out, but pg_dump dumps its definition
            CompletableFuture<Cli.Result> run = CompletableFuture.supplyAsync(() -> Cli.run("migrate",
                    "--source", Clusters.source().uri(dbs[0]), "--target", Clusters.target().uri(dbs[1]),
                    "--work-dir", work.toString(), "--exclude", "public.\"Busy Log\"", "--progress-interval", "1"));
            Thread.sleep(3500);
            a.rollback();
            Thread.sleep(3500);
            b.rollback();
            Cli.Result r = run.get(2, TimeUnit.MINUTES);
            assertEquals(0, r.exit(), r.all());
            assertTrue(r.err().matches("(?s).*preflight: session \\d+ on the source waits for a lock on public\\.\"Kept Log\" \\(AccessShareLock\\)"
                    + " for \\d+ s, held by pid \\d+ \\(holder A\\), user \\w+, idle in transaction, in a transaction for \\d+ s.*"), r.err());
            assertTrue(r.err().matches("(?s).*pre-data: session \\d+ on the source waits for a lock on public\\.\"Busy Log\" \\(AccessShareLock\\)"
                    + " for \\d+ s, held by pid \\d+ \\(holder B\\).*"), r.err());
        }
    }

    /**
     * Preflight's look at the target's tables waits for a lock held there too, and says so (it was silent, QA); a
     * newline in the table's name is written as \n (it split the line, QA).
     */
    @Test
    void aWaitOnTheTargetIsNamedAndANewlineInANameIsEscaped() throws Exception {
        String[] dbs = Clusters.newPair("lockwaitstgt");
        Clusters.runSql(Clusters.source(), dbs[0], "CREATE TABLE kept (id int); INSERT INTO kept VALUES (1);");
        Clusters.runSql(Clusters.target(), dbs[1], "CREATE TABLE \"Other\nLog\" (id int)");
        try (Connection a = Clusters.target().connect(dbs[1])) {
            Pg.exec(a, "SET application_name = 'holder T'");
            a.setAutoCommit(false);
            Pg.exec(a, "LOCK TABLE \"Other\nLog\" IN ACCESS EXCLUSIVE MODE");
            CompletableFuture<Cli.Result> run = CompletableFuture.supplyAsync(() -> Cli.run("migrate",
                    "--source", Clusters.source().uri(dbs[0]), "--target", Clusters.target().uri(dbs[1]),
                    "--work-dir", work.toString(), "--progress-interval", "1"));
            Thread.sleep(3500);
            a.rollback();
            Cli.Result r = run.get(2, TimeUnit.MINUTES);
            assertEquals(0, r.exit(), r.all());
            assertTrue(r.err().contains("preflight: session ") && r.err().contains(" on the target waits for a lock on public.\"Other\\nLog\" (AccessShareLock)")
                    && r.err().contains("(holder T)"), r.err());
        }
    }

    /** The dry run says so too (QA: it was silent). */
    @Test
    void theDryRunTellsItsWaits() throws Exception {
        String[] dbs = Clusters.newPair("lockwaitsplan");
        Clusters.runSql(Clusters.source(), dbs[0], "CREATE TABLE kept (id int); INSERT INTO kept VALUES (1);");
        try (Connection a = Clusters.source().connect(dbs[0])) {
            a.setAutoCommit(false);
            Pg.exec(a, "LOCK TABLE kept IN ACCESS EXCLUSIVE MODE");
            CompletableFuture<Cli.Result> run = CompletableFuture.supplyAsync(() -> Cli.run("plan",
                    "--source", Clusters.source().uri(dbs[0]), "--target", Clusters.target().uri(dbs[1]),
                    "--work-dir", work.toString(), "--progress-interval", "1"));
            Thread.sleep(2500);
            a.rollback();
            Cli.Result r = run.get(2, TimeUnit.MINUTES);
            assertEquals(0, r.exit(), r.all());
            assertTrue(r.err().contains("plan: session ") && r.err().contains(" on the source waits for a lock on public.kept (AccessShareLock)"), r.err());
        }
    }
}
