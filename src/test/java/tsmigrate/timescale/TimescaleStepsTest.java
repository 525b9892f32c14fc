package tsmigrate.timescale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;

import tsmigrate.db.Pg;
import tsmigrate.it.PgliteFront;
import tsmigrate.run.MigrationRun;

/**
 * TimescaleDB source to TimescaleDB target on two real engines (PGlite + TimescaleDB 2.23): hypertables with time,
 * space and integer time (integer_now_func), compression settings and compressed chunks, a cagg and a cagg on it,
 * all four kinds of policy, a custom job and alter_job settings. The target starts with the plain tables only
 * (pre-data cannot run: pg_dump 15 cannot dump PostgreSQL 17); the test copies the rows itself in place of the data step.
 */
@EnabledIf(value = "tsmigrate.it.PgliteFront#available", disabledReason = "node >= 20 is not installed")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TimescaleStepsTest {
    static PgliteFront source;
    static PgliteFront target;

    @TempDir
    static Path work;

    @BeforeAll
    static void engines() throws Exception {
        List<PgliteFront> two = PgliteFront.start(2);
        source = two.get(0);
        target = two.get(1);
    }

    @AfterAll
    static void stop() {
        if (source != null) source.close();
        if (target != null) target.close();
    }

    @Test
    @Order(1)
    void everyTimescaleObjectArrivesAsOnTheSource() throws Exception {
        try (Connection s = source.connect(); Connection t = target.connect()) {
            TsFixture.run(s, TsFixture.TABLES);
            TsFixture.run(s, TsFixture.TIMESCALE);
            TsFixture.run(t, TsFixture.TABLES);
            // Make the target's own ids differ from the source's: the configs must be mapped, not copied.
            TsFixture.run(t, """
                    CREATE TABLE scratch (t timestamptz NOT NULL);
                    SELECT create_hypertable('scratch', 't');
                    ALTER TABLE scratch SET (timescaledb.compress);
                    SELECT add_job('"Sales Ops"."My Job"', interval '1 hour');
                    SELECT delete_job(job_id) FROM timescaledb_information.jobs WHERE proc_name = 'My Job';
                    DROP TABLE scratch;
                    """);
        }
        MigrationRun run = TsFixture.run(source, target, work);
        TimescaleSteps steps = new TimescaleSteps();

        String h = steps.hypertables(run);
        assertEquals("2 hypertables (2 created, 0 already there), 1 space/extra dimensions, 1 integer_now functions, compression enabled on 2", h);
        try (Connection s = Pg.connect("source", run.cfg.source); Connection t = Pg.connect("target", run.cfg.target)) {
            TsFixture.copyData(s, t, Pg.qualified("Sales Ops", "Orders Log"), "ticks");
        }
        String c = steps.compress(run);
        assertEquals("11 chunks compressed in 2 hypertables", c, "9 (3 days x 3 hash partitions) + 2 integer chunks");
        try (Connection t = target.connect()) {
            // what post-data would bring: the index the reorder policy names
            TsFixture.run(t, "CREATE INDEX ticks_sym_ts ON ticks (sym, ts);");
        }
        String a = steps.caggs(run);
        assertEquals("3 continuous aggregates (3 created, 0 already there), 3 refreshed", a);
        String p = steps.policies(run);
        assertEquals("9 policies, 1 custom jobs (10 added, 0 already there)", p);

        Map<String, List<List<String>>> srcCatalog;
        Map<String, List<List<String>>> srcData;
        try (Connection s = source.connect(); Connection t = target.connect()) {
            srcCatalog = TsFixture.catalog(s);
            srcData = TsFixture.data(s);
            // not comparing empty lists: what the source holds
            assertEquals(List.of(2, 6, 6, 5, 3, 11), List.of(srcCatalog.get("hypertables").size(), srcCatalog.get("dimensions").size(),
                    srcCatalog.get("compression_settings").size(), srcCatalog.get("hypertable_compression_settings").size(),
                    srcCatalog.get("continuous_aggregates").size(), srcCatalog.get("jobs").size()));
            assertTrue(srcCatalog.get("chunks").stream().anyMatch(r -> r.contains("is_compressed=t")));
            assertTrue(srcData.values().stream().allMatch(rows -> rows.size() > 10), "every table and cagg holds rows");
            Map<String, List<List<String>>> tgtCatalog = TsFixture.catalog(t);
            for (String view : srcCatalog.keySet()) {
                assertEquals(srcCatalog.get(view), tgtCatalog.get(view), "timescaledb_information." + view + " differs");
            }
            assertEquals(srcData, TsFixture.data(t));
            assertEquals(10, srcCatalog.get("jobs").size() - 1, "10 jobs besides TimescaleDB's own: " + srcCatalog.get("jobs"));
            // The ids inside the target's configs are the target's own.
            String ids = "SELECT j.proc_name, j.hypertable_name, coalesce(h.table_name, m.table_name) AS by_id"
                    + " FROM timescaledb_information.jobs j"
                    + " LEFT JOIN _timescaledb_catalog.hypertable h ON h.id = (j.config ->> 'hypertable_id')::int"
                    + " LEFT JOIN _timescaledb_catalog.hypertable m ON m.id = (j.config ->> 'mat_hypertable_id')::int"
                    + " LEFT JOIN timescaledb_information.continuous_aggregates ca ON ca.view_name = j.hypertable_name"
                    + " WHERE j.job_id >= 1000 AND j.hypertable_name IS NOT NULL"
                    + " AND coalesce(h.table_name, m.table_name) IS DISTINCT FROM coalesce(ca.materialization_hypertable_name, j.hypertable_name)";
            assertEquals(List.of(), TsFixture.rows(t, ids));
            assertTrue(TsFixture.rows(s, ids).isEmpty());
            String idOf = "SELECT id FROM _timescaledb_catalog.hypertable WHERE table_name = 'ticks'";
            assertFalse(TsFixture.rows(s, idOf).equals(TsFixture.rows(t, idOf)), "the ids differ, so the mapping was exercised");
        }

        // A resumed run calls the steps again: nothing is added twice, nothing changes.
        assertEquals("2 hypertables (0 created, 2 already there), 0 space/extra dimensions, 0 integer_now functions, compression enabled on 0",
                steps.hypertables(run));
        assertEquals("0 chunks compressed in 0 hypertables", steps.compress(run));
        assertEquals("3 continuous aggregates (0 created, 3 already there), 3 refreshed", steps.caggs(run));
        assertEquals("9 policies, 1 custom jobs (0 added, 10 already there)", steps.policies(run));
        try (Connection t = target.connect()) {
            assertEquals(srcCatalog, TsFixture.catalog(t));
            assertEquals(srcData, TsFixture.data(t));
            // the recreated jobs run on the target (no background workers here: run them by hand)
            for (List<String> job : TsFixture.rows(t, "SELECT job_id FROM timescaledb_information.jobs WHERE job_id >= 1000"
                    + " AND proc_name NOT IN ('policy_retention', 'policy_compression') ORDER BY 1")) {
                TsFixture.run(t, "CALL run_job(" + job.get(0).substring("job_id=".length()) + ");");
            }
        }

        try (Connection s = source.connect(); Connection t = target.connect()) {
            assertTrue(TimescaleSteps.preflightWarnings(s, t).isEmpty(), () -> "same versions, same extensions, caggs intact");
            // Raw rows older than 2024-01-02 go: the caggs still hold their buckets, which a migration would lose.
            TsFixture.run(s, "SELECT count(*) FROM drop_chunks('\"Sales Ops\".\"Orders Log\"', older_than => timestamptz '2024-01-02');");
            List<String> w = TimescaleSteps.preflightWarnings(s, t);
            assertEquals(1, w.size(), w.toString());
            assertEquals("continuous aggregate \"Sales Ops\".\"Hourly View\" holds 24 bucket(s) from 2024-01-01 00:00:00+00 to"
                    + " 2024-01-01 23:00:00+00, older than the oldest row of \"Sales Ops\".\"Orders Log\" (2024-01-02 00:00:00+00): the target"
                    + " recomputes it from the rows it gets, so those buckets will be lost", w.get(0));
            assertFalse(w.get(0).contains("daily"));
        }
    }

    /**
     * The job file's hypertables section overrides a source hypertable's chunk interval: the target's chunks do not
     * match the source's, and compression follows the time ranges (a target chunk is compressed when every source
     * chunk it overlaps was).
     */
    @Test
    @Order(2)
    void compressionFollowsTimeRangesWhenTheChunkIntervalDiffers() throws Exception {
        try (Connection s = source.connect(); Connection t = target.connect()) {
            TsFixture.run(s, """
                    CREATE TABLE "Sales Ops".resized (t timestamptz NOT NULL, v int);
                    SELECT create_hypertable('"Sales Ops".resized', 't', chunk_time_interval => interval '1 day');
                    INSERT INTO "Sales Ops".resized SELECT g, 1 FROM generate_series(timestamptz '2024-02-01', timestamptz '2024-02-05 23:00', interval '1 hour') g;
                    ALTER TABLE "Sales Ops".resized SET (timescaledb.compress);
                    SELECT count(*) FROM (SELECT compress_chunk(c) FROM show_chunks('"Sales Ops".resized', older_than => timestamptz '2024-02-03') c) x;
                    """);
            TsFixture.run(t, "CREATE TABLE \"Sales Ops\".resized (t timestamptz NOT NULL, v int);");
        }
        MigrationRun run = TsFixture.run(source, target, work);
        run.cfg.hypertables.put("Sales Ops.resized", new tsmigrate.config.JobConfig.HypertableSpec("t", "12 hours"));
        TimescaleSteps steps = new TimescaleSteps();
        assertEquals("3 hypertables (1 created, 2 already there), 0 space/extra dimensions, 0 integer_now functions, compression enabled on 1",
                steps.hypertables(run));
        try (Connection s = Pg.connect("source", run.cfg.source); Connection t = Pg.connect("target", run.cfg.target)) {
            TsFixture.copyData(s, t, Pg.qualified("Sales Ops", "resized"));
        }
        assertEquals("4 chunks compressed in 1 hypertables", steps.compress(run));
        try (Connection t = target.connect()) {
            assertEquals(List.of(List.of("d=2024-02-01", "z=t", "n=2"), List.of("d=2024-02-02", "z=t", "n=2"), List.of("d=2024-02-03", "z=f", "n=2"),
                    List.of("d=2024-02-04", "z=f", "n=2"), List.of("d=2024-02-05", "z=f", "n=2")),
                    TsFixture.rows(t, "SELECT range_start::date AS d, is_compressed AS z, count(*) AS n FROM timescaledb_information.chunks"
                            + " WHERE hypertable_name = 'resized' GROUP BY 1, 2 ORDER BY 1"));
            assertEquals(List.of(List.of("time_interval=12:00:00")),
                    TsFixture.rows(t, "SELECT time_interval FROM timescaledb_information.dimensions WHERE hypertable_name = 'resized'"));
        }
    }
}
