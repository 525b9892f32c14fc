package tsmigrate.timescale;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;

import tsmigrate.config.ConnInfo;
import tsmigrate.config.JobConfig;
import tsmigrate.it.PgliteFront;
import tsmigrate.run.MigrationRun;

/** The TimescaleDB shapes the tests migrate, and ways to compare two databases' TimescaleDB catalogs. */
final class TsFixture {
    private TsFixture() {
    }

    /** The plain tables (what pre-data leaves on the target) and the functions pre-data brings. */
    static final String TABLES = """
            CREATE SCHEMA "Sales Ops";
            CREATE TABLE "Sales Ops"."Orders Log" ("Time" timestamptz NOT NULL, "Device Id" int NOT NULL, value double precision, "Note, ""quoted""\" text);
            CREATE TABLE ticks (ts bigint NOT NULL, sym text NOT NULL, price numeric);
            CREATE FUNCTION ticks_now() RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT coalesce(max(ts), 0) FROM public.ticks $$;
            CREATE PROCEDURE "Sales Ops"."My Job"(job_id int, config jsonb) LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'job % config %', job_id, config; END $$;
            """;

    /** On the source only: hypertables, data, compression, caggs (one on another), every kind of policy, a custom job. */
    static final String TIMESCALE = """
            SELECT create_hypertable('"Sales Ops"."Orders Log"', 'Time', chunk_time_interval => interval '1 day');
            SELECT add_dimension('"Sales Ops"."Orders Log"', 'Device Id', number_partitions => 3);
            INSERT INTO "Sales Ops"."Orders Log" SELECT t, (extract(epoch FROM t)::int / 3600) % 5, (extract(epoch FROM t)::int % 1000) / 7.0, 'n' || (extract(epoch FROM t)::int % 13) FROM generate_series(timestamptz '2024-01-01', timestamptz '2024-01-10 12:00', interval '1 hour') t;
            ALTER TABLE "Sales Ops"."Orders Log" SET (timescaledb.compress, timescaledb.compress_segmentby = '"Device Id"', timescaledb.compress_orderby = '"Time" DESC, value NULLS FIRST', timescaledb.compress_index = 'bloom("Note, ""quoted""\"), minmax(value)');
            SELECT count(compress_chunk(c)) FROM show_chunks('"Sales Ops"."Orders Log"', older_than => timestamptz '2024-01-04') c;
            SELECT create_hypertable('ticks', 'ts', chunk_time_interval => 1000);
            SELECT set_integer_now_func('ticks', 'ticks_now');
            INSERT INTO ticks SELECT g, 's' || (g % 3), g / 10.0 FROM generate_series(0, 4999, 7) g;
            ALTER TABLE ticks SET (timescaledb.compress, timescaledb.compress_segmentby = 'sym');
            SELECT count(compress_chunk(c)) FROM show_chunks('ticks', older_than => 2000) c;
            CREATE MATERIALIZED VIEW "Sales Ops"."Hourly View" WITH (timescaledb.continuous, timescaledb.materialized_only = true) AS SELECT time_bucket('1 hour', "Time") AS bucket, "Device Id", avg(value) AS avg_value, count(*) AS n FROM "Sales Ops"."Orders Log" GROUP BY 1, 2 WITH NO DATA;
            SELECT set_chunk_time_interval('"Sales Ops"."Hourly View"', interval '5 days');
            CREATE MATERIALIZED VIEW "Sales Ops".daily WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS SELECT time_bucket('1 day', bucket) AS day, "Device Id", sum(n) AS n FROM "Sales Ops"."Hourly View" GROUP BY 1, 2 WITH NO DATA;
            CREATE MATERIALIZED VIEW tick_agg WITH (timescaledb.continuous) AS SELECT time_bucket(100, ts) AS b, sym, max(price) AS hi FROM ticks GROUP BY 1, 2 WITH NO DATA;
            ALTER MATERIALIZED VIEW "Sales Ops".daily SET (timescaledb.compress = true, timescaledb.compress_segmentby = '"Device Id"');
            CALL refresh_continuous_aggregate('"Sales Ops"."Hourly View"', NULL, NULL);
            CALL refresh_continuous_aggregate('"Sales Ops".daily', NULL, NULL);
            CALL refresh_continuous_aggregate('tick_agg', NULL, NULL);
            SELECT add_continuous_aggregate_policy('"Sales Ops"."Hourly View"', start_offset => interval '30 days', end_offset => interval '1 hour', schedule_interval => interval '30 minutes');
            SELECT add_continuous_aggregate_policy('"Sales Ops".daily', start_offset => NULL, end_offset => interval '1 day', schedule_interval => interval '1 hour');
            SELECT add_continuous_aggregate_policy('tick_agg', start_offset => 3000::bigint, end_offset => 100::bigint, schedule_interval => interval '1 hour');
            SELECT add_retention_policy('"Sales Ops"."Orders Log"', drop_after => interval '365 days');
            SELECT add_compression_policy('"Sales Ops".daily', compress_after => interval '30 days');
            SELECT add_retention_policy('tick_agg', drop_after => 100000::bigint);
            SELECT add_compression_policy('"Sales Ops"."Orders Log"', compress_after => interval '7 days');
            SELECT add_compression_policy('ticks', compress_after => 2000::bigint);
            CREATE INDEX ticks_sym_ts ON ticks (sym, ts);
            SELECT add_reorder_policy('ticks', 'ticks_sym_ts');
            SELECT add_job('"Sales Ops"."My Job"', interval '2 hours', config => '{"a": 1, "b": "x y", "nested": {"k": [1, 2]}}');
            SELECT alter_job(job_id, max_runtime => interval '5 minutes', max_retries => 7, retry_period => interval '3 minutes', scheduled => false) FROM timescaledb_information.jobs WHERE proc_name = 'My Job';
            SELECT alter_job(job_id, schedule_interval => interval '2 days', max_retries => 3) FROM timescaledb_information.jobs WHERE proc_name = 'policy_retention';
            SELECT alter_job(job_id, schedule_interval => interval '6 hours', retry_period => interval '10 minutes') FROM timescaledb_information.jobs WHERE proc_name = 'policy_compression' AND hypertable_name = 'ticks';
            """;

    /** Runs a script statement by statement (each line ending in ';' ends one): CALL refresh must not run in a transaction. */
    static void run(Connection c, String script) throws SQLException {
        StringBuilder st = new StringBuilder();
        for (String line : script.split("\n")) {
            if (line.isBlank()) continue;
            st.append(line).append('\n');
            if (line.stripTrailing().endsWith(";")) {
                try (Statement s = c.createStatement()) {
                    s.execute(st.toString());
                } catch (SQLException e) {
                    throw new SQLException(e.getMessage() + "\n  in: " + st, e.getSQLState(), e);
                }
                st.setLength(0);
            }
        }
    }

    static MigrationRun run(PgliteFront source, PgliteFront target, Path workDir) {
        JobConfig cfg = new JobConfig();
        cfg.source = ConnInfo.parse("source", source.uri());
        cfg.target = ConnInfo.parse("target", target.uri());
        cfg.workDir = workDir;
        return new MigrationRun(cfg);
    }

    /** Copies every row of each table (as the data step would, through the hypertable, decompressing). */
    static void copyData(Connection src, Connection tgt, String... tables) throws Exception {
        CopyManager out = src.unwrap(PGConnection.class).getCopyAPI();
        CopyManager in = tgt.unwrap(PGConnection.class).getCopyAPI();
        for (String t : tables) {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            out.copyOut("COPY (SELECT * FROM " + t + ") TO STDOUT (FORMAT csv)", buf);
            in.copyIn("COPY " + t + " FROM STDIN (FORMAT csv)", new ByteArrayInputStream(buf.toByteArray()));
        }
    }

    static List<List<String>> rows(Connection c, String sql) throws SQLException {
        List<List<String>> out = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            ResultSetMetaData md = rs.getMetaData();
            while (rs.next()) {
                List<String> row = new ArrayList<>();
                for (int i = 1; i <= md.getColumnCount(); i++) row.add(md.getColumnLabel(i) + "=" + rs.getString(i));
                out.add(row);
            }
        }
        return out;
    }

    /**
     * The TimescaleDB catalog as its information views show it, with everything that names an internal id replaced:
     * materialization hypertables by their cagg's name, job ids, ids inside job configs, application names' [id].
     */
    static Map<String, List<List<String>>> catalog(Connection c) throws SQLException {
        String mat = "(SELECT 'cagg:' || ca.view_schema || '.' || ca.view_name FROM timescaledb_information.continuous_aggregates ca"
                + " WHERE ca.materialization_hypertable_schema = %1$s AND ca.materialization_hypertable_name = %2$s)";
        String schemaOf = "coalesce(" + String.format(mat, "x.hypertable_schema", "x.hypertable_name") + ", x.hypertable_schema || '.' || x.hypertable_name)";
        Map<String, List<List<String>>> m = new LinkedHashMap<>();
        m.put("hypertables", rows(c, "SELECT * FROM timescaledb_information.hypertables ORDER BY 1, 2"));
        m.put("dimensions", rows(c, "SELECT " + schemaOf + " AS ht, dimension_number, column_name, column_type, dimension_type, time_interval,"
                + " integer_interval, integer_now_func, num_partitions FROM timescaledb_information.dimensions x ORDER BY 1, 2"));
        m.put("compression_settings", rows(c, "SELECT " + schemaOf + " AS ht, attname, segmentby_column_index, orderby_column_index, orderby_asc,"
                + " orderby_nullsfirst FROM timescaledb_information.compression_settings x ORDER BY 1, 2"));
        m.put("hypertable_compression_settings", rows(c, "SELECT coalesce(" + String.format(mat, "n.nspname", "cl.relname")
                + ", s.hypertable::text) AS ht, s.segmentby, s.orderby, s.compress_interval_length, s.index"
                + " FROM timescaledb_information.hypertable_compression_settings s JOIN pg_class cl ON cl.oid = s.hypertable"
                + " JOIN pg_namespace n ON n.oid = cl.relnamespace ORDER BY 1"));
        m.put("continuous_aggregates", rows(c, "SELECT " + schemaOf + " AS ht, view_schema, view_name, view_owner, materialized_only,"
                + " compression_enabled, materialization_hypertable_schema, view_definition, finalized, invalidate_using"
                + " FROM timescaledb_information.continuous_aggregates x ORDER BY 2, 3"));
        m.put("jobs", rows(c, "SELECT regexp_replace(application_name, ' \\[[0-9]+\\]$', '') AS app, schedule_interval, max_runtime, max_retries,"
                + " retry_period, proc_schema, proc_name, owner, scheduled, fixed_schedule, config - 'hypertable_id' - 'mat_hypertable_id' AS config,"
                + " initial_start, hypertable_schema, hypertable_name, check_schema, check_name FROM timescaledb_information.jobs"
                + " ORDER BY proc_schema, proc_name, hypertable_schema, hypertable_name, config::text"));
        m.put("chunks", rows(c, "SELECT " + schemaOf + " AS ht, primary_dimension, primary_dimension_type, range_start, range_end,"
                + " range_start_integer, range_end_integer, is_compressed, count(*) AS n FROM timescaledb_information.chunks x"
                + " GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 ORDER BY 1, 4, 6, 8"));
        return m;
    }

    /** Rows of the user-visible relations, ordered. */
    static Map<String, List<List<String>>> data(Connection c) throws SQLException {
        Map<String, List<List<String>>> m = new LinkedHashMap<>();
        m.put("orders", rows(c, "SELECT * FROM \"Sales Ops\".\"Orders Log\" ORDER BY 1, 2"));
        m.put("ticks", rows(c, "SELECT * FROM ticks ORDER BY 1"));
        m.put("hourly", rows(c, "SELECT * FROM \"Sales Ops\".\"Hourly View\" ORDER BY 1, 2"));
        m.put("daily", rows(c, "SELECT * FROM \"Sales Ops\".daily ORDER BY 1, 2"));
        m.put("tick_agg", rows(c, "SELECT * FROM tick_agg ORDER BY 1, 2"));
        return m;
    }
}
