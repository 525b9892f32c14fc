package tsmigrate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import tsmigrate.db.Pg;

/**
 * The packaged jar, killed and restarted: SIGKILL at random moments across the steps, SIGTERM mid-copy, and
 * several instances sharing one migration. Each ends with every row exactly once and verify passing.
 */
class KillAndResumeIT {
    @TempDir
    Path work;

    static final String DATA = """
            CREATE TABLE m (time timestamptz NOT NULL, device int, v double precision, note text);
            INSERT INTO m SELECT timestamptz '2025-01-01' + i * interval '10 seconds', i % 10, i / 7.0, repeat('y', 30)
            FROM generate_series(1, ROWS) i;
            CREATE INDEX ON m (time);
            CREATE TABLE k (id bigserial PRIMARY KEY, payload jsonb);
            INSERT INTO k (payload) SELECT jsonb_build_object('i', i) FROM generate_series(1, 30000) i;
            CREATE TABLE dims (name text PRIMARY KEY);
            INSERT INTO dims VALUES ('a'), ('b');
            ALTER TABLE m ADD CONSTRAINT m_dims_fk FOREIGN KEY (note) REFERENCES dims (name) NOT VALID;
            CREATE MATERIALIZED VIEW hourly AS SELECT date_trunc('hour', time) h, count(*) FROM m GROUP BY 1;
            """;

    private List<String> cmd(String[] dbs, String... more) {
        String jar = System.getProperty("tsmigrate.jar", "target/tsmigrate.jar");
        List<String> c = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", jar));
        c.addAll(List.of(more));
        c.addAll(List.of("--source", Clusters.source().uri(dbs[0]), "--target", Clusters.target().uri(dbs[1]),
                "--chunk-interval", "2 hours", "--progress-interval", "2", "--lease", "10"));
        return c;
    }

    private Process start(List<String> cmd, Path log) throws Exception {
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    }

    private static void assertMigrated(String[] dbs) throws Exception {
        try (Connection s = Clusters.source().connect(dbs[0]); Connection t = Clusters.target().connect(dbs[1])) {
            assertEquals(DbCompare.allRows(s), DbCompare.allRows(t));
            assertEquals(DbCompare.sequencePositions(s), DbCompare.sequencePositions(t));
            assertEquals("0", Pg.queryString(t, "SELECT count(*) FROM tsmigrate.chunk WHERE state <> 'verified'"));
        }
        String a = DbCompare.schemaDump("pg_dump", Clusters.source().uri(dbs[0]), null);
        String b = DbCompare.schemaDump("pg_dump", Clusters.target().uri(dbs[1]), null);
        assertEquals(a, b);
    }

    /** Waits until the run's log shows the event (or the run ends); true if seen while it still runs. */
    private static boolean awaitEvent(Process p, Path log, String event) throws Exception {
        long deadline = System.currentTimeMillis() + 120_000;
        while (System.currentTimeMillis() < deadline && p.isAlive()) {
            if (Files.exists(log) && Files.readString(log).contains(event)) return true;
            Thread.sleep(10);
        }
        return false;
    }

    @Test
    void sigkillAtTenRandomMomentsThenResume() throws Exception {
        String[] dbs = Clusters.newPair("kill");
        Clusters.runSql(Clusters.source(), dbs[0], DATA.replace("ROWS", "200000"));
        // Each kill lands a random time after a step starts, in step order, several inside the long data step.
        String[] events = {"step preflight: started", "step pre-data: started", "step plan: started", "step data: started",
            "step data: started", "step data: started", "step data: started", "step post-data: started",
            "step sequences: started", "step verify: started"};
        Random random = new Random(7);
        List<String> kills = new ArrayList<>();
        int attempt = 0;
        while (kills.size() < 10 && attempt < 30) {
            String event = attempt < events.length ? events[attempt] : events[random.nextInt(events.length)];
            Path log = work.resolve("run" + (++attempt) + ".log");
            Process run = start(cmd(dbs, "migrate", "--work-dir", work.resolve("wd").toString(), "--workers", "2"), log);
            if (awaitEvent(run, log, event)) {
                long delay = random.nextInt(event.contains("data:") && !event.contains("post") ? 1500 : 300);
                Thread.sleep(delay);
                if (run.isAlive()) {
                    run.destroyForcibly(); // SIGKILL
                    kills.add(event.replace("step ", "").replace(": started", "") + "+" + delay + "ms");
                }
            }
            assertTrue(run.waitFor(5, TimeUnit.MINUTES));
        }
        System.out.println("SIGKILLs: " + kills);
        assertTrue(kills.size() >= 10, "ten real kills: " + kills);
        Path log = work.resolve("final.log");
        Process last = start(cmd(dbs, "migrate", "--work-dir", work.resolve("wd").toString(), "--workers", "2"), log);
        assertTrue(last.waitFor(5, TimeUnit.MINUTES));
        assertEquals(0, last.exitValue(), Files.readString(log));
        assertMigrated(dbs);
        Process verify = start(cmd(dbs, "verify"), work.resolve("verify.log"));
        assertTrue(verify.waitFor(5, TimeUnit.MINUTES));
        assertEquals(0, verify.exitValue(), Files.readString(work.resolve("verify.log")));
    }

    @Test
    void sigtermFinishesChunksInFlightAndExitsResumable() throws Exception {
        String[] dbs = Clusters.newPair("term");
        Clusters.runSql(Clusters.source(), dbs[0], DATA.replace("ROWS", "300000"));
        Path log = work.resolve("term.log");
        Process run = start(cmd(dbs, "migrate", "--work-dir", work.resolve("wd").toString(), "--workers", "2"), log);
        long deadline = System.currentTimeMillis() + 120_000;
        while (System.currentTimeMillis() < deadline && !Files.readString(log).contains("step data: started")) Thread.sleep(50);
        Thread.sleep(300);
        run.destroy(); // SIGTERM
        assertTrue(run.waitFor(2, TimeUnit.MINUTES));
        String out = Files.readString(log);
        assertEquals(4, run.exitValue(), out);
        assertTrue(out.contains("stop requested") && out.contains("Run the same command again to resume"), out);
        try (Connection t = Clusters.target().connect(dbs[1])) {
            assertEquals("0", Pg.queryString(t, "SELECT count(*) FROM tsmigrate.chunk WHERE claimed_by IS NOT NULL"),
                    "every chunk in flight was finished or released");
            assertEquals("pending", Pg.queryString(t, "SELECT CASE WHEN count(*) > 0 THEN 'pending' END FROM tsmigrate.chunk"
                    + " WHERE state = 'planned'"), "it stopped before the end");
            assertEquals("{autovacuum_enabled=off}", Pg.queryString(t, "SELECT reloptions::text FROM pg_class WHERE oid = 'public.m'::regclass"),
                    "autovacuum is paused while the table is loaded (the final schema comparison shows it is reset)");
        }
        Process again = start(cmd(dbs, "migrate", "--work-dir", work.resolve("wd").toString(), "--workers", "2"), log);
        assertTrue(again.waitFor(5, TimeUnit.MINUTES));
        assertEquals(0, again.exitValue(), Files.readString(log));
        assertMigrated(dbs);
    }

    @Test
    void threeInstancesShareOneMigration() throws Exception {
        String[] dbs = Clusters.newPair("multi");
        Clusters.runSql(Clusters.source(), dbs[0], DATA.replace("ROWS", "300000"));
        List<Process> ps = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            // separate work dirs, as on separate machines
            ps.add(start(cmd(dbs, "migrate", "--work-dir", work.resolve("wd" + i).toString(), "--workers", "2"), work.resolve("i" + i + ".log")));
        }
        for (int i = 0; i < 3; i++) {
            assertTrue(ps.get(i).waitFor(5, TimeUnit.MINUTES));
            assertEquals(0, ps.get(i).exitValue(), Files.readString(work.resolve("i" + i + ".log")));
        }
        assertMigrated(dbs);
        try (Connection t = Clusters.target().connect(dbs[1])) {
            long instances = Long.parseLong(Pg.queryString(t, "SELECT count(DISTINCT loaded_by) FROM tsmigrate.chunk"));
            assertTrue(instances >= 2, "the chunks were shared out: " + instances + " instance(s) loaded them");
            assertEquals("0", Pg.queryString(t, "SELECT count(*) FROM tsmigrate.chunk WHERE loaded_by IS NULL"));
            System.out.println(Pg.queryString(t, "SELECT string_agg(loaded_by || ': ' || n, ', ') FROM (SELECT loaded_by, count(*) n"
                    + " FROM tsmigrate.chunk GROUP BY 1) s"));
        }
    }
}
