package tsmigrate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import tsmigrate.db.Pg;

/**
 * The checks and the plan do not wait for a lock someone holds on a table the job leaves out (a long ALTER TABLE,
 * say): the table list used to read every table's size, which waits for such a lock, and a preflight hung on it. The
 * schema dump still waits, as pg_dump does: the table's definition is copied with the rest of the schema.
 */
class LockedExcludedTableTest {
    @TempDir
    Path work;

    @Test
    void aLockOnAnExcludedTableDoesNotHoldUpTheChecksOrThePlan() throws Exception {
        String[] dbs = Clusters.newPair("lockedout");
        Clusters.runSql(Clusters.source(), dbs[0], """
                CREATE TABLE kept (id int, t timestamptz); INSERT INTO kept SELECT g, '2024-01-01'::timestamptz + g * interval '1 hour' FROM generate_series(1, 100) g;
                CREATE SCHEMA "Busy Ops"; CREATE TABLE "Busy Ops"."Busy Log" (id int); INSERT INTO "Busy Ops"."Busy Log" VALUES (1);
                """);
        try (Connection holder = Clusters.source().connect(dbs[0])) {
            holder.setAutoCommit(false);
            Pg.exec(holder, "LOCK TABLE \"Busy Ops\".\"Busy Log\" IN ACCESS EXCLUSIVE MODE");
            CompletableFuture<Cli.Result> run = CompletableFuture.supplyAsync(() -> Cli.run("plan",
                    "--source", Clusters.source().uri(dbs[0]), "--target", Clusters.target().uri(dbs[1]),
                    "--work-dir", work.toString(), "--exclude", "\"Busy Ops\".*"));
            Cli.Result r;
            try {
                r = run.get(60, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                holder.rollback(); // lets the waiting run go on, so that it ends before the next test
                run.get(5, TimeUnit.MINUTES);
                fail("the dry run waited for the lock on the excluded table");
                return;
            }
            assertEquals(0, r.exit(), r.all());
            assertTrue(r.out().contains("\"public\".\"kept\"") && !r.out().contains("Busy Log"), r.out());
        }
        Cli.Result m = Cli.run("migrate", "--source", Clusters.source().uri(dbs[0]), "--target", Clusters.target().uri(dbs[1]),
                "--work-dir", work.toString(), "--exclude", "\"Busy Ops\".*");
        assertEquals(0, m.exit(), m.all());
        try (Connection t = Clusters.target().connect(dbs[1])) {
            assertEquals("100", Pg.queryString(t, "SELECT count(*) FROM kept"));
            assertEquals("0", Pg.queryString(t, "SELECT count(*) FROM \"Busy Ops\".\"Busy Log\""), "the schema, not the rows");
        }
    }

    /**
     * The refusal of a foreign key to an excluded table that holds rows comes without a look at that table's rows (it
     * waited for the lock, QA): a row of the copied table that refers to it says the same, as the key is valid.
     */
    @Test
    void theForeignKeyCheckDoesNotReadTheExcludedTable() throws Exception {
        String[] dbs = Clusters.newPair("lockedparent");
        Clusters.runSql(Clusters.source(), dbs[0], """
                CREATE TABLE parent_ok (id int PRIMARY KEY); INSERT INTO parent_ok VALUES (1), (2);
                CREATE TABLE child_ok (id int, pid int REFERENCES parent_ok); INSERT INTO child_ok VALUES (1, NULL), (2, 2);
                CREATE TABLE child_null (id int, pid int REFERENCES parent_ok); INSERT INTO child_null VALUES (1, NULL);
                """);
        try (Connection holder = Clusters.source().connect(dbs[0])) {
            holder.setAutoCommit(false);
            Pg.exec(holder, "LOCK TABLE parent_ok IN ACCESS EXCLUSIVE MODE");
            CompletableFuture<Cli.Result> run = CompletableFuture.supplyAsync(() -> Cli.run("migrate",
                    "--source", Clusters.source().uri(dbs[0]), "--target", Clusters.target().uri(dbs[1]),
                    "--work-dir", work.toString(), "--exclude", "public.parent_ok"));
            Cli.Result r;
            try {
                r = run.get(60, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                holder.rollback();
                run.get(5, TimeUnit.MINUTES);
                fail("the foreign-key check waited for the lock on the excluded table");
                return;
            }
            assertEquals(2, r.exit(), r.all());
            assertTrue(r.err().contains("\"public\".\"child_ok\"") && !r.err().contains("child_null"),
                    "a key whose every reference is NULL holds on the target:\n" + r.err());
        }
    }
}
