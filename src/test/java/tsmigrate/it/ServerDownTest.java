package tsmigrate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import tsmigrate.cli.TsMigrate;
import tsmigrate.db.Pg;
import tsmigrate.embedded.EmbeddedCluster;

/**
 * A server that goes down for a few seconds in the middle of the data step (crashed: pg_ctl stop -m immediate)
 * and comes back: the lost connections and the refused reconnects are retried, and the run completes with every
 * row exactly once. One that stays down ends the run after its retries, in words. The server that goes down is
 * one of this test's own, so the shared clusters of the other tests never do.
 */
class ServerDownTest {
    @TempDir
    Path work;

    /** ~56 chunks of 6 hours. */
    static final String SOURCE = """
            CREATE TABLE m (time timestamptz NOT NULL, device int, v double precision, note text);
            INSERT INTO m SELECT timestamptz '2025-01-01' + i * interval '1 minute', i % 10, i / 7.0, repeat('x', 40)
            FROM generate_series(1, 20000) i;
            CREATE INDEX ON m (time);
            """;

    /** Every load on the target takes at least 0.3 s, so the data step is still running when the server goes down. */
    static final String SLOW_LOADS = """
            CREATE SCHEMA test_hooks;
            CREATE FUNCTION test_hooks.slow() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_sleep(0.3); RETURN NULL; END $$;
            CREATE TRIGGER slow AFTER INSERT ON public.m FOR EACH STATEMENT EXECUTE FUNCTION test_hooks.slow();
            """;

    private static String[] args(EmbeddedCluster source, EmbeddedCluster target, String db, Path workDir, String... more) {
        String[] base = {"migrate", "--source", source.uri(db), "--target", target.uri(db), "--work-dir", workDir.toString(),
                "--workers", "2", "--chunk-interval", "6 hours"};
        String[] all = java.util.Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, all, base.length, more.length);
        return all;
    }

    /** Chunks loaded so far; -1 while the target does not answer. */
    private static long loaded(EmbeddedCluster target, String db) {
        try (Connection c = target.connect(db)) {
            return Long.parseLong(Pg.queryString(c, "SELECT count(*) FROM tsmigrate.chunk WHERE state IN ('loaded', 'verified')"));
        } catch (Exception e) {
            return -1;
        }
    }

    /** The chunks not loaded, for a failure's message. */
    private static String unloaded(EmbeddedCluster target, String db) {
        try (Connection c = target.connect(db); var st = c.createStatement();
             var rs = st.executeQuery("SELECT chunk_no, state, claimed_by, attempts, last_error FROM tsmigrate.chunk"
                     + " WHERE state NOT IN ('loaded', 'verified') ORDER BY chunk_no")) {
            StringBuilder out = new StringBuilder("\nchunks not loaded:");
            while (rs.next()) {
                out.append("\n  ").append(rs.getInt(1)).append(' ').append(rs.getString(2)).append(" claimed by ").append(rs.getString(3))
                        .append(", ").append(rs.getInt(4)).append(" attempts, ").append(rs.getString(5));
            }
            return out.toString();
        } catch (Exception e) {
            return "\n(chunks unreadable: " + e.getMessage() + ")";
        }
    }

    private static long chunks(EmbeddedCluster target, String db) throws Exception {
        try (Connection c = target.connect(db)) {
            return Long.parseLong(Pg.queryString(c, "SELECT count(*) FROM tsmigrate.chunk"));
        }
    }

    /**
     * Sets up source and target (schema, slow loads), starts the migration and returns it once the data step is
     * under way: at least 4 chunks loaded, and most still to come.
     */
    private CompletableFuture<Cli.Result> startMidData(EmbeddedCluster source, EmbeddedCluster target, String db, String... more)
            throws Exception {
        Clusters.runSql(source, db, SOURCE);
        Cli.Result schema = Cli.run(args(source, target, db, work, "--steps", "pre-data"));
        assertEquals(0, schema.exit(), schema.all());
        Clusters.runSql(target, db, SLOW_LOADS);
        CompletableFuture<Cli.Result> run = CompletableFuture.supplyAsync(() -> Cli.run(args(source, target, db, work, more)));
        awaitWhileRunning(run, () -> loaded(target, db) >= 4, "its data step was under way");
        long total = chunks(target, db);
        assertTrue(loaded(target, db) < total - 10, "the server goes down while most chunks are still to load");
        return run;
    }

    /** Waits (2 minutes at most) until {@code until} holds, failing if the migration ends first: then it never got there. */
    private static void awaitWhileRunning(CompletableFuture<Cli.Result> run, java.util.function.BooleanSupplier until, String what)
            throws InterruptedException {
        long deadline = System.currentTimeMillis() + 120_000;
        while (!until.getAsBoolean()) {
            assertTrue(System.currentTimeMillis() < deadline, "never " + what);
            assertFalse(run.isDone(), () -> "the migration ended before " + what + ":\n" + run.join().all());
            Thread.sleep(20);
        }
    }

    private static void assertSameRows(EmbeddedCluster source, EmbeddedCluster target, String db) throws Exception {
        try (Connection s = source.connect(db); Connection t = target.connect(db)) {
            assertEquals(DbCompare.allRows(s), DbCompare.allRows(t), "every row exactly once");
            assertEquals("0", Pg.queryString(t, "SELECT count(*) FROM tsmigrate.chunk WHERE state <> 'verified'"));
        }
    }

    @Test
    @Timeout(300)
    void targetDownForSecondsMidDataIsRetriedAndTheMigrationCompletes() throws Exception {
        downForSecondsMidData(false);
    }

    @Test
    @Timeout(300)
    void sourceDownForSecondsMidDataIsRetriedAndTheMigrationCompletes() throws Exception {
        downForSecondsMidData(true);
    }

    /** --stream: the source's COPY TO breaks off while it feeds the target's COPY FROM directly. */
    @Test
    @Timeout(300)
    void sourceDownForSecondsMidStreamIsRetriedAndTheMigrationCompletes() throws Exception {
        downForSecondsMidData(true, "--stream");
    }

    /** One side (its own cluster, so the shared ones stay up) crashes mid-data and is back 3 s later. */
    private void downForSecondsMidData(boolean sourceGoesDown, String... more) throws Exception {
        try (EmbeddedCluster down = EmbeddedCluster.start(sourceGoesDown ? "down-src" : "down-tgt")) {
            EmbeddedCluster source = sourceGoesDown ? down : Clusters.source();
            EmbeddedCluster target = sourceGoesDown ? Clusters.target() : down;
            String db = (sourceGoesDown ? "down_src_" : "down_tgt_") + System.nanoTime();
            source.createDatabase(db);
            target.createDatabase(db);
            CompletableFuture<Cli.Result> run = startMidData(source, target, db, more);
            down.crash();
            Thread.sleep(3000);
            down.restart();
            Cli.Result r = run.get(4, TimeUnit.MINUTES);
            assertEquals(0, r.exit(), r.all() + unloaded(target, db));
            assertTrue(r.err().contains("retrying"), "the faults were retried:\n" + r.err());
            // and counted where people look afterwards (QA: the report said 'Warnings: 0')
            String counted = "after a lost connection or a restarting server, all recovered";
            assertTrue(r.all().contains(counted), r.all());
            assertTrue(java.nio.file.Files.readString(work.resolve("report.md")).contains(counted), "in report.md");
            assertSameRows(source, target, db);
        }
    }

    /** Retries are bounded: a target that does not come back ends the run, in words; once it is back, a rerun resumes. */
    @Test
    @Timeout(300)
    void targetThatStaysDownEndsTheRunAfterItsRetriesWithAClearMessage() throws Exception {
        try (EmbeddedCluster target = EmbeddedCluster.start("gone-tgt")) {
            EmbeddedCluster source = Clusters.source();
            String db = "gone_tgt_" + System.nanoTime();
            source.createDatabase(db);
            target.createDatabase(db);
            CompletableFuture<Cli.Result> run = startMidData(source, target, db, "--retries", "2");
            target.crash();
            Cli.Result r;
            try {
                r = run.get(2, TimeUnit.MINUTES); // retries 2: about 1 + 2 s of backoff
            } finally {
                target.restart();
            }
            assertEquals(TsMigrate.FAILED, r.exit(), r.all());
            assertTrue(r.err().contains("error: Cannot reach the target") && r.err().contains("refused"), r.err());
            assertFalse(r.all().contains("\tat "), "no stack trace");
            Cli.Result again = Cli.run(args(source, target, db, work));
            assertEquals(0, again.exit(), again.all());
            assertSameRows(source, target, db);
        }
    }

    /**
     * A source that does not come back ends the run; the target is fine, so the data step is recorded as failed, with
     * why, and status says so (QA: it stayed 'running', as if a run were still at it).
     */
    @Test
    @Timeout(300)
    void sourceThatStaysDownIsRecordedAsTheDataStepsFailure() throws Exception {
        try (EmbeddedCluster source = EmbeddedCluster.start("gone-src")) {
            EmbeddedCluster target = Clusters.target();
            String db = "gone_src_" + System.nanoTime();
            source.createDatabase(db);
            target.createDatabase(db);
            CompletableFuture<Cli.Result> run = startMidData(source, target, db, "--retries", "2");
            source.crash();
            Cli.Result r;
            try {
                r = run.get(2, TimeUnit.MINUTES);
                assertEquals(TsMigrate.FAILED, r.exit(), r.all());
                assertTrue(r.err().contains("error: Cannot reach the source"), r.err());
                assertEquals("failed", stepStatus(target, db, "data"), r.all());
                Cli.Result status = Cli.run("status", "--source", source.uri(db), "--target", target.uri(db), "--work-dir", work.toString());
                assertTrue(status.out().matches("(?s).*\\bdata +failed\\b.*") && status.out().contains("Cannot reach the source"),
                        status.all());
            } finally {
                source.restart();
            }
            Cli.Result again = Cli.run(args(source, target, db, work));
            assertEquals(0, again.exit(), again.all());
            assertSameRows(source, target, db);
        }
    }

    /**
     * The target crashes in the large-objects step (after the tables' rows) and is back 3 s later: the step is
     * retried like a chunk, and copies what the lost transaction had not committed.
     */
    @Test
    @Timeout(300)
    void targetDownForSecondsInTheLargeObjectsStepIsRetried() throws Exception {
        try (EmbeddedCluster target = EmbeddedCluster.start("down-lo")) {
            EmbeddedCluster source = Clusters.source();
            String db = "down_lo_" + System.nanoTime();
            source.createDatabase(db);
            target.createDatabase(db);
            Clusters.runSql(source, db, """
                    CREATE TABLE doc (id int PRIMARY KEY, body oid);
                    INSERT INTO doc SELECT i, lo_from_bytea(0, convert_to(repeat(md5(i::text), 30), 'UTF8')) FROM generate_series(1, 300) i;
                    """);
            Cli.Result schema = Cli.run(args(source, target, db, work, "--steps", "preflight,pre-data"));
            assertEquals(0, schema.exit(), schema.all());
            // each large object recorded on the target takes 20 ms: the step lasts ~6 s
            Clusters.runSql(target, db, """
                    CREATE SCHEMA test_hooks;
                    CREATE FUNCTION test_hooks.slow() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN PERFORM pg_sleep(0.02); RETURN NULL; END $$;
                    CREATE TRIGGER slow AFTER INSERT ON tsmigrate.large_object FOR EACH ROW EXECUTE FUNCTION test_hooks.slow();
                    """);
            CompletableFuture<Cli.Result> run = CompletableFuture.supplyAsync(() -> Cli.run(args(source, target, db, work)));
            awaitWhileRunning(run, () -> "running".equals(stepStatus(target, db, "large-objects")), "its large-objects step started");
            Thread.sleep(1000);
            target.crash();
            Thread.sleep(3000);
            target.restart();
            Cli.Result r = run.get(4, TimeUnit.MINUTES);
            assertEquals(0, r.exit(), r.all());
            assertTrue(r.err().contains("retrying"), "the fault was retried:\n" + r.err());
            String contents = "SELECT string_agg(d.id || ':' || md5(lo_get(d.body)), ',' ORDER BY d.id) FROM doc d";
            try (Connection s = source.connect(db); Connection t = target.connect(db)) {
                assertEquals(Pg.queryString(s, contents), Pg.queryString(t, contents));
            }
        }
    }

    private static String stepStatus(EmbeddedCluster target, String db, String step) {
        try (Connection c = target.connect(db)) {
            return Pg.queryString(c, "SELECT status FROM tsmigrate.step WHERE step = " + Pg.literal(step));
        } catch (Exception e) {
            return null;
        }
    }
}
