package tsmigrate.timescale;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import tsmigrate.db.Pg;

/**
 * What TimescaleDB's information views say about one database: hypertables with their dimensions and compression
 * settings, continuous aggregates (in dependency order) and jobs. Columns that a version lacks read as NULL.
 */
final class TsCatalog {
    static final String INFO = "timescaledb_information";
    static final Set<String> POLICY_PROCS = Set.of("policy_refresh_continuous_aggregate", "policy_retention", "policy_compression",
            "policy_reorder");
    static final Set<String> INTERNAL_SCHEMAS = Set.of("_timescaledb_functions", "_timescaledb_internal");
    static final Set<String> INTEGER_TYPES = Set.of("smallint", "integer", "bigint");
    static final Set<String> TIME_TYPES = Set.of("timestamp with time zone", "timestamp without time zone", "date");

    private TsCatalog() {
    }

    record Dim(int number, String column, String type, boolean time, String timeInterval, Long integerInterval, String nowFuncSchema,
               String nowFunc, Integer partitions, String partFuncSchema, String partFunc) {
        boolean integerTime() {
            return time && timeInterval == null;
        }

        /** The chunk interval as a SQL expression of the right type. */
        String intervalSql() {
            if (timeInterval != null) return "CAST(" + Pg.literal(timeInterval) + " AS interval)";
            return "CAST(" + integerInterval + " AS " + type + ")";
        }
    }

    /** One orderby column; {@code rawSql} is set instead when only a version's SQL text of the whole list is known. */
    record OrderBy(String column, boolean asc, boolean nullsFirst, String rawSql) {
        String sql() {
            if (rawSql != null) return rawSql;
            // Spelled out in full: the defaults differ between ASC (NULLS LAST) and DESC (NULLS FIRST).
            return Pg.ident(column) + (asc ? " ASC" : " DESC") + (nullsFirst ? " NULLS FIRST" : " NULLS LAST");
        }
    }

    /**
     * @param sparseIndexes the sparse indexes set with timescaledb.compress_index (TimescaleDB 2.22+), as that option's
     *                      text, e.g. {@code bloom("b"), minmax("c")}; null when none was configured
     */
    record HypertableDef(String schema, String table, List<Dim> dims, boolean compressionEnabled, List<String> segmentBy,
                         List<OrderBy> orderBy, String compressChunkInterval, String sparseIndexes) {
        String key() {
            return Sql.key(schema, table);
        }

        String qualified() {
            return Pg.qualified(schema, table);
        }

        Dim primary() {
            return dims.get(0);
        }
    }

    record CaggDef(String viewSchema, String viewName, String rawSchema, String rawName, String matSchema, String matName,
                   boolean materializedOnly, boolean compressionEnabled, String definition, String invalidateUsing) {
        String key() {
            return Sql.key(viewSchema, viewName);
        }

        String qualified() {
            return Pg.qualified(viewSchema, viewName);
        }
    }

    record JobDef(int id, String applicationName, String scheduleInterval, String maxRuntime, int maxRetries, String retryPeriod,
                  String procSchema, String procName, boolean scheduled, Boolean fixedSchedule, String config, String initialStart,
                  String relSchema, String relName, String checkSchema, String checkName) {
        boolean policy() {
            return INTERNAL_SCHEMAS.contains(procSchema) && POLICY_PROCS.contains(procName);
        }

        /** Jobs TimescaleDB runs for itself (telemetry, job history retention, ...): never migrated. */
        boolean internal() {
            return INTERNAL_SCHEMAS.contains(procSchema) && !POLICY_PROCS.contains(procName);
        }

        String describe() {
            return policy() ? procName + " on " + (relName == null ? "?" : Pg.qualified(relSchema, relName))
                    : "job " + Pg.qualified(procSchema, procName) + " (" + id + ")";
        }
    }

    static boolean hasTimescale(Connection c) throws SQLException {
        return Pg.timescaleVersion(c) != null;
    }

    // ---- hypertables ----

    /** User hypertables (not caggs' materialization hypertables), by "schema.table". */
    static Map<String, HypertableDef> hypertables(Connection c) throws SQLException {
        Map<String, HypertableDef> out = new LinkedHashMap<>();
        Set<String> hcols = Sql.columns(c, INFO, "hypertables");
        List<Map<String, String>> hts = Sql.rows(c, "SELECT hypertable_schema, hypertable_name, " + Sql.col(hcols, "compression_enabled")
                + " FROM timescaledb_information.hypertables ORDER BY 1, 2");
        Map<String, List<Dim>> dims = dimensions(c);
        Map<String, List<String>> segment = new LinkedHashMap<>();
        Map<String, List<OrderBy>> order = new LinkedHashMap<>();
        compressionSettings(c, segment, order);
        Map<String, String> compressInterval = compressIntervals(c);
        Map<String, String> sparse = sparseIndexes(c);
        for (Map<String, String> h : hts) {
            String schema = h.get("hypertable_schema");
            String table = h.get("hypertable_name");
            String key = Sql.key(schema, table);
            List<Dim> d = dims.getOrDefault(key, List.of());
            if (d.isEmpty()) continue;
            out.put(key, new HypertableDef(schema, table, d, Sql.bool(h.get("compression_enabled")), segment.getOrDefault(key, List.of()),
                    order.getOrDefault(key, List.of()), compressInterval.get(key), sparse.get(key)));
        }
        return out;
    }

    /** Every hypertable's dimensions (materialization hypertables included), primary first. */
    static Map<String, List<Dim>> dimensions(Connection c) throws SQLException {
        Set<String> dcols = Sql.columns(c, INFO, "dimensions");
        // The view names integer_now_func and the partitioning function without their schema; the catalog has both.
        Map<String, String[]> funcs = new LinkedHashMap<>();
        // Checked, not tried: a failed statement would abort the caller's transaction (the planner reads inside its snapshot).
        if (Sql.columns(c, "_timescaledb_catalog", "dimension").contains("integer_now_func_schema") && Sql.bool(Sql.one(c,
                "SELECT has_table_privilege('_timescaledb_catalog.dimension', 'SELECT') AND has_table_privilege('_timescaledb_catalog.hypertable', 'SELECT')"))) {
            for (Map<String, String> r : Sql.rows(c, "SELECT h.schema_name, h.table_name, d.column_name, d.integer_now_func_schema,"
                    + " d.integer_now_func, d.partitioning_func_schema, d.partitioning_func FROM _timescaledb_catalog.dimension d"
                    + " JOIN _timescaledb_catalog.hypertable h ON h.id = d.hypertable_id")) {
                funcs.put(Sql.key(r.get("schema_name"), r.get("table_name")) + "\u0000" + r.get("column_name"),
                        new String[] {r.get("integer_now_func_schema"), r.get("integer_now_func"), r.get("partitioning_func_schema"),
                                r.get("partitioning_func")});
            }
        }
        Map<String, List<Dim>> out = new LinkedHashMap<>();
        for (Map<String, String> r : Sql.rows(c, "SELECT hypertable_schema, hypertable_name, dimension_number, column_name,"
                + " column_type::text AS column_type, dimension_type, time_interval::text AS time_interval, integer_interval, "
                + Sql.col(dcols, "integer_now_func") + ", num_partitions FROM timescaledb_information.dimensions"
                + " ORDER BY hypertable_schema, hypertable_name, dimension_number")) {
            String key = Sql.key(r.get("hypertable_schema"), r.get("hypertable_name"));
            String[] f = funcs.get(key + "\u0000" + r.get("column_name"));
            String nowSchema = f != null ? f[0] : null;
            String now = f != null ? f[1] : r.get("integer_now_func");
            String partSchema = f != null ? f[2] : null;
            String part = f != null ? f[3] : null;
            if (now != null && nowSchema == null) nowSchema = functionSchema(c, now);
            boolean time = "Time".equalsIgnoreCase(r.get("dimension_type"));
            out.computeIfAbsent(key, k -> new ArrayList<>()).add(new Dim(Integer.parseInt(r.get("dimension_number")), r.get("column_name"),
                    r.get("column_type"), time, r.get("time_interval"),
                    r.get("integer_interval") == null ? null : Long.valueOf(r.get("integer_interval")), nowSchema, now,
                    r.get("num_partitions") == null ? null : Integer.valueOf(r.get("num_partitions")), partSchema, part));
        }
        return out;
    }

    private static String functionSchema(Connection c, String name) throws SQLException {
        List<Map<String, String>> r = Sql.rows(c, "SELECT n.nspname FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n"
                + " ON n.oid = p.pronamespace WHERE p.proname = ? AND p.pronargs = 0", name);
        return r.size() == 1 ? r.get(0).get("nspname") : null;
    }

    /** segmentby and orderby per hypertable (materialization hypertables included), by "schema.table". */
    static void compressionSettings(Connection c, Map<String, List<String>> segment, Map<String, List<OrderBy>> order)
            throws SQLException {
        if (!Sql.columns(c, INFO, "compression_settings").isEmpty()) {
            for (Map<String, String> r : Sql.rows(c, "SELECT hypertable_schema, hypertable_name, attname, segmentby_column_index,"
                    + " orderby_column_index, orderby_asc, orderby_nullsfirst FROM timescaledb_information.compression_settings"
                    + " ORDER BY hypertable_schema, hypertable_name, segmentby_column_index NULLS LAST, orderby_column_index NULLS LAST")) {
                String key = Sql.key(r.get("hypertable_schema"), r.get("hypertable_name"));
                if (r.get("segmentby_column_index") != null) segment.computeIfAbsent(key, k -> new ArrayList<>()).add(r.get("attname"));
                if (r.get("orderby_column_index") != null) {
                    order.computeIfAbsent(key, k -> new ArrayList<>()).add(new OrderBy(r.get("attname"), Sql.bool(r.get("orderby_asc")),
                            Sql.bool(r.get("orderby_nullsfirst")), null));
                }
            }
            return;
        }
        // Later versions may keep only hypertable_compression_settings: segmentby is a list of names, orderby SQL text.
        if (Sql.columns(c, INFO, "hypertable_compression_settings").isEmpty()) return;
        for (Map<String, String> r : Sql.rows(c, "SELECT n.nspname, cl.relname, s.segmentby, s.orderby"
                + " FROM timescaledb_information.hypertable_compression_settings s JOIN pg_catalog.pg_class cl ON cl.oid = s.hypertable"
                + " JOIN pg_catalog.pg_namespace n ON n.oid = cl.relnamespace")) {
            String key = Sql.key(r.get("nspname"), r.get("relname"));
            if (r.get("segmentby") != null && !r.get("segmentby").isBlank()) {
                for (String s : r.get("segmentby").split(",")) segment.computeIfAbsent(key, k -> new ArrayList<>()).add(s.strip());
            }
            if (r.get("orderby") != null && !r.get("orderby").isBlank()) {
                order.computeIfAbsent(key, k -> new ArrayList<>()).add(new OrderBy(null, true, false, r.get("orderby")));
            }
        }
    }

    /** timescaledb.compress_chunk_time_interval per hypertable, where set. */
    private static Map<String, String> compressIntervals(Connection c) throws SQLException {
        Map<String, String> out = new LinkedHashMap<>();
        if (!Sql.columns(c, INFO, "hypertable_compression_settings").contains("compress_interval_length")) return out;
        for (Map<String, String> r : Sql.rows(c, "SELECT n.nspname, cl.relname, s.compress_interval_length"
                + " FROM timescaledb_information.hypertable_compression_settings s JOIN pg_catalog.pg_class cl ON cl.oid = s.hypertable"
                + " JOIN pg_catalog.pg_namespace n ON n.oid = cl.relnamespace WHERE s.compress_interval_length IS NOT NULL")) {
            out.put(Sql.key(r.get("nspname"), r.get("relname")), r.get("compress_interval_length"));
        }
        return out;
    }

    /** The configured sparse indexes (source "config"; automatic ones are TimescaleDB's own choice), by hypertable. */
    private static Map<String, String> sparseIndexes(Connection c) throws SQLException {
        Map<String, String> out = new LinkedHashMap<>();
        if (!Sql.columns(c, INFO, "hypertable_compression_settings").contains("index")) return out;
        for (Map<String, String> r : Sql.rows(c, "SELECT n.nspname, cl.relname, e ->> 'type' AS type, e ->> 'column' AS col"
                + " FROM timescaledb_information.hypertable_compression_settings s JOIN pg_catalog.pg_class cl ON cl.oid = s.hypertable"
                + " JOIN pg_catalog.pg_namespace n ON n.oid = cl.relnamespace"
                + " CROSS JOIN LATERAL jsonb_array_elements(CASE jsonb_typeof(s.index) WHEN 'array' THEN s.index ELSE '[]' END)"
                + " WITH ORDINALITY AS x(e, i) WHERE e ->> 'source' = 'config' ORDER BY 1, 2, x.i")) {
            String type = r.get("type");
            if (type == null || r.get("col") == null || !type.matches("[a-z_][a-z0-9_]*")) continue;
            out.merge(Sql.key(r.get("nspname"), r.get("relname")), type + "(" + Pg.ident(r.get("col")) + ")", (a, b) -> a + ", " + b);
        }
        return out;
    }

    // ---- continuous aggregates ----

    /**
     * Continuous aggregates in dependency order (a cagg on a cagg after the one it reads). The definitions are read
     * with search_path = public (+ TimescaleDB's schema), so they name everything else with its schema; the target
     * creates them under the same search_path.
     */
    static List<CaggDef> caggs(Connection c) throws SQLException {
        Set<String> cols = Sql.columns(c, INFO, "continuous_aggregates");
        if (cols.isEmpty()) return List.of();
        List<Map<String, String>> rows = withSearchPath(c, () -> Sql.rows(c, "SELECT view_schema, view_name, hypertable_schema,"
                + " hypertable_name, materialization_hypertable_schema, materialization_hypertable_name, materialized_only, "
                + Sql.col(cols, "compression_enabled") + ", view_definition, " + Sql.col(cols, "invalidate_using")
                + " FROM timescaledb_information.continuous_aggregates ORDER BY view_schema, view_name"));
        List<CaggDef> all = new ArrayList<>();
        for (Map<String, String> r : rows) {
            all.add(new CaggDef(r.get("view_schema"), r.get("view_name"), r.get("hypertable_schema"), r.get("hypertable_name"),
                    r.get("materialization_hypertable_schema"), r.get("materialization_hypertable_name"), Sql.bool(r.get("materialized_only")),
                    Sql.bool(r.get("compression_enabled")), r.get("view_definition"), r.get("invalidate_using")));
        }
        return dependencyOrder(all);
    }

    /** Parents first: a cagg whose hypertable is another cagg's materialization hypertable comes after that cagg. */
    static List<CaggDef> dependencyOrder(List<CaggDef> all) {
        Map<String, CaggDef> byMat = new LinkedHashMap<>();
        for (CaggDef d : all) byMat.put(Sql.key(d.matSchema(), d.matName()), d);
        List<CaggDef> out = new ArrayList<>();
        Set<String> done = new LinkedHashSet<>();
        for (CaggDef d : all) visit(d, byMat, done, new LinkedHashSet<>(), out);
        return out;
    }

    private static void visit(CaggDef d, Map<String, CaggDef> byMat, Set<String> done, Set<String> path, List<CaggDef> out) {
        if (done.contains(d.key()) || !path.add(d.key())) return;
        CaggDef parent = byMat.get(Sql.key(d.rawSchema(), d.rawName()));
        if (parent != null) visit(parent, byMat, done, path, out);
        done.add(d.key());
        out.add(d);
    }

    /** The cagg a materialization hypertable belongs to, or the hypertable itself, by "schema.name". */
    static Map<String, String> userNames(List<CaggDef> caggs) {
        Map<String, String> m = new LinkedHashMap<>();
        for (CaggDef d : caggs) m.put(Sql.key(d.matSchema(), d.matName()), d.key());
        return m;
    }

    /** The search path cagg definitions are read and created under: public, and the schema TimescaleDB lives in. */
    static String searchPath(Connection c) throws SQLException {
        String ext = Sql.one(c, "SELECT n.nspname FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace"
                + " WHERE e.extname = 'timescaledb'");
        return ext == null || ext.equals("public") || ext.equals("pg_catalog") ? "public" : "public, " + Pg.ident(ext);
    }

    interface SqlWork<T> {
        T run() throws SQLException;
    }

    /**
     * Runs work under the search path of {@link #searchPath}: in a short transaction with SET LOCAL (the session is
     * shared on single-backend servers), or, inside the caller's transaction, set and put back.
     */
    static <T> T withSearchPath(Connection c, SqlWork<T> work) throws SQLException {
        return withPath(c, searchPath(c), work);
    }

    /** Runs work with this search_path (SQL text, already quoted), then puts the session's back. */
    static <T> T withPath(Connection c, String path, SqlWork<T> work) throws SQLException {
        if (!c.getAutoCommit()) {
            String old = Sql.one(c, "SELECT current_setting('search_path')");
            Sql.one(c, "SELECT set_config('search_path', ?, true)", path);
            try {
                return work.run();
            } finally {
                Sql.one(c, "SELECT set_config('search_path', ?, true)", old);
            }
        }
        c.setAutoCommit(false);
        try {
            Sql.exec(c, "SET LOCAL search_path = " + path);
            T t = work.run();
            c.commit();
            return t;
        } catch (SQLException | RuntimeException e) {
            try {
                c.rollback();
            } catch (SQLException ignored) {
                // the original error matters
            }
            throw e;
        } finally {
            c.setAutoCommit(true);
        }
    }

    // ---- jobs ----

    static List<JobDef> jobs(Connection c) throws SQLException {
        Set<String> cols = Sql.columns(c, INFO, "jobs");
        if (cols.isEmpty()) return List.of();
        List<JobDef> out = new ArrayList<>();
        for (Map<String, String> r : Sql.rows(c, "SELECT job_id, application_name, schedule_interval::text AS schedule_interval,"
                + " max_runtime::text AS max_runtime, max_retries, retry_period::text AS retry_period, proc_schema, proc_name, scheduled, "
                + Sql.col(cols, "fixed_schedule") + ", config::text AS config, "
                + (cols.contains("initial_start") ? "initial_start::text AS initial_start" : "NULL AS initial_start")
                + ", hypertable_schema, hypertable_name, " + Sql.col(cols, "check_schema") + ", " + Sql.col(cols, "check_name")
                + " FROM timescaledb_information.jobs ORDER BY job_id")) {
            out.add(new JobDef(Integer.parseInt(r.get("job_id")), r.get("application_name"), r.get("schedule_interval"), r.get("max_runtime"),
                    Integer.parseInt(r.get("max_retries")), r.get("retry_period"), r.get("proc_schema"), r.get("proc_name"),
                    Sql.bool(r.get("scheduled")), r.get("fixed_schedule") == null ? null : Sql.bool(r.get("fixed_schedule")), r.get("config"),
                    r.get("initial_start"), r.get("hypertable_schema"), r.get("hypertable_name"), r.get("check_schema"), r.get("check_name")));
        }
        return out;
    }
}
