package tsmigrate.timescale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;

import tsmigrate.it.Cli;
import tsmigrate.it.Clusters;
import tsmigrate.it.DbCompare;
import tsmigrate.it.PgliteFront;

/**
 * Whole migrations through the command line onto the real TimescaleDB engine (PGlite + TimescaleDB 2.23):
 * <ul>
 * <li>TimescaleDB source to TimescaleDB target with {@code --steps hypertables,data,caggs,policies,analyze}: the target
 * starts with the plain tables only (pg_dump 15 cannot dump the engine's PostgreSQL 17, so no pre-data);</li>
 * <li>a plain PostgreSQL 15 source with a job file's hypertables: section, every step: pre-data, the hypertable, data,
 * post-data (with the hypertable's primary key, unique and check constraints, and a foreign key to it), verify.</li>
 * </ul>
 */
@EnabledIf(value = "tsmigrate.it.PgliteFront#available", disabledReason = "node >= 20 is not installed")
class TimescaleMigrationTest {
    @TempDir
    Path work;

    @Test
    void timescaleToTimescaleWithTheTimescaleSteps() throws Exception {
        List<PgliteFront> two = PgliteFront.start(2);
        try (PgliteFront source = two.get(0); PgliteFront target = two.get(1)) {
            try (Connection s = source.connect(); Connection t = target.connect()) {
                TsFixture.run(s, TsFixture.TABLES);
                TsFixture.run(s, TsFixture.TIMESCALE);
                TsFixture.run(t, TsFixture.TABLES);
                TsFixture.run(t, "CREATE INDEX ticks_sym_ts ON ticks (sym, ts);"); // post-data's, for the reorder policy
            }
            // --no-snapshot: the engine is one backend, and a transaction held open for the snapshot would block every other connection
            Cli.Result r = Cli.run("migrate", "--source", source.uri(), "--target", target.uri(), "--work-dir", work.toString(),
                    "--workers", "2", "--no-snapshot", "--steps", "hypertables,data,caggs,policies,analyze,verify");
            assertEquals(0, r.exit(), r.all());
            try (Connection s = source.connect(); Connection t = target.connect()) {
                Map<String, List<List<String>>> sc = TsFixture.catalog(s);
                Map<String, List<List<String>>> tc = TsFixture.catalog(t);
                for (String view : sc.keySet()) assertEquals(sc.get(view), tc.get(view), "timescaledb_information." + view + " differs\n" + r.all());
                assertEquals(TsFixture.data(s), TsFixture.data(t));
                assertTrue(sc.get("chunks").stream().anyMatch(row -> row.contains("is_compressed=t")), "compressed chunks compared");
                assertTrue(sc.get("jobs").size() >= 8, "all four kinds of policy and a custom job: " + sc.get("jobs"));
                assertEquals("0", Pg(t, "SELECT count(*) FROM tsmigrate.chunk WHERE state <> 'verified'"), "every chunk verified");
            }
            assertTrue(r.all().contains("hypertables") && r.all().contains("2 hypertables (2 created"), r.all());
        }
    }

    @Test
    void plainPostgresWithAConfiguredHypertable() throws Exception {
        String db = "ts_plain_" + System.nanoTime();
        Clusters.source().createDatabase(db);
        Clusters.runSql(Clusters.source(), db, """
                CREATE TABLE metrics (time timestamptz NOT NULL, device int NOT NULL, v double precision, PRIMARY KEY (device, time));
                CREATE INDEX metrics_v ON metrics (v);
                INSERT INTO metrics SELECT timestamptz '2025-01-01' + i * interval '1 minute', i % 7, i / 3.0 FROM generate_series(1, 5000) i;
                CREATE TABLE devices (id serial PRIMARY KEY, name text UNIQUE);
                INSERT INTO devices (name) SELECT 'd' || i FROM generate_series(1, 7) i;
                ALTER TABLE metrics ADD CONSTRAINT "metrics v, positive" CHECK (v >= 0) NOT VALID;
                ALTER TABLE metrics ADD CONSTRAINT metrics_device_time UNIQUE (time, device);
                COMMENT ON CONSTRAINT metrics_pkey ON metrics IS 'one reading per device and minute';
                CREATE TABLE alerts (device int, time timestamptz, FOREIGN KEY (device, time) REFERENCES metrics (device, time));
                INSERT INTO alerts VALUES (1, timestamptz '2025-01-01' + interval '1 minute');
                """);
        try (PgliteFront target = PgliteFront.start()) {
            Path job = work.resolve("job.yaml");
            java.nio.file.Files.writeString(job, "source: " + Clusters.source().uri(db) + "\ntarget: " + target.uri()
                    + "\nworkDir: wd\nworkers: 2\nhypertables:\n  public.metrics:\n    timeColumn: time\n    chunkInterval: 6 hours\n");
            Cli.Result r = Cli.run("migrate", "--job", job.toString());
            assertEquals(0, r.exit(), r.all());
            try (Connection s = Clusters.source().connect(db); Connection t = target.connect()) {
                for (String table : List.of("public.metrics", "public.devices", "public.alerts")) {
                    assertEquals(DbCompare.rowsAsText(s, table), DbCompare.rowsAsText(t, table), table);
                }
                assertEquals(List.of(List.of("hypertable_name=metrics", "column_name=time", "time_interval=06:00:00")),
                        TsFixture.rows(t, "SELECT hypertable_name, column_name, time_interval FROM timescaledb_information.dimensions"));
                assertEquals("14", Pg(t, "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'metrics'"),
                        "5000 minutes in chunks of 6 hours");
                // pg_dump writes them as ALTER TABLE ONLY, which TimescaleDB refuses on a hypertable: added without ONLY
                String constraints = "SELECT x FROM (SELECT conrelid::regclass || ' ' || conname || ' ' || contype::text || ' '"
                        + " || coalesce(obj_description(oid, 'pg_constraint'), '-') AS x FROM pg_constraint"
                        + " WHERE conrelid IN ('metrics'::regclass, 'alerts'::regclass) AND contype <> 'n' AND conparentid = 0) c ORDER BY x COLLATE \"C\"";
                assertEquals(names(s, constraints), names(t, constraints));
                assertEquals(4, names(t, constraints).size());
                assertEquals(List.of("alerts_device_time_fkey", "metrics v, positive", "metrics_device_time", "metrics_pkey"),
                        names(t, "SELECT conname FROM pg_constraint WHERE conrelid IN ('metrics'::regclass, 'alerts'::regclass) AND contype <> 'n'"
                                + " AND conparentid = 0 ORDER BY conname COLLATE \"C\""));
                assertEquals("2", Pg(t, "SELECT count(*) FROM pg_indexes WHERE schemaname = '_timescaledb_internal'"
                        + " AND indexdef LIKE 'CREATE UNIQUE INDEX%' AND tablename = (SELECT chunk_name FROM timescaledb_information.chunks"
                        + " WHERE hypertable_name = 'metrics' ORDER BY range_start LIMIT 1)"), "the keys are on the chunks too");
                assertEquals(List.of("metrics_device_time", "metrics_pkey", "metrics_time_idx", "metrics_v"), names(t,
                        "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'metrics' ORDER BY 1"),
                        "post-data's indexes, and create_hypertable's default one");
                assertEquals(List.of("devices_name_key", "devices_pkey"), names(t,
                        "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'devices' ORDER BY 1"));
            }
        }
    }

    private static String Pg(Connection c, String sql) throws Exception {
        return tsmigrate.db.Pg.queryString(c, sql);
    }

    private static List<String> names(Connection c, String sql) throws Exception {
        return TsFixture.rows(c, sql).stream().map(row -> row.get(0).substring(row.get(0).indexOf('=') + 1)).toList();
    }
}
