package tsmigrate.timescale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import tsmigrate.db.Pg;
import tsmigrate.it.Cli;
import tsmigrate.it.Clusters;
import tsmigrate.it.DbCompare;
import tsmigrate.it.PgliteFront;

/**
 * The migrate command end to end on a real TimescaleDB engine (TimescaleDB 2.23 in PGlite, see
 * src/test/node/pglite-front): a TimescaleDB source with every object the issue lists, and a plain
 * PostgreSQL 15 source whose table becomes a hypertable.
 */
class TimescaleMigrationTest {
    @TempDir
    Path work;

    @Test
    void timescaleSourceToTimescaleTarget() throws Exception {
        assumeTrue(PgliteFront.available(), "needs node and the pglite front");
        try (PgliteFront source = PgliteFront.start(); PgliteFront target = PgliteFront.start()) {
            try (Connection s = source.connect(); Connection t = target.connect()) {
                TsFixture.run(s, TsFixture.TABLES);
                TsFixture.run(s, TsFixture.TIMESCALE);
                // What pre-data would leave (pg_dump 15 cannot dump PostgreSQL 17), plus the index the reorder
                // policy names, which post-data would create before the policies step.
                TsFixture.run(t, TsFixture.TABLES + "CREATE INDEX ticks_sym_ts ON ticks (sym, ts);\n");
            }
            // PGlite has one backend for all connections: a snapshot held open would block the workers.
            Cli.Result r = Cli.run("migrate", "--source", source.uri(), "--target", target.uri(), "--work-dir", work.toString(),
                    "--steps", "hypertables,data,caggs,policies,analyze,verify", "--no-snapshot", "--workers", "2");
            assertEquals(0, r.exit(), r.all());
            assertTrue(r.out().contains("hypertables") && r.out().contains("policies"), r.out());
            try (Connection s = source.connect(); Connection t = target.connect()) {
                Map<String, List<List<String>>> src = TsFixture.catalog(s);
                Map<String, List<List<String>>> tgt = TsFixture.catalog(t);
                for (String view : src.keySet()) assertEquals(src.get(view), tgt.get(view), view);
                assertEquals(TsFixture.data(s), TsFixture.data(t));
                assertTrue(src.get("jobs").size() >= 8, "all four kinds of policy and a custom job: " + src.get("jobs"));
                assertEquals("0", Pg.queryString(t, "SELECT count(*) FROM tsmigrate.chunk WHERE state <> 'verified'"));
            }
        }
    }

    @Test
    void plainPostgresSourceWithHypertablesSection() throws Exception {
        assumeTrue(PgliteFront.available(), "needs node and the pglite front");
        String db = Clusters.newPair("tsplain")[0];
        Clusters.runSql(Clusters.source(), db, """
                CREATE TABLE metrics (time timestamptz NOT NULL, device int NOT NULL, v double precision, note text);
                INSERT INTO metrics SELECT timestamptz '2025-03-01' + i * interval '1 minute', i % 7, i / 3.0, 'n' || i
                FROM generate_series(1, 20000) i;
                CREATE INDEX metrics_time_idx ON metrics (time);
                CREATE INDEX metrics_device_time ON metrics (device, time DESC);
                CREATE TABLE devices (id int PRIMARY KEY, name text);
                INSERT INTO devices SELECT i, 'd' || i FROM generate_series(0, 6) i;
                """);
        try (PgliteFront target = PgliteFront.start()) {
            Path job = work.resolve("job.yaml");
            java.nio.file.Files.writeString(job, "source: " + Clusters.source().uri(db) + "\ntarget: " + target.uri()
                    + "\nworkDir: wd\nworkers: 2\nhypertables:\n  public.metrics:\n    timeColumn: time\n    chunkInterval: 6 hours\n");
            Cli.Result r = Cli.run("migrate", "--job", job.toString());
            assertEquals(0, r.exit(), r.all());
            try (Connection s = Clusters.source().connect(db); Connection t = target.connect()) {
                assertEquals(DbCompare.rowsAsText(s, "\"public\".\"metrics\""), DbCompare.rowsAsText(t, "\"public\".\"metrics\""));
                assertEquals(DbCompare.rowsAsText(s, "\"public\".\"devices\""), DbCompare.rowsAsText(t, "\"public\".\"devices\""));
                assertEquals("06:00:00", Pg.queryString(t, "SELECT time_interval::text FROM timescaledb_information.dimensions"
                        + " WHERE hypertable_name = 'metrics'"));
                assertTrue(Long.parseLong(Pg.queryString(t, "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'metrics'")) > 50,
                        "14 days in 6-hour chunks");
                assertEquals("metrics_device_time,metrics_time_idx", Pg.queryString(t, "SELECT string_agg(indexname, ',' ORDER BY indexname)"
                        + " FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'metrics'"), "the post-data indexes are there");
                assertEquals("devices_pkey", Pg.queryString(t, "SELECT string_agg(indexname, ',') FROM pg_indexes WHERE tablename = 'devices'"));
            }
        }
    }
}
