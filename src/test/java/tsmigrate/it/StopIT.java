package tsmigrate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import tsmigrate.db.Pg;

/**
 * SIGTERM outside the data step, to the packaged jar. An index build that takes many seconds is stopped at once
 * (pg_restore is told to stop, and cancels it), and the run exits 4, resumable. A stop that comes in the last step
 * asked for, once that step has finished, leaves nothing undone: the run exits 0.
 */
class StopIT {
    @TempDir
    Path work;

    /** An expression index on a function that sleeps 10 ms a row: 2,000 rows make its build and its ANALYZE take ~20 s. */
    private static final String SLOW = """
            CREATE TABLE m (time timestamptz NOT NULL, v int);
            INSERT INTO m SELECT timestamptz '2025-01-01' + i * interval '1 minute', i FROM generate_series(1, 2000) i;
            CREATE INDEX ON m (time);
            CREATE FUNCTION slow_id(v int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
            BEGIN PERFORM pg_sleep(0.01); RETURN v; END $$;
            CREATE INDEX slow_idx ON m (slow_id(v));
            """;

    private Process start(String[] dbs, Path log, String... more) throws Exception {
        return start(List.of(), dbs, log, more);
    }

    private Process start(List<String> prefix, String[] dbs, Path log, String... more) throws Exception {
        String jar = System.getProperty("tsmigrate.jar", "target/tsmigrate.jar");
        List<String> c = new ArrayList<>(prefix);
        c.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", jar,
                "migrate", "--source", Clusters.source().uri(dbs[0]), "--target", Clusters.target().uri(dbs[1]),
                "--work-dir", work.resolve("wd").toString(), "--chunk-interval", "1 day"));
        c.addAll(List.of(more));
        return new ProcessBuilder(c).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    }

    private static void awaitLine(Process p, Path log, String line) throws Exception {
        long deadline = System.currentTimeMillis() + 120_000;
        while (!(Files.exists(log) && Files.readString(log).contains(line))) {
            assertTrue(p.isAlive() && System.currentTimeMillis() < deadline, "never saw '" + line + "':\n" + Files.readString(log));
            Thread.sleep(20);
        }
    }

    @Test
    void sigtermDuringTheIndexBuildsStopsThemAndTheRunResumes() throws Exception {
        String[] dbs = Clusters.newPair("stop_post");
        Clusters.runSql(Clusters.source(), dbs[0], SLOW);
        Path log = work.resolve("post.log");
        Process run = start(dbs, log);
        awaitLine(run, log, "step post-data: started");
        Thread.sleep(1000);
        long t0 = System.currentTimeMillis();
        run.destroy(); // SIGTERM
        assertTrue(run.waitFor(2, TimeUnit.MINUTES));
        long took = System.currentTimeMillis() - t0;
        String out = Files.readString(log);
        assertEquals(4, run.exitValue(), out);
        assertTrue(took < 12_000, "stopped " + took + " ms after SIGTERM; the index build alone takes ~20 s:\n" + out);
        assertTrue(out.contains("Run the same command again to resume"), out);
        try (Connection t = Clusters.target().connect(dbs[1])) {
            assertEquals(null, Pg.queryString(t, "SELECT to_regclass('public.slow_idx')"), "the index build was cancelled");
            assertEquals("0", Pg.queryString(t, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    + " AND pid <> pg_backend_pid() AND query ILIKE '%slow_idx%'"), "no build left running on the target");
        }
        Path again = work.resolve("again.log");
        Process resume = start(dbs, again);
        assertTrue(resume.waitFor(3, TimeUnit.MINUTES));
        assertEquals(0, resume.exitValue(), Files.readString(again));
        try (Connection s = Clusters.source().connect(dbs[0]); Connection t = Clusters.target().connect(dbs[1])) {
            assertEquals(DbCompare.allRows(s), DbCompare.allRows(t));
            assertEquals("slow_idx", Pg.queryString(t, "SELECT to_regclass('public.slow_idx')::text"), "built on resume");
        }
    }

    @Test
    void aStopInTheLastStepLeavesNothingUndoneAndExitsZero() throws Exception {
        String[] dbs = Clusters.newPair("stop_last");
        Clusters.runSql(Clusters.source(), dbs[0], SLOW.replace("2000", "800").replace("CREATE INDEX slow_idx ON m (slow_id(v));", ""));
        Path log = work.resolve("last.log");
        Process copy = start(dbs, log, "--steps", "preflight,pre-data,data");
        assertTrue(copy.waitFor(2, TimeUnit.MINUTES));
        assertEquals(0, copy.exitValue(), Files.readString(log));
        // On the target only, once the rows are in: ANALYZE, the last step asked for next, then takes ~8 s.
        Clusters.runSql(Clusters.target(), dbs[1], "CREATE INDEX slow_idx ON m (slow_id(v))");
        Process run = start(dbs, log, "--steps", "preflight,analyze");
        awaitLine(run, log, "step analyze: started");
        Thread.sleep(500);
        run.destroy(); // SIGTERM
        assertTrue(run.waitFor(2, TimeUnit.MINUTES));
        String out = Files.readString(log);
        assertEquals(0, run.exitValue(), out);
        assertTrue(out.contains("stop requested, but every step had already finished"), out);
        try (Connection t = Clusters.target().connect(dbs[1])) {
            assertEquals("t", Pg.queryString(t, "SELECT count(*) > 0 FROM pg_stats WHERE schemaname = 'public' AND tablename = 'm'"),
                    "the table was analyzed");
        }
    }

    /**
     * Ctrl-C at a terminal sends SIGINT to the whole foreground group: pg_restore gets it too, and may exit with an
     * error before the JVM has marked the run as stopping. That is still a stop, not a failed step.
     */
    @Test
    void ctrlCDuringTheIndexBuildsIsAStopNotAFailure() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/setsid")), "needs setsid (util-linux)");
        String[] dbs = Clusters.newPair("stop_ctrlc");
        Clusters.runSql(Clusters.source(), dbs[0], SLOW);
        Path log = work.resolve("ctrlc.log");
        Process run = start(List.of("setsid"), dbs, log); // a process group of its own, whose leader is the JVM
        awaitLine(run, log, "step post-data: started");
        Thread.sleep(1000);
        long t0 = System.currentTimeMillis();
        Process kill = new ProcessBuilder("kill", "-INT", "--", "-" + run.pid()).inheritIO().start();
        assertEquals(0, kill.waitFor());
        assertTrue(run.waitFor(2, TimeUnit.MINUTES));
        long took = System.currentTimeMillis() - t0;
        String out = Files.readString(log);
        assertEquals(4, run.exitValue(), out);
        assertTrue(took < 12_000, "stopped " + took + " ms after Ctrl-C:\n" + out);
        assertTrue(!out.contains("failed"), out);
    }

    /** SIGTERM to a run, which must then end with exit 4 within 10 s and name the step it stopped in. */
    private void stopsAtOnce(Process run, Path log, String step) throws Exception {
        awaitLine(run, log, "step " + step + ": started");
        Thread.sleep(1500);
        long t0 = System.currentTimeMillis();
        run.destroy(); // SIGTERM
        boolean ended = run.waitFor(20, TimeUnit.SECONDS);
        long took = System.currentTimeMillis() - t0;
        if (!ended) run.destroyForcibly().waitFor();
        String out = Files.readString(log);
        assertTrue(ended && took < 10_000, "still running " + took + " ms after SIGTERM:\n" + out);
        assertEquals(4, run.exitValue(), out);
        assertTrue(out.contains("step " + step + ": stopped on request"), out);
    }

    /** After a stop, the same migration runs to its end with every row. */
    private void resumes(String[] dbs, String name) throws Exception {
        Path again = work.resolve(name + "-again.log");
        Process resume = start(dbs, again);
        assertTrue(resume.waitFor(3, TimeUnit.MINUTES));
        assertEquals(0, resume.exitValue(), Files.readString(again));
        try (Connection s = Clusters.source().connect(dbs[0]); Connection t = Clusters.target().connect(dbs[1])) {
            assertEquals(DbCompare.allRows(s), DbCompare.allRows(t));
        }
    }

    private static String[] pairWithRows(String prefix) throws Exception {
        String[] dbs = Clusters.newPair(prefix);
        Clusters.runSql(Clusters.source(), dbs[0], "CREATE TABLE m (time timestamptz NOT NULL, v int); CREATE INDEX ON m (time);"
                + " INSERT INTO m SELECT timestamptz '2025-01-01' + i * interval '1 minute', i FROM generate_series(1, 2000) i");
        return dbs;
    }

    /**
     * Preflight reads the source's tables (their sizes), which waits behind a lock that a session holds on one, for as
     * long as it holds it: SIGTERM cancels that read, and the run exits 4 at once.
     */
    @Test
    void sigtermWhilePreflightWaitsForALockStopsAtOnce() throws Exception {
        String[] dbs = pairWithRows("stop_pre");
        Path log = work.resolve("preflight.log");
        try (Connection lock = Clusters.source().connect(dbs[0])) {
            lock.setAutoCommit(false);
            Pg.exec(lock, "LOCK TABLE m IN ACCESS EXCLUSIVE MODE");
            stopsAtOnce(start(dbs, log), log, "preflight");
        }
        resumes(dbs, "preflight");
    }

    /** A dry run stopped while its read waits behind a lock leaves no session of its waiting (QA: one stayed until the lock went). */
    @Test
    void sigtermWhileTheDryRunWaitsForALockLeavesNoSessionBehind() throws Exception {
        String[] dbs = pairWithRows("stop_dry");
        Path log = work.resolve("dry.log");
        // watched from a session of its own: the server's activity is read once per transaction
        try (Connection lock = Clusters.source().connect(dbs[0]); Connection watch = Clusters.source().connect(dbs[0])) {
            lock.setAutoCommit(false);
            Pg.exec(lock, "LOCK TABLE m IN ACCESS EXCLUSIVE MODE");
            List<String> c = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
                    System.getProperty("tsmigrate.jar", "target/tsmigrate.jar"), "plan", "--source", Clusters.source().uri(dbs[0]),
                    "--target", Clusters.target().uri(dbs[1]), "--work-dir", work.resolve("wd").toString()));
            Process run = new ProcessBuilder(c).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
            String waiting = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tsmigrate' AND wait_event_type = 'Lock'";
            long deadline = System.currentTimeMillis() + 60_000;
            while (!"1".equals(Pg.queryString(watch, waiting))) {
                assertTrue(run.isAlive() && System.currentTimeMillis() < deadline, "never waited:\n" + Files.readString(log));
                Thread.sleep(50);
            }
            run.destroy(); // SIGTERM
            assertTrue(run.waitFor(20, TimeUnit.SECONDS), Files.readString(log));
            Thread.sleep(500);
            assertEquals("0", Pg.queryString(watch, waiting), "a session of the dry run still waits:\n" + Files.readString(log));
        }
    }

    /** The same for preflight's look at the target's tables, behind a lock held on one there (QA: SIGTERM waited for it). */
    @Test
    void sigtermWhilePreflightWaitsForALockOnTheTargetStopsAtOnce() throws Exception {
        String[] dbs = pairWithRows("stop_pretgt");
        Clusters.runSql(Clusters.target(), dbs[1], "CREATE TABLE other (id int)");
        Path log = work.resolve("preflight-target.log");
        try (Connection lock = Clusters.target().connect(dbs[1])) {
            lock.setAutoCommit(false);
            Pg.exec(lock, "LOCK TABLE other IN ACCESS EXCLUSIVE MODE");
            stopsAtOnce(start(dbs, log), log, "preflight");
        }
        Clusters.runSql(Clusters.target(), dbs[1], "DROP TABLE other"); // not the source's: the comparison below is of every table
        resumes(dbs, "preflight-target");
    }

    /**
     * Catch-up reads each table's newest time on the source, which waits behind a lock a session holds on the table:
     * SIGTERM cancels that read too, and the run exits 4 at once; the next catch-up copies the rows.
     */
    @Test
    void sigtermWhileCatchUpWaitsForALockStopsAtOnce() throws Exception {
        String[] dbs = pairWithRows("stop_catchup");
        Path first = work.resolve("catchup-first.log");
        Process migrate = start(dbs, first);
        assertTrue(migrate.waitFor(3, TimeUnit.MINUTES));
        assertEquals(0, migrate.exitValue(), Files.readString(first));
        Clusters.runSql(Clusters.source(), dbs[0], "INSERT INTO m VALUES (timestamptz '2026-01-01', -1)");
        String id = tsmigrate.state.StateStore.migrationId(tsmigrate.config.ConnInfo.parse("source", Clusters.source().uri(dbs[0])),
                tsmigrate.config.ConnInfo.parse("target", Clusters.target().uri(dbs[1])));
        Path log = work.resolve("catchup.log");
        // held until the run waits for it, past preflight (whose reads the table lock would stop first)
        try (Connection other = Clusters.target().connect(dbs[1]); Connection lock = Clusters.source().connect(dbs[0])) {
            Pg.exec(other, "SELECT pg_advisory_lock(hashtext(" + Pg.literal(id + "/catch-up") + "))");
            Process run = start(dbs, log, "--catch-up");
            awaitLine(run, log, "catch-up: another instance holds it; waiting");
            lock.setAutoCommit(false);
            Pg.exec(lock, "LOCK TABLE m IN ACCESS EXCLUSIVE MODE");
            Pg.exec(other, "SELECT pg_advisory_unlock_all()");
            stopsAtOnce(run, log, "catch-up");
        }
        Path again = work.resolve("catchup-again.log");
        Process resume = start(dbs, again, "--catch-up");
        assertTrue(resume.waitFor(3, TimeUnit.MINUTES));
        assertEquals(0, resume.exitValue(), Files.readString(again));
        try (Connection s = Clusters.source().connect(dbs[0]); Connection t = Clusters.target().connect(dbs[1])) {
            assertEquals(DbCompare.allRows(s), DbCompare.allRows(t));
        }
    }

    /**
     * Another instance of the migration is planning (it holds the plan step's lock): this one waits for it, but a
     * SIGTERM meanwhile ends the wait, and the run exits 4 at once.
     */
    @Test
    void sigtermWhileWaitingForAnotherInstancesPlanStopsAtOnce() throws Exception {
        String[] dbs = pairWithRows("stop_plan");
        Path log = work.resolve("plan.log");
        String id = tsmigrate.state.StateStore.migrationId(tsmigrate.config.ConnInfo.parse("source", Clusters.source().uri(dbs[0])),
                tsmigrate.config.ConnInfo.parse("target", Clusters.target().uri(dbs[1])));
        try (Connection other = Clusters.target().connect(dbs[1])) {
            Pg.exec(other, "SELECT pg_advisory_lock(hashtext(" + Pg.literal(id + "/plan") + "))");
            stopsAtOnce(start(dbs, log), log, "plan");
            assertTrue(Files.readString(log).contains("step plan: another instance is running it; waiting for it to end"));
        }
        resumes(dbs, "plan");
    }
}
