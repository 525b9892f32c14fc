package tsmigrate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.containers.PostgreSQLContainer;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.utility.DockerImageName;

import tsmigrate.db.Pg;

/**
 * The whole migration, every step, between two real TimescaleDB servers in containers. Skipped where there is
 * no Docker engine (as on the CI machine); the same features are tested on the PGlite engine elsewhere.
 */
@Testcontainers(disabledWithoutDocker = true)
class TimescaleContainersTest {
    static final DockerImageName IMAGE = DockerImageName.parse("timescale/timescaledb:2.17.2-pg15").asCompatibleSubstituteFor("postgres");

    @Container
    static final PostgreSQLContainer<?> SOURCE = new PostgreSQLContainer<>(IMAGE).withPassword("source-pw");
    @Container
    static final PostgreSQLContainer<?> TARGET = new PostgreSQLContainer<>(IMAGE).withPassword("target-pw");

    @TempDir
    Path work;

    private static String uri(PostgreSQLContainer<?> c) {
        return "postgresql://" + c.getUsername() + ":" + c.getPassword() + "@" + c.getHost() + ":" + c.getFirstMappedPort() + "/"
                + c.getDatabaseName();
    }

    @Test
    void hypertablesCaggsAndPoliciesMigrate() throws Exception {
        try (Connection s = DriverManager.getConnection(SOURCE.getJdbcUrl(), SOURCE.getUsername(), SOURCE.getPassword())) {
            Pg.exec(s, """
                    CREATE EXTENSION IF NOT EXISTS timescaledb;
                    CREATE TABLE metrics (time timestamptz NOT NULL, device int NOT NULL, v double precision);
                    SELECT create_hypertable('metrics', 'time', chunk_time_interval => interval '1 day');
                    SELECT add_dimension('metrics', 'device', number_partitions => 4);
                    INSERT INTO metrics SELECT timestamptz '2025-01-01' + i * interval '1 minute', i % 10, i FROM generate_series(1, 20000) i;
                    ALTER TABLE metrics SET (timescaledb.compress, timescaledb.compress_segmentby = 'device');
                    SELECT compress_chunk(c) FROM show_chunks('metrics', older_than => timestamptz '2025-01-05') c;
                    CREATE MATERIALIZED VIEW metrics_hourly WITH (timescaledb.continuous) AS
                        SELECT time_bucket('1 hour', time) AS bucket, device, avg(v) FROM metrics GROUP BY 1, 2;
                    SELECT add_continuous_aggregate_policy('metrics_hourly', start_offset => interval '3 days',
                        end_offset => interval '1 hour', schedule_interval => interval '1 hour');
                    SELECT add_retention_policy('metrics', interval '10 years');
                    SELECT add_compression_policy('metrics', interval '7 days');
                    """);
        }
        try (Connection t = DriverManager.getConnection(TARGET.getJdbcUrl(), TARGET.getUsername(), TARGET.getPassword())) {
            Pg.exec(t, "CREATE EXTENSION IF NOT EXISTS timescaledb");
        }
        Cli.Result r = Cli.run("migrate", "--source", uri(SOURCE), "--target", uri(TARGET), "--work-dir", work.toString());
        assertEquals(0, r.exit(), r.all());
        try (Connection s = DriverManager.getConnection(SOURCE.getJdbcUrl(), SOURCE.getUsername(), SOURCE.getPassword());
             Connection t = DriverManager.getConnection(TARGET.getJdbcUrl(), TARGET.getUsername(), TARGET.getPassword())) {
            assertEquals(DbCompare.rowsAsText(s, "\"public\".\"metrics\""), DbCompare.rowsAsText(t, "\"public\".\"metrics\""));
            for (String q : new String[] {
                "SELECT string_agg(hypertable_name || ':' || num_dimensions || ':' || compression_enabled, ',' ORDER BY 1) FROM timescaledb_information.hypertables",
                "SELECT string_agg(view_name || ':' || materialized_only, ',' ORDER BY 1) FROM timescaledb_information.continuous_aggregates",
                "SELECT string_agg(proc_name || ':' || schedule_interval, ',' ORDER BY 1) FROM timescaledb_information.jobs WHERE job_id >= 1000",
                "SELECT count(*) FROM metrics_hourly"}) {
                assertEquals(Pg.queryString(s, q), Pg.queryString(t, q), q);
            }
        }
    }
}
