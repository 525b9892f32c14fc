package tsmigrate.timescale;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import tsmigrate.config.JobConfig;
import tsmigrate.db.Pg;
import tsmigrate.run.MigrationRun;
import tsmigrate.run.StepFailure;
import tsmigrate.run.UserError;
import tsmigrate.timescale.TsCatalog.CaggDef;
import tsmigrate.timescale.TsCatalog.Dim;
import tsmigrate.timescale.TsCatalog.HypertableDef;
import tsmigrate.timescale.TsCatalog.JobDef;

/**
 * The procedure's TimescaleDB steps: "Restore hypertables" (with compression settings), compressing what the source
 * had compressed, "Recreate continuous aggregates" and "Recreate policies". Everything is read from the source's
 * timescaledb_information views and recreated through TimescaleDB's public API, never by copying its catalog.
 * <p>
 * Every step can run again after a partial run: what already exists on the target is left as it is (and counted).
 * All statements run in autocommit; none holds a transaction longer than one statement.
 */
public class TimescaleSteps {
    private static final Logger LOG = LoggerFactory.getLogger(TimescaleSteps.class);
    static final String NO_TARGET = "skipped: no TimescaleDB on the target";
    static final String NO_SOURCE = "skipped: no TimescaleDB on the source";

    // ======================================================================================= hypertables

    /** A step's work on one connection to each side, opened for the step and closed after it. */
    @FunctionalInterface
    private interface BothSides {
        String run(Connection source, Connection target) throws SQLException;
    }

    private static String onBothSides(MigrationRun run, BothSides body) throws SQLException {
        try (Connection src = Pg.connect("source", run.cfg.source); Connection tgt = Pg.connect("target", run.cfg.target)) {
            return body.run(src, tgt);
        }
    }

    /** Step "hypertables", after pre-data and before the data load. */
    public String hypertables(MigrationRun run) throws Exception {
        return onBothSides(run, (src, tgt) -> hypertables(run, src, tgt));
    }

    String hypertables(MigrationRun run, Connection src, Connection tgt) throws SQLException {
        boolean tsSource = TsCatalog.hasTimescale(src);
        if (!TsCatalog.hasTimescale(tgt)) {
            if (!run.cfg.hypertables.isEmpty()) {
                throw new UserError("The job asks for hypertables (" + String.join(", ", run.cfg.hypertables.keySet())
                        + ") but the target " + run.cfg.target.masked() + " has no TimescaleDB extension.",
                        "Run CREATE EXTENSION timescaledb in the target database first, or remove the hypertables section.");
            }
            if (tsSource) run.warn("hypertables: the source uses TimescaleDB but the target has no TimescaleDB; its hypertables arrive as plain tables");
            LOG.info("hypertables: {}", NO_TARGET);
            return NO_TARGET;
        }
        Map<String, HypertableDef> wanted = new LinkedHashMap<>(tsSource ? TsCatalog.hypertables(src) : Map.of());
        Set<String> onSource = Set.copyOf(wanted.keySet());
        for (Map.Entry<String, JobConfig.HypertableSpec> e : run.cfg.hypertables.entrySet()) {
            HypertableDef fromSpec = fromSpec(tgt, e.getKey(), e.getValue());
            HypertableDef source = wanted.get(e.getKey());
            if (source != null) {
                // The user's time column and interval win; the source's other dimensions and compression stay.
                List<Dim> dims = new ArrayList<>(fromSpec.dims());
                Dim st = source.primary();
                Dim ft = fromSpec.primary();
                if (st.column().equals(ft.column()) && st.nowFunc() != null) {
                    // same integer time column: keep its integer_now function
                    dims.set(0, new Dim(1, ft.column(), ft.type(), true, ft.timeInterval(), ft.integerInterval(), st.nowFuncSchema(),
                            st.nowFunc(), null, st.partFuncSchema(), st.partFunc()));
                }
                for (Dim d : source.dims().subList(1, source.dims().size())) {
                    if (!d.column().equals(fromSpec.primary().column())) dims.add(d);
                }
                fromSpec = new HypertableDef(source.schema(), source.table(), dims, source.compressionEnabled(), source.segmentBy(),
                        source.orderBy(), source.compressChunkInterval(), source.sparseIndexes());
            }
            wanted.put(e.getKey(), fromSpec);
        }
        if (wanted.isEmpty()) {
            String why = tsSource ? "skipped: no hypertables on the source and none configured"
                    : "skipped: no TimescaleDB on the source and no hypertables configured";
            LOG.info("hypertables: {}", why);
            return why;
        }
        Map<String, HypertableDef> present = TsCatalog.hypertables(tgt);
        int created = 0;
        int existed = 0;
        int dimsAdded = 0;
        int nowFuncs = 0;
        int compression = 0;
        for (HypertableDef h : wanted.values()) {
            HypertableDef there = present.get(h.key());
            if (there == null) {
                if (!relationExists(tgt, h.schema(), h.table())) {
                    throw new StepFailure("hypertables: the table " + h.qualified() + " does not exist on the target; pre-data creates it"
                            + " (run pre-data first, or create the table on the target)");
                }
                // A source hypertable's indexes come with post-data, as the source has them; a plain table gets the procedure's defaults.
                createHypertable(tgt, h, !onSource.contains(h.key()));
                created++;
                LOG.info("hypertables: {} is a hypertable on {} ({})", h.qualified(), h.primary().column(), describeInterval(h.primary()));
            } else {
                existed++;
                if (!there.primary().column().equals(h.primary().column())) {
                    run.warn("hypertables: " + h.qualified() + " is already a hypertable on the target, on " + there.primary().column()
                            + " instead of " + h.primary().column() + "; left as it is");
                    continue;
                }
            }
            List<Dim> haveDims = there == null ? List.of() : there.dims();
            for (Dim d : h.dims().subList(1, h.dims().size())) {
                if (haveDims.stream().anyMatch(x -> x.column().equals(d.column()))) continue;
                addDimension(tgt, h, d);
                dimsAdded++;
            }
            Dim time = h.primary();
            if (time.nowFunc() != null) {
                Dim thereTime = there == null ? null : there.primary();
                if (thereTime == null || !time.nowFunc().equals(thereTime.nowFunc())) {
                    setIntegerNowFunc(tgt, h, time);
                    nowFuncs++;
                }
            }
            if (h.compressionEnabled() && (there == null || !there.compressionEnabled())) {
                enableCompression(tgt, h);
                compression++;
            }
        }
        return wanted.size() + " hypertables (" + created + " created, " + existed + " already there), " + dimsAdded + " space/extra dimensions, "
                + nowFuncs + " integer_now functions, compression enabled on " + compression;
    }

    private static String describeInterval(Dim d) {
        if (d.timeInterval() != null) return "chunks of " + d.timeInterval();
        if (d.integerInterval() != null) return "chunks of " + d.integerInterval();
        return "default chunk interval";
    }

    /** A hypertable spec from the job file, checked against the target's table. */
    static HypertableDef fromSpec(Connection tgt, String key, JobConfig.HypertableSpec spec) throws SQLException {
        String[] table = findTable(tgt, key);
        if (table == null) {
            throw new UserError("hypertables names the table '" + key + "', which does not exist on the target.",
                    "Write it as schema.table, unquoted, exactly as in the source (e.g. public.metrics); pre-data must have created it.");
        }
        String type = columnType(tgt, table[0], table[1], spec.timeColumn);
        if (spec.timeColumn == null || type == null) {
            throw new UserError("hypertables: the time column '" + spec.timeColumn + "' of " + key + " does not exist.",
                    "Set timeColumn to one of the table's columns: " + String.join(", ", columnNames(tgt, table[0], table[1])) + ".");
        }
        return new HypertableDef(table[0], table[1], List.of(specDim(key, spec, type)), false, List.of(), List.of(), null, null);
    }

    private static Dim specDim(String key, JobConfig.HypertableSpec spec, String type) {
        String interval = spec.chunkInterval == null || spec.chunkInterval.isBlank() ? null : spec.chunkInterval.strip();
        if (TsCatalog.INTEGER_TYPES.contains(type)) {
            Long n = null;
            if (interval != null) {
                try {
                    n = Long.parseLong(interval);
                } catch (NumberFormatException e) {
                    throw new UserError("hypertables: " + key + "." + spec.timeColumn + " is " + type + ", so its chunkInterval must be a number"
                            + " (in the column's units), not '" + interval + "'.", "Set chunkInterval to e.g. 100000.");
                }
                if (n <= 0) throw new UserError("hypertables: the chunkInterval of " + key + " must be positive.", "Set chunkInterval to e.g. 100000.");
            }
            return new Dim(1, spec.timeColumn, type, true, null, n, null, null, null, null, null);
        }
        if (!TsCatalog.TIME_TYPES.contains(type)) {
            throw new UserError("hypertables: the time column '" + spec.timeColumn + "' of " + key + " is of type " + type + ".",
                    "A hypertable's time column must be timestamptz, timestamp, date, smallint, integer or bigint.");
        }
        return new Dim(1, spec.timeColumn, type, true, interval, null, null, null, null, null, null);
    }

    private static void createHypertable(Connection tgt, HypertableDef h, boolean defaultIndexes) throws SQLException {
        Dim t = h.primary();
        StringBuilder sql = new StringBuilder("SELECT create_hypertable(").append(Sql.regclass(h.schema(), h.table()))
                .append(", CAST(").append(Pg.literal(t.column())).append(" AS name)");
        if (t.timeInterval() != null || t.integerInterval() != null) sql.append(", chunk_time_interval => ").append(t.intervalSql());
        if (t.partFunc() != null && t.partFuncSchema() != null) {
            sql.append(", time_partitioning_func => ").append(Sql.regproc(t.partFuncSchema(), t.partFunc()));
        }
        sql.append(", create_default_indexes => ").append(defaultIndexes).append(", if_not_exists => true, migrate_data => true)");
        try {
            Sql.exec(tgt, sql.toString());
        } catch (SQLException e) {
            throw new StepFailure("hypertables: create_hypertable on " + h.qualified() + " failed: " + e.getMessage());
        }
    }

    private static void addDimension(Connection tgt, HypertableDef h, Dim d) throws SQLException {
        StringBuilder sql = new StringBuilder("SELECT add_dimension(").append(Sql.regclass(h.schema(), h.table())).append(", CAST(")
                .append(Pg.literal(d.column())).append(" AS name)");
        if (d.partitions() != null) {
            sql.append(", number_partitions => ").append(d.partitions());
            if (d.partFunc() != null && d.partFuncSchema() != null && !isDefaultHash(d)) {
                sql.append(", partitioning_func => ").append(Sql.regproc(d.partFuncSchema(), d.partFunc()));
            }
        } else {
            sql.append(", chunk_time_interval => ").append(d.intervalSql());
        }
        sql.append(", if_not_exists => true)");
        try {
            Sql.exec(tgt, sql.toString());
        } catch (SQLException e) {
            throw new StepFailure("hypertables: add_dimension " + d.column() + " on " + h.qualified() + " failed: " + e.getMessage());
        }
    }

    private static boolean isDefaultHash(Dim d) {
        return "get_partition_hash".equals(d.partFunc()) && TsCatalog.INTERNAL_SCHEMAS.contains(d.partFuncSchema());
    }

    private static void setIntegerNowFunc(Connection tgt, HypertableDef h, Dim time) throws SQLException {
        String fn = time.nowFuncSchema() == null ? Pg.ident(time.nowFunc()) : Pg.qualified(time.nowFuncSchema(), time.nowFunc());
        try {
            Sql.exec(tgt, "SELECT set_integer_now_func(" + Sql.regclass(h.schema(), h.table()) + ", CAST(" + Pg.literal(fn)
                    + " AS regproc), replace_if_exists => true)");
        } catch (SQLException e) {
            throw new StepFailure("hypertables: set_integer_now_func(" + fn + ") on " + h.qualified() + " failed: " + e.getMessage()
                    + " (pre-data creates the function; is it on the target?)");
        }
    }

    private static void enableCompression(Connection tgt, HypertableDef h) throws SQLException {
        StringBuilder opts = new StringBuilder("timescaledb.compress");
        // Written out even when TimescaleDB would choose them: its choice depends on indexes that post-data adds later.
        if (!h.segmentBy().isEmpty()) {
            opts.append(", timescaledb.compress_segmentby = ").append(Pg.literal(Pg.quotedColumns(h.segmentBy())));
        }
        if (!h.orderBy().isEmpty()) {
            List<String> parts = new ArrayList<>();
            for (TsCatalog.OrderBy o : h.orderBy()) parts.add(o.sql());
            opts.append(", timescaledb.compress_orderby = ").append(Pg.literal(String.join(", ", parts)));
        }
        if (h.sparseIndexes() != null && !h.orderBy().isEmpty()) {
            opts.append(", timescaledb.compress_index = ").append(Pg.literal(h.sparseIndexes()));
        }
        if (h.compressChunkInterval() != null) {
            opts.append(", timescaledb.compress_chunk_time_interval = ").append(Pg.literal(h.compressChunkInterval()));
        }
        try {
            Sql.exec(tgt, "ALTER TABLE " + h.qualified() + " SET (" + opts + ")");
        } catch (SQLException e) {
            throw new StepFailure("hypertables: enabling compression on " + h.qualified() + " failed: " + e.getMessage());
        }
    }

    // ======================================================================================= compression

    /** After the data step: compress on the target the ranges compressed on the source (cfg.compressLikeSource). */
    public String compress(MigrationRun run) throws Exception {
        if (!run.cfg.compressLikeSource) return "skipped: compressLikeSource is off";
        return onBothSides(run, (src, tgt) -> compress(run, src, tgt));
    }

    String compress(MigrationRun run, Connection src, Connection tgt) throws SQLException {
        if (!TsCatalog.hasTimescale(tgt)) return NO_TARGET;
        if (!TsCatalog.hasTimescale(src)) return NO_SOURCE;
        Map<String, HypertableDef> there = TsCatalog.hypertables(tgt);
        int chunks = 0;
        int tables = 0;
        for (SourceHypertables.Hypertable h : SourceHypertables.read(src).values()) {
            List<SourceHypertables.ChunkRange> compressed = h.chunks().stream().filter(SourceHypertables.ChunkRange::compressed).toList();
            if (compressed.isEmpty()) continue;
            HypertableDef t = there.get(h.key());
            if (t == null || !t.compressionEnabled()) {
                run.warn("compress: " + Pg.qualified(h.schema(), h.table()) + " has compressed chunks on the source but "
                        + (t == null ? "is not a hypertable" : "has no compression enabled") + " on the target; left uncompressed");
                continue;
            }
            List<String[]> todo = chunksToCompress(tgt, h, t.primary().type());
            for (String[] ch : todo) {
                try {
                    Sql.exec(tgt, "SELECT compress_chunk(" + Sql.regclass(ch[0], ch[1]) + ", if_not_compressed => true)");
                } catch (SQLException e) {
                    throw new StepFailure("compress: compress_chunk(" + Pg.qualified(ch[0], ch[1]) + ") of " + Pg.qualified(h.schema(), h.table())
                            + " failed: " + e.getMessage());
                }
            }
            if (!todo.isEmpty()) tables++;
            chunks += todo.size();
            LOG.info("compress: {}: {} chunk(s) compressed like the source", Pg.qualified(h.schema(), h.table()), todo.size());
        }
        return chunks + " chunks compressed in " + tables + " hypertables";
    }

    /**
     * The target's uncompressed chunks of h whose time range overlaps only source ranges that were compressed
     * (so a target chunk interval that differs from an old source one still maps sensibly).
     */
    static List<String[]> chunksToCompress(Connection tgt, SourceHypertables.Hypertable h, String type) throws SQLException {
        boolean integer = TsCatalog.INTEGER_TYPES.contains(type);
        String cmp = integer ? "numeric" : type;
        StringBuilder values = new StringBuilder();
        for (SourceHypertables.ChunkRange r : h.chunks()) {
            if (values.length() > 0) values.append(", ");
            values.append("(").append(typed(r.start(), integer, cmp)).append(", ").append(typed(r.end(), integer, cmp)).append(", ")
                    .append(r.compressed()).append(")");
        }
        String s = "CAST(" + SourceHypertables.boundText(type, "c.range_start", "c.range_start_integer", true) + " AS " + cmp + ")";
        String e = "CAST(" + SourceHypertables.boundText(type, "c.range_end", "c.range_end_integer", false) + " AS " + cmp + ")";
        // NULL bounds are open ends: they overlap everything on their side.
        String overlap = "(src.s IS NULL OR tgt.e IS NULL OR src.s < tgt.e) AND (tgt.s IS NULL OR src.e IS NULL OR tgt.s < src.e)";
        String sql = "WITH src(s, e, z) AS (VALUES " + values + "), tgt AS (SELECT c.chunk_schema, c.chunk_name, " + s + " AS s, " + e + " AS e"
                + " FROM timescaledb_information.chunks c WHERE c.hypertable_schema = ? AND c.hypertable_name = ? AND NOT c.is_compressed)"
                + " SELECT tgt.chunk_schema, tgt.chunk_name FROM tgt"
                + " WHERE EXISTS (SELECT 1 FROM src WHERE src.z AND " + overlap + ")"
                + " AND NOT EXISTS (SELECT 1 FROM src WHERE NOT src.z AND " + overlap + ") ORDER BY tgt.s NULLS FIRST, 2";
        List<String[]> out = new ArrayList<>();
        for (Map<String, String> r : Sql.rows(tgt, sql, h.schema(), h.table())) out.add(new String[] {r.get("chunk_schema"), r.get("chunk_name")});
        return out;
    }

    private static String typed(String bound, boolean integer, String cmp) {
        if (bound == null) return "CAST(NULL AS " + cmp + ")";
        return "CAST(" + (integer ? Pg.literal(bound) : bound) + " AS " + cmp + ")";
    }

    // ======================================================================================= continuous aggregates

    /**
     * Step "caggs", after post-data: CREATE MATERIALIZED VIEW ... WITH (timescaledb.continuous,
     * timescaledb.materialized_only=...) AS definition WITH NO DATA, then refresh, in dependency order.
     */
    public String caggs(MigrationRun run) throws Exception {
        return onBothSides(run, (src, tgt) -> caggs(run, src, tgt));
    }

    String caggs(MigrationRun run, Connection src, Connection tgt) throws SQLException {
        if (!TsCatalog.hasTimescale(tgt)) {
            LOG.info("caggs: {}", NO_TARGET);
            return NO_TARGET;
        }
        if (!TsCatalog.hasTimescale(src)) return NO_SOURCE;
        List<CaggDef> caggs = TsCatalog.caggs(src);
        if (caggs.isEmpty()) return "no continuous aggregates on the source";
        Map<String, CaggDef> present = new LinkedHashMap<>();
        for (CaggDef d : TsCatalog.caggs(tgt)) present.put(d.key(), d);
        Map<String, List<Dim>> srcDims = TsCatalog.dimensions(src);
        boolean invalidateOption = Sql.columns(tgt, TsCatalog.INFO, "continuous_aggregates").contains("invalidate_using");
        Map<String, List<String>> segment = new LinkedHashMap<>();
        Map<String, List<TsCatalog.OrderBy>> order = new LinkedHashMap<>();
        TsCatalog.compressionSettings(src, segment, order);
        int created = 0;
        int refreshed = 0;
        for (CaggDef d : caggs) {
            CaggDef there = present.get(d.key());
            if (there == null) {
                if (relationExists(tgt, d.viewSchema(), d.viewName())) {
                    throw new StepFailure("caggs: " + d.qualified() + " already exists on the target but is not a continuous aggregate;"
                            + " drop it there and run the step again");
                }
                createCagg(tgt, d, invalidateOption);
                created++;
            } else if (there.materializedOnly() != d.materializedOnly()) {
                Sql.exec(tgt, "ALTER MATERIALIZED VIEW " + d.qualified() + " SET (timescaledb.materialized_only = " + d.materializedOnly() + ")");
            }
            CaggDef now = there != null ? there : TsCatalog.caggs(tgt).stream().filter(x -> x.key().equals(d.key())).findFirst().orElse(null);
            // Before the refresh: the materialization hypertable's chunks are cut at its chunk interval as they are made.
            if (now != null) matchMaterialization(run, tgt, d, now, srcDims, segment, order);
            try {
                Sql.exec(tgt, "CALL refresh_continuous_aggregate(" + Sql.regclass(d.viewSchema(), d.viewName()) + ", NULL, NULL)");
            } catch (SQLException e) {
                throw new StepFailure("caggs: refreshing " + d.qualified() + " failed: " + e.getMessage());
            }
            refreshed++;
            LOG.info("caggs: {} {} and refreshed", d.qualified(), there == null ? "created" : "already there");
        }
        return caggs.size() + " continuous aggregates (" + created + " created, " + (caggs.size() - created) + " already there), "
                + refreshed + " refreshed";
    }

    private static void createCagg(Connection tgt, CaggDef d, boolean invalidateOption) throws SQLException {
        String def = d.definition().strip();
        while (def.endsWith(";")) def = def.substring(0, def.length() - 1).strip();
        StringBuilder with = new StringBuilder("timescaledb.continuous, timescaledb.materialized_only = ").append(d.materializedOnly());
        if (invalidateOption && d.invalidateUsing() != null && !d.invalidateUsing().equals("trigger")) {
            with.append(", timescaledb.invalidate_using = ").append(Pg.literal(d.invalidateUsing()));
        }
        String sql = "CREATE MATERIALIZED VIEW " + d.qualified() + " WITH (" + with + ") AS " + def + " WITH NO DATA";
        try {
            TsCatalog.withSearchPath(tgt, () -> {
                Sql.exec(tgt, sql);
                return null;
            });
        } catch (SQLException e) {
            throw new StepFailure("caggs: creating " + d.qualified() + " failed: " + e.getMessage() + "\n  statement: " + sql);
        }
    }

    /** The materialization hypertable's chunk interval and the cagg's compression (with its settings), as on the source. */
    private static void matchMaterialization(MigrationRun run, Connection tgt, CaggDef d, CaggDef now, Map<String, List<Dim>> srcDims,
                                             Map<String, List<String>> segment, Map<String, List<TsCatalog.OrderBy>> order) throws SQLException {
        String matKey = Sql.key(d.matSchema(), d.matName());
        List<Dim> s = srcDims.get(matKey);
        List<Dim> t = TsCatalog.dimensions(tgt).get(Sql.key(now.matSchema(), now.matName()));
        if (s != null && t != null && !s.isEmpty() && !t.isEmpty()) {
            Dim sd = s.get(0);
            Dim td = t.get(0);
            boolean same = sd.timeInterval() != null ? sd.timeInterval().equals(td.timeInterval())
                    : java.util.Objects.equals(sd.integerInterval(), td.integerInterval());
            if (!same) {
                Sql.exec(tgt, "SELECT set_chunk_time_interval(" + Sql.regclass(now.matSchema(), now.matName()) + ", " + sd.intervalSql() + ")");
            }
        }
        if (d.compressionEnabled() && !now.compressionEnabled()) {
            StringBuilder opts = new StringBuilder("timescaledb.compress = true");
            List<String> seg = segment.getOrDefault(matKey, List.of());
            if (!seg.isEmpty()) opts.append(", timescaledb.compress_segmentby = ").append(Pg.literal(Pg.quotedColumns(seg)));
            List<TsCatalog.OrderBy> ord = order.getOrDefault(matKey, List.of());
            if (!ord.isEmpty()) {
                List<String> parts = new ArrayList<>();
                for (TsCatalog.OrderBy o : ord) parts.add(o.sql());
                opts.append(", timescaledb.compress_orderby = ").append(Pg.literal(String.join(", ", parts)));
            }
            try {
                Sql.exec(tgt, "ALTER MATERIALIZED VIEW " + d.qualified() + " SET (" + opts + ")");
            } catch (SQLException e) {
                throw new StepFailure("caggs: enabling compression on " + d.qualified() + " failed: " + e.getMessage());
            }
        }
    }

    // ======================================================================================= policies and jobs

    /**
     * Step "policies", last: add_*_policy with the source's config, alter_job for schedule_interval, max_runtime,
     * max_retries, retry_period, scheduled; custom jobs via add_job(proc, schedule, config).
     */
    public String policies(MigrationRun run) throws Exception {
        return onBothSides(run, (src, tgt) -> policies(run, src, tgt));
    }

    String policies(MigrationRun run, Connection src, Connection tgt) throws SQLException {
        if (!TsCatalog.hasTimescale(tgt)) {
            LOG.info("policies: {}", NO_TARGET);
            return NO_TARGET;
        }
        if (!TsCatalog.hasTimescale(src)) return NO_SOURCE;
        // Refresh policies first: TimescaleDB wants one on a cagg before a compression policy there. Custom jobs last.
        List<JobDef> source = TsCatalog.jobs(src).stream().filter(j -> !j.internal())
                .sorted(java.util.Comparator.comparingInt((JobDef j) -> j.procName().equals("policy_refresh_continuous_aggregate") ? 0
                        : j.policy() ? 1 : 2).thenComparingInt(JobDef::id)).toList();
        if (source.isEmpty()) return "no policies or jobs on the source";
        Map<String, String> timeTypes = timeTypes(src);
        Set<String> alterArgs = Sql.functionArgs(tgt, "alter_job");
        Set<String> addJobArgs = Sql.functionArgs(tgt, "add_job");
        List<JobDef> targetJobs = new ArrayList<>(TsCatalog.jobs(tgt).stream().filter(j -> !j.internal()).toList());
        int added = 0;
        int existed = 0;
        List<String> failures = new ArrayList<>();
        for (JobDef j : source) {
            try {
                JobDef match = findMatch(j, targetJobs);
                int id;
                if (match != null) {
                    targetJobs.remove(match);
                    id = match.id();
                    existed++;
                } else {
                    id = j.policy() ? addPolicy(src, tgt, j, timeTypes) : addJob(tgt, j, addJobArgs);
                    added++;
                }
                JobDef now = jobById(tgt, id);
                alterJob(tgt, j, now, alterArgs);
                LOG.info("policies: {} -> job {} on the target{}", j.describe(), id, match != null ? " (already there)" : "");
            } catch (SQLException | StepFailure e) {
                failures.add(j.describe() + ": " + e.getMessage());
            }
        }
        if (!failures.isEmpty()) {
            throw new StepFailure("policies: " + failures.size() + " of " + source.size() + " jobs could not be recreated on the target:\n  "
                    + String.join("\n  ", failures));
        }
        long policies = source.stream().filter(JobDef::policy).count();
        return policies + " policies, " + (source.size() - policies) + " custom jobs (" + added + " added, " + existed + " already there)";
    }

    /** The target's job that already stands for j: same policy on the same relation, or same procedure and config. */
    private static JobDef findMatch(JobDef j, List<JobDef> targetJobs) {
        for (JobDef t : targetJobs) {
            if (!t.procSchema().equals(j.procSchema()) || !t.procName().equals(j.procName())) continue;
            if (j.policy()) {
                if (java.util.Objects.equals(t.relSchema(), j.relSchema()) && java.util.Objects.equals(t.relName(), j.relName())) return t;
            } else if (java.util.Objects.equals(t.config(), j.config())) {
                return t;
            }
        }
        return null;
    }

    private static JobDef jobById(Connection tgt, int id) throws SQLException {
        for (JobDef t : TsCatalog.jobs(tgt)) if (t.id() == id) return t;
        throw new StepFailure("job " + id + " is not in timescaledb_information.jobs on the target");
    }

    /** Time column type of every hypertable and continuous aggregate (by its view name), by "schema.name". */
    static Map<String, String> timeTypes(Connection c) throws SQLException {
        Map<String, String> out = new LinkedHashMap<>();
        Map<String, List<Dim>> dims = TsCatalog.dimensions(c);
        dims.forEach((k, v) -> out.put(k, v.get(0).type()));
        for (CaggDef d : TsCatalog.caggs(c)) {
            List<Dim> m = dims.get(Sql.key(d.matSchema(), d.matName()));
            if (m != null && !m.isEmpty()) out.put(d.key(), m.get(0).type());
        }
        return out;
    }

    private static int addPolicy(Connection src, Connection tgt, JobDef j, Map<String, String> timeTypes) throws SQLException {
        if (j.relSchema() == null || j.relName() == null) throw new StepFailure("the policy names no hypertable or continuous aggregate");
        if (!relationExists(tgt, j.relSchema(), j.relName())) {
            throw new StepFailure(Pg.qualified(j.relSchema(), j.relName()) + " does not exist on the target");
        }
        String rel = Sql.regclass(j.relSchema(), j.relName());
        String type = timeTypes.getOrDefault(Sql.key(j.relSchema(), j.relName()), "timestamp with time zone");
        String sql = switch (j.procName()) {
            case "policy_refresh_continuous_aggregate" -> "SELECT add_continuous_aggregate_policy(" + rel
                    + ", start_offset => " + orNull(offset(src, j.config(), "start_offset", type), type)
                    + ", end_offset => " + orNull(offset(src, j.config(), "end_offset", type), type)
                    + ", schedule_interval => CAST(" + Pg.literal(j.scheduleInterval()) + " AS interval))";
            case "policy_retention" -> {
                String createdBefore = offset(src, j.config(), "drop_created_before", "interval");
                yield "SELECT add_retention_policy(" + rel + (createdBefore != null ? ", drop_created_before => " + createdBefore
                        : ", drop_after => " + orNull(offset(src, j.config(), "drop_after", type), type)) + ")";
            }
            case "policy_compression" -> {
                String createdBefore = offset(src, j.config(), "compress_created_before", "interval");
                yield "SELECT add_compression_policy(" + rel + (createdBefore != null ? ", compress_created_before => " + createdBefore
                        : ", compress_after => " + orNull(offset(src, j.config(), "compress_after", type), type)) + ")";
            }
            case "policy_reorder" -> "SELECT add_reorder_policy(" + rel + ", index_name => CAST("
                    + Pg.literal(jsonText(src, j.config(), "index_name")) + " AS name))";
            default -> throw new IllegalStateException(j.procName());
        };
        return Integer.parseInt(Sql.one(tgt, sql));
    }

    private static String orNull(String expr, String type) {
        return expr != null ? expr : "CAST(NULL AS " + (TsCatalog.INTEGER_TYPES.contains(type) ? type : "interval") + ")";
    }

    /** A config value as a SQL expression: a JSON string is an interval, a number the time column's integer type. */
    private static String offset(Connection c, String config, String key, String type) throws SQLException {
        Map<String, String> r = Sql.rows(c, "SELECT jsonb_typeof(CAST(? AS jsonb) -> ?) AS t, CAST(? AS jsonb) ->> ? AS v", config, key, config, key)
                .get(0);
        String t = r.get("t");
        if (t == null) return null;
        return switch (t) {
            case "null" -> null;
            case "number" -> "CAST(" + Pg.literal(r.get("v")) + " AS " + (TsCatalog.INTEGER_TYPES.contains(type) ? type : "bigint") + ")";
            default -> "CAST(" + Pg.literal(r.get("v")) + " AS interval)";
        };
    }

    private static String jsonText(Connection c, String config, String key) throws SQLException {
        String v = Sql.one(c, "SELECT CAST(? AS jsonb) ->> ?", config, key);
        if (v == null) throw new StepFailure("its config has no " + key + ": " + config);
        return v;
    }

    private static int addJob(Connection tgt, JobDef j, Set<String> args) throws SQLException {
        String proc = Pg.qualified(j.procSchema(), j.procName());
        // By oid: the name alone is ambiguous when overloaded; a job's own signature is (integer, jsonb).
        String oid = Sql.one(tgt, "SELECT p.oid::text FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
                + " WHERE n.nspname = ? AND p.proname = ? ORDER BY (p.proargtypes::regtype[] = ARRAY['integer', 'jsonb']::regtype[]) DESC, p.oid"
                + " LIMIT 1", j.procSchema(), j.procName());
        if (oid == null) throw new StepFailure("the procedure " + proc + " does not exist on the target (pre-data creates it)");
        StringBuilder sql = new StringBuilder("SELECT add_job(CAST(CAST(").append(oid).append(" AS oid) AS regproc), CAST(")
                .append(Pg.literal(j.scheduleInterval())).append(" AS interval)");
        if (j.config() != null) sql.append(", config => CAST(").append(Pg.literal(j.config())).append(" AS jsonb)");
        if (j.initialStart() != null && args.contains("initial_start")) {
            sql.append(", initial_start => CAST(").append(Pg.literal(j.initialStart())).append(" AS timestamptz)");
        }
        if (j.fixedSchedule() != null && args.contains("fixed_schedule")) sql.append(", fixed_schedule => ").append(j.fixedSchedule());
        if (j.checkName() != null && args.contains("check_config")) {
            sql.append(", check_config => ").append(Sql.regproc(j.checkSchema(), j.checkName()));
        }
        sql.append(", scheduled => ").append(j.scheduled()).append(")");
        return Integer.parseInt(Sql.one(tgt, sql.toString()));
    }

    /** alter_job for everything that differs from the source: schedule, limits, retries, scheduled, config (ids mapped), name. */
    private static void alterJob(Connection tgt, JobDef j, JobDef now, Set<String> args) throws SQLException {
        List<String> set = new ArrayList<>();
        if (j.scheduleInterval() != null && !j.scheduleInterval().equals(now.scheduleInterval())) {
            set.add("schedule_interval => CAST(" + Pg.literal(j.scheduleInterval()) + " AS interval)");
        }
        if (j.maxRuntime() != null && !j.maxRuntime().equals(now.maxRuntime())) {
            set.add("max_runtime => CAST(" + Pg.literal(j.maxRuntime()) + " AS interval)");
        }
        if (j.maxRetries() != now.maxRetries()) set.add("max_retries => " + j.maxRetries());
        if (j.retryPeriod() != null && !j.retryPeriod().equals(now.retryPeriod())) {
            set.add("retry_period => CAST(" + Pg.literal(j.retryPeriod()) + " AS interval)");
        }
        if (j.scheduled() != now.scheduled()) set.add("scheduled => " + j.scheduled());
        String config = mappedConfig(tgt, j.config(), now.config());
        if (config != null) set.add("config => CAST(" + Pg.literal(config) + " AS jsonb)");
        if (args.contains("fixed_schedule") && j.fixedSchedule() != null && !j.fixedSchedule().equals(now.fixedSchedule())) {
            set.add("fixed_schedule => " + j.fixedSchedule());
        }
        if (args.contains("initial_start") && j.initialStart() != null && !j.initialStart().equals(now.initialStart())) {
            set.add("initial_start => CAST(" + Pg.literal(j.initialStart()) + " AS timestamptz)");
        }
        if (args.contains("check_config") && j.checkName() != null && !j.policy()
                && !(j.checkName().equals(now.checkName()) && java.util.Objects.equals(j.checkSchema(), now.checkSchema()))) {
            set.add("check_config => " + Sql.regproc(j.checkSchema(), j.checkName()));
        }
        String name = customName(j);
        if (name != null && args.contains("job_name") && !name.equals(now.applicationName())) set.add("job_name => " + Pg.literal(name));
        if (set.isEmpty()) return;
        Sql.exec(tgt, "SELECT alter_job(" + now.id() + ", " + String.join(", ", set) + ")");
    }

    /** A name given with job_name, or null for TimescaleDB's own "<kind> [<job id>]". */
    private static String customName(JobDef j) {
        String n = j.applicationName();
        return n == null || n.endsWith(" [" + j.id() + "]") ? null : n;
    }

    /**
     * The source's config with the target's own ids in it (hypertable_id, mat_hypertable_id), or null when the
     * target's config is that already.
     */
    static String mappedConfig(Connection tgt, String source, String target) throws SQLException {
        if (source == null) return null;
        Map<String, String> r = Sql.rows(tgt, "SELECT m::text AS m, m = t AS same FROM (SELECT (s - 'hypertable_id' - 'mat_hypertable_id')"
                + " || jsonb_strip_nulls(jsonb_build_object('hypertable_id', t -> 'hypertable_id', 'mat_hypertable_id', t -> 'mat_hypertable_id'))"
                + " AS m, t FROM (SELECT CAST(? AS jsonb) AS s, coalesce(CAST(? AS jsonb), '{}') AS t) x) y", source, target).get(0);
        return Sql.bool(r.get("same")) ? null : r.get("m");
    }

    // ======================================================================================= preflight

    /**
     * Preflight: warnings for differing PG major / TimescaleDB versions, extensions missing on the target, and each
     * cagg holding buckets older than the oldest raw row of its hypertable (naming the time range at stake).
     */
    public static List<String> preflightWarnings(Connection source, Connection target) throws SQLException {
        List<String> w = new ArrayList<>();
        int sm = Pg.serverMajor(source);
        int tm = Pg.serverMajor(target);
        if (sm != tm) w.add("source is PostgreSQL " + sm + " and target " + tm + "; the procedure asks for the same major version on both");
        String sv = Pg.timescaleVersion(source);
        String tv = Pg.timescaleVersion(target);
        if (sv != null && tv == null) {
            w.add("the source has TimescaleDB " + sv + " but the target has none: hypertables, compression, continuous aggregates and"
                    + " policies will not be recreated (CREATE EXTENSION timescaledb on the target first)");
        } else if (sv != null && !sv.equals(tv)) {
            boolean major = !sv.split("\\.")[0].equals(tv.split("\\.")[0]);
            w.add("TimescaleDB " + (major ? "major versions differ" : "versions differ") + ": source " + sv + ", target " + tv
                    + "; the procedure asks for the same major version on both");
        }
        w.addAll(missingExtensions(source, target));
        if (sv != null) w.addAll(caggsAtStake(source));
        return w;
    }

    private static List<String> missingExtensions(Connection source, Connection target) throws SQLException {
        List<String> w = new ArrayList<>();
        Set<String> installed = new java.util.HashSet<>();
        for (Map<String, String> r : Sql.rows(target, "SELECT extname FROM pg_catalog.pg_extension")) installed.add(r.get("extname"));
        Set<String> available = new java.util.HashSet<>();
        for (Map<String, String> r : Sql.rows(target, "SELECT name FROM pg_catalog.pg_available_extensions")) available.add(r.get("name"));
        for (Map<String, String> r : Sql.rows(source, "SELECT extname, extversion FROM pg_catalog.pg_extension ORDER BY 1")) {
            String name = r.get("extname");
            if (installed.contains(name)) continue;
            String create = "CREATE EXTENSION " + Pg.ident(name);
            // pre-data's dump creates the extensions it holds: only the role's rights can stop it (TimescaleDB aside,
            // which the procedure installs first, and whose dump entry only works on a target that has it)
            w.add("extension " + name + " " + r.get("extversion") + " is installed on the source but not on the target"
                    + (!available.contains(name) ? ", and the target server does not offer it: objects that use it will fail to restore"
                            : name.equals("timescaledb") ? "; run " + create + " on the target first"
                            : "; pre-data creates it if the migrating role may (a superuser, or the database owner for a trusted"
                                    + " extension); if not, run " + create + " on the target first"));
        }
        return w;
    }

    /**
     * The procedure's warning: recreated caggs are computed from the raw rows on the target, so buckets older than the
     * oldest raw row (raw data dropped by a retention policy, say) are lost.
     */
    static List<String> caggsAtStake(Connection c) throws SQLException {
        List<String> w = new ArrayList<>();
        List<CaggDef> caggs = TsCatalog.caggs(c);
        if (caggs.isEmpty()) return w;
        Map<String, List<Dim>> dims = TsCatalog.dimensions(c);
        Map<String, String> userName = TsCatalog.userNames(caggs);
        for (CaggDef d : caggs) {
            List<Dim> md = dims.get(Sql.key(d.matSchema(), d.matName()));
            List<Dim> rd = dims.get(Sql.key(d.rawSchema(), d.rawName()));
            if (md == null || rd == null || md.isEmpty() || rd.isEmpty()) continue;
            String rawKey = Sql.key(d.rawSchema(), d.rawName());
            // A cagg on a cagg reads its parent's view; the columns are the same as its materialization hypertable's.
            String parent = userName.get(rawKey);
            CaggDef p = parent == null ? null : caggs.stream().filter(x -> x.key().equals(parent)).findFirst().orElse(null);
            String raw = p != null ? p.qualified() : Pg.qualified(d.rawSchema(), d.rawName());
            String b = Pg.ident(md.get(0).column());
            String t = Pg.ident(rd.get(0).column());
            String sql = "WITH r AS (SELECT min(" + t + ") AS m FROM " + raw + "),"
                    + " cut AS (SELECT coalesce((SELECT max(" + b + ") FROM " + d.qualified() + ", r WHERE " + b + " <= r.m), r.m) AS x FROM r)"
                    + " SELECT count(*) AS n, min(" + b + ")::text AS lo, max(" + b + ")::text AS hi, (SELECT m::text FROM r) AS m"
                    + " FROM " + d.qualified() + ", cut WHERE cut.x IS NULL OR " + b + " < cut.x";
            Map<String, String> r;
            try {
                r = Sql.rows(c, sql).get(0);
            } catch (SQLException e) {
                w.add("could not check continuous aggregate " + d.qualified() + " against its raw data: " + e.getMessage());
                continue;
            }
            if ("0".equals(r.get("n"))) continue;
            String rawName = p != null ? p.qualified() : Pg.qualified(d.rawSchema(), d.rawName());
            w.add("continuous aggregate " + d.qualified() + " holds " + r.get("n") + " bucket(s) from " + r.get("lo") + " to " + r.get("hi")
                    + (r.get("m") == null ? ", and " + rawName + " holds no rows at all"
                            : ", older than the oldest row of " + rawName + " (" + r.get("m") + ")")
                    + ": the target recomputes it from the rows it gets, so those buckets will be lost");
        }
        return w;
    }

    /**
     * For preflight (before anything is written): the job's hypertables section checked against the source (table,
     * column, type, interval, unique constraints that would refuse the hypertable) and the target (TimescaleDB).
     */
    public static void validateConfig(Connection source, Connection target, JobConfig cfg) throws SQLException {
        if (cfg.hypertables.isEmpty()) return;
        if (!TsCatalog.hasTimescale(target)) {
            throw new UserError("The job asks for hypertables (" + String.join(", ", cfg.hypertables.keySet()) + ") but the target has no"
                    + " TimescaleDB extension.", "Run CREATE EXTENSION timescaledb in the target database first, or remove the hypertables section.");
        }
        for (Map.Entry<String, JobConfig.HypertableSpec> e : cfg.hypertables.entrySet()) {
            String key = e.getKey();
            String[] table = findTable(source, key);
            if (table == null) {
                throw new UserError("hypertables names the table '" + key + "', which does not exist in the source.",
                        "Write it as schema.table, unquoted, exactly as in the source (e.g. public.metrics).");
            }
            String type = columnType(source, table[0], table[1], e.getValue().timeColumn);
            if (e.getValue().timeColumn == null || type == null) {
                throw new UserError("hypertables: the time column '" + e.getValue().timeColumn + "' of " + key + " does not exist.",
                        "Set timeColumn to one of the table's columns: " + String.join(", ", columnNames(source, table[0], table[1])) + ".");
            }
            Dim d = specDim(key, e.getValue(), type);
            if (d.timeInterval() != null) {
                tsmigrate.plan.Planner.validateInterval(source, d.timeInterval());
            }
            for (Map<String, String> r : Sql.rows(source, "SELECT ci.relname FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ci ON ci.oid = i.indexrelid"
                    + " WHERE i.indrelid = CAST(? AS regclass) AND i.indisunique AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a"
                    + " WHERE a.attrelid = i.indrelid AND a.attname = ? AND a.attnum = ANY (i.indkey))",
                    Pg.qualified(table[0], table[1]), e.getValue().timeColumn)) {
                throw new UserError("hypertables: " + key + " has the unique index or constraint " + r.get("relname") + " without its time column '"
                        + e.getValue().timeColumn + "'; TimescaleDB refuses it on a hypertable, so post-data would fail.",
                        "Add the time column to that key in the source first, or do not make " + key + " a hypertable.");
            }
        }
    }

    // ======================================================================================= helpers

    private static boolean relationExists(Connection c, String schema, String name) throws SQLException {
        return Sql.one(c, "SELECT 1 FROM pg_catalog.pg_class cl JOIN pg_catalog.pg_namespace n ON n.oid = cl.relnamespace"
                + " WHERE n.nspname = ? AND cl.relname = ?", schema, name) != null;
    }

    /** {schema, table} of a plain or partitioned table named "schema.table" (unquoted), or null. */
    private static String[] findTable(Connection c, String key) throws SQLException {
        List<Map<String, String>> r = Sql.rows(c, "SELECT n.nspname, cl.relname FROM pg_catalog.pg_class cl JOIN pg_catalog.pg_namespace n"
                + " ON n.oid = cl.relnamespace WHERE cl.relkind IN ('r', 'p') AND n.nspname || '.' || cl.relname = ?", key);
        return r.isEmpty() ? null : new String[] {r.get(0).get("nspname"), r.get(0).get("relname")};
    }

    private static String columnType(Connection c, String schema, String table, String column) throws SQLException {
        if (column == null) return null;
        return Sql.one(c, "SELECT pg_catalog.format_type(a.atttypid, NULL) FROM pg_catalog.pg_attribute a WHERE a.attrelid = CAST(? AS regclass)"
                + " AND a.attname = ? AND a.attnum > 0 AND NOT a.attisdropped", Pg.qualified(schema, table), column);
    }

    private static List<String> columnNames(Connection c, String schema, String table) throws SQLException {
        List<String> out = new ArrayList<>();
        for (Map<String, String> r : Sql.rows(c, "SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = CAST(? AS regclass) AND attnum > 0"
                + " AND NOT attisdropped ORDER BY attnum", Pg.qualified(schema, table))) {
            out.add(r.get("attname"));
        }
        return out;
    }
}
