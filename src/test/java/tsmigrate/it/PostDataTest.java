package tsmigrate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import tsmigrate.schema.PgTool;

/**
 * post-data's pg_restore gets the job count and the sort memory it should: read from what the real pg_restore
 * was started with, through a wrapper that notes its environment and arguments, then runs it.
 */
class PostDataTest {
    @TempDir
    Path work;

    /** Runs tsmigrate with pg_dump and pg_restore wrapped; returns the source and target databases. */
    private String[] migrate(String prefix, String tables, String... extra) throws Exception {
        String[] dbs = Clusters.newPair(prefix);
        Clusters.runSql(Clusters.source(), dbs[0], tables);
        run(dbs, extra);
        return dbs;
    }

    private Cli.Result lastRun;

    private void run(String[] dbs, String... extra) throws Exception {
        List<String> args = new java.util.ArrayList<>(List.of("migrate", "--source", Clusters.source().uri(dbs[0]),
                "--target", Clusters.target().uri(dbs[1]), "--work-dir", work.resolve("w").toString(),
                "--pg-dump", wrapper("pg_dump", "*--section*").toString(), "--pg-restore", wrapper("pg_restore", "*--no-owner*").toString()));
        args.addAll(List.of(extra));
        Cli.Result r = Cli.run(args.toArray(String[]::new));
        assertEquals(0, r.exit(), r.all());
        lastRun = r;
    }

    /** A script that notes "PGOPTIONS|args" of the tool's runs whose args match the pattern in TOOL.txt, then runs the real tool. */
    private Path wrapper(String tool, String pattern) throws Exception {
        Path calls = work.resolve(tool + ".txt");
        Path wrapper = work.resolve(tool);
        Files.writeString(wrapper, "#!/bin/sh\ncase \"$*\" in " + pattern + ") echo \"$PGOPTIONS|$*\" >> '" + calls + "' ;; esac\n"
                + "exec '" + PgTool.locate(tool, tool).path() + "' \"$@\"\n");
        wrapper.toFile().setExecutable(true);
        return wrapper;
    }

    private List<String> calls(String tool) throws Exception {
        Path f = work.resolve(tool + ".txt");
        return Files.exists(f) ? Files.readAllLines(f) : List.of();
    }

    /** The restore runs (not --version or --list): one line each, "PGOPTIONS|args". */
    private List<String> restores(String prefix, String tables, String... extra) throws Exception {
        String[] dbs = migrate(prefix, tables, extra);
        assertEquals(indexes(Clusters.source(), dbs[0]), indexes(Clusters.target(), dbs[1]), "every index of the source is on the target");
        return calls("pg_restore");
    }

    /**
     * A post-data cut short (a kill or a stop while pg_restore ran) is redone with --clean --if-exists. A partitioned
     * table's key made that fail for good: the clean cannot drop a partition's inherited key ("cannot drop inherited
     * constraint"), every resume failed, and --restart was refused for the rows (QA).
     */
    @Test
    void aRedoneCutShortPostDataWithAPartitionedKeyFinishes() throws Exception {
        String[] dbs = migrate("pd_redo", """
                CREATE TABLE events (id int, ts timestamptz NOT NULL, PRIMARY KEY (id, ts)) PARTITION BY RANGE (ts);
                CREATE TABLE events_1 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
                CREATE TABLE events_2 PARTITION OF events FOR VALUES FROM ('2024-02-01') TO ('2024-03-01');
                CREATE INDEX events_ts ON events (ts);
                CREATE TABLE plain (id int PRIMARY KEY, e_id int, e_ts timestamptz, FOREIGN KEY (e_id, e_ts) REFERENCES events);
                INSERT INTO events SELECT i, timestamptz '2024-01-01' + i * interval '1 hour' FROM generate_series(0, 1000) i;
                INSERT INTO plain SELECT i, i, timestamptz '2024-01-01' + i * interval '1 hour' FROM generate_series(0, 10) i;
                """);
        // as a run killed in post-data leaves it
        Clusters.runSql(Clusters.target(), dbs[1], "UPDATE tsmigrate.step SET status = 'running', ended_at = NULL WHERE step = 'post-data'");
        run(dbs);
        assertTrue(lastRun.all().contains("step post-data: done"), lastRun.all());
        assertEquals(indexes(Clusters.source(), dbs[0]), indexes(Clusters.target(), dbs[1]), "every index of the source is on the target");
        String keys = "SELECT string_agg(conrelid::regclass || ' ' || conname || ' ' || contype::text, ', ' ORDER BY conrelid::regclass::text, conname) FROM pg_constraint"
                + " WHERE contype IN ('p', 'f') AND connamespace = 'public'::regnamespace";
        try (java.sql.Connection s = Clusters.source().connect(dbs[0]); java.sql.Connection t = Clusters.target().connect(dbs[1])) {
            assertEquals("0", tsmigrate.db.Pg.queryString(t, "SELECT count(*) FROM pg_index WHERE NOT indisvalid"));
            assertEquals(tsmigrate.db.Pg.queryString(s, keys), tsmigrate.db.Pg.queryString(t, keys), "the keys");
        }
    }

    @Test
    void aLoneIndexIsBuiltByOneJobWithTheWholeBudget() throws Exception {
        List<String> calls = restores("pd_one", "CREATE TABLE m (t timestamptz NOT NULL, v int);"
                + " INSERT INTO m SELECT '2024-01-01'::timestamptz + i * interval '1 min', i FROM generate_series(1, 500) i;"
                + " CREATE INDEX m_t ON m (t)", "--workers", "4");
        assertEquals(2, calls.size(), "pre-data and post-data: " + calls);
        String post = calls.get(1);
        assertTrue(post.startsWith("-c maintenance_work_mem=1048576kB|"), "the default 1GB budget, all of it: " + post);
        assertFalse(post.contains("--jobs"), post);
        assertFalse(calls.get(0).contains("maintenance_work_mem"), "pre-data builds nothing: " + calls.get(0));
    }

    @Test
    void manyBuildsShareTheBudgetAcrossTheJobs() throws Exception {
        List<String> calls = restores("pd_many", "CREATE TABLE m (id int PRIMARY KEY, t timestamptz NOT NULL, v int, w int);"
                + " INSERT INTO m SELECT i, '2024-01-01'::timestamptz + i * interval '1 min', i, i FROM generate_series(1, 500) i;"
                + " CREATE INDEX m_t ON m (t); CREATE INDEX m_v ON m (v); CREATE INDEX m_w ON m (w)",
                "--workers", "2", "--job", jobFile("maintenanceWorkMem: 300MB\n").toString());
        String post = calls.get(1);
        assertTrue(post.startsWith("-c maintenance_work_mem=153600kB|"), "300MB over 2 jobs: " + post);
        assertTrue(post.contains("--jobs=2"), "4 builds, --workers 2: " + post);
    }

    @Test
    void oneDumpServesBothSchemaSteps() throws Exception {
        String table = "CREATE TABLE \"Sales Ops\" (id int PRIMARY KEY, t timestamptz NOT NULL);"
                + " INSERT INTO \"Sales Ops\" SELECT i, '2024-01-01'::timestamptz + i * interval '1 h' FROM generate_series(1, 100) i;"
                + " CREATE INDEX so_t ON \"Sales Ops\" (t)";
        String[] dbs = migrate("pd_dump", table);
        List<String> dumps = calls("pg_dump");
        assertEquals(1, dumps.size(), "one pg_dump: " + dumps);
        assertTrue(dumps.get(0).contains("--section=pre-data --section=post-data"), dumps.get(0));
        List<String> restores = calls("pg_restore");
        assertTrue(restores.get(0).contains("--section=pre-data") && restores.get(1).contains("--section=post-data"), restores.toString());
        assertEquals(indexes(Clusters.source(), dbs[0]), indexes(Clusters.target(), dbs[1]));
    }

    @Test
    void postDataInAnotherRunDumpsItsOwnSection() throws Exception {
        // The dump is only reused inside the run that made it: a later run might find a file of an earlier
        // migration between the same databases in the work dir.
        String[] dbs = Clusters.newPair("pd_later");
        Clusters.runSql(Clusters.source(), dbs[0], "CREATE TABLE m (t timestamptz NOT NULL, v int);"
                + " INSERT INTO m SELECT '2024-01-01'::timestamptz + i * interval '1 h', i FROM generate_series(1, 100) i;"
                + " CREATE INDEX m_v ON m (v)");
        run(dbs, "--steps", "preflight,pre-data,data");
        Clusters.runSql(Clusters.source(), dbs[0], "CREATE INDEX m_t ON m (t)"); // after the first run's dump
        run(dbs, "--steps", "post-data");
        List<String> dumps = calls("pg_dump");
        assertEquals(2, dumps.size(), dumps.toString());
        assertTrue(dumps.get(1).contains("--section=post-data") && !dumps.get(1).contains("pre-data"), dumps.get(1));
        assertEquals(indexes(Clusters.source(), dbs[0]), indexes(Clusters.target(), dbs[1]), "the second run's own dump, with m_t");
    }

    /**
     * Index builds and ANALYZE run inside the server, out of the JVM's sight: their progress is read from
     * pg_stat_progress_create_index and pg_stat_progress_analyze. An index on a slow function makes both take
     * a few seconds (ANALYZE computes the expression's statistics over its sample: here every row).
     */
    @Test
    void indexBuildsAndAnalyzeShowTheServersProgress() throws Exception {
        migrate("pd_progress", """
                CREATE FUNCTION slow_id(v int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
                BEGIN PERFORM pg_catalog.pg_sleep(0.1); RETURN v; END $$;
                CREATE TABLE "Slow Table" (t timestamptz NOT NULL, v int);
                INSERT INTO "Slow Table" SELECT '2024-01-01'::timestamptz + i * interval '1 min', i FROM generate_series(1, 25) i;
                CREATE INDEX slow_idx ON "Slow Table" (slow_id(v));
                """, "--progress-interval", "1");
        String err = lastRun.err();
        List<String> post = err.lines().filter(l -> l.contains("post-data: CREATE INDEX slow_idx")).toList();
        assertFalse(post.isEmpty(), "a progress line for the build while it ran:\n" + err);
        assertTrue(post.get(post.size() - 1).contains("(on public.\"Slow Table\")") && post.get(0).contains("into the step"), post.toString());
        List<String> analyze = err.lines().filter(l -> l.contains("analyze: ANALYZE public.\"Slow Table\"")).toList();
        assertFalse(analyze.isEmpty(), "a progress line for ANALYZE while it ran:\n" + err);
    }

    private static List<String> indexes(tsmigrate.embedded.EmbeddedCluster c, String db) throws Exception {
        List<String> out = new java.util.ArrayList<>();
        try (var con = c.connect(db); var st = con.createStatement();
             var rs = st.executeQuery("SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname")) {
            while (rs.next()) out.add(rs.getString(1));
        }
        return out;
    }

    private Path jobFile(String yaml) throws Exception {
        Path f = work.resolve("job.yaml");
        Files.writeString(f, yaml);
        return f;
    }
}
