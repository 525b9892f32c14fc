package tsmigrate.timescale;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The source's hypertables and their chunks, for the plan: each source chunk (time range) becomes one chunk file.
 * <p>
 * Use a range as {@code col >= CAST(start AS timeType) AND col < CAST(end AS timeType)}, leaving out the side
 * whose bound is null. Read the hypertable without ONLY: its rows live in its chunks, and reading a compressed
 * chunk through the hypertable decompresses it.
 */
public final class SourceHypertables {
    private SourceHypertables() {
    }

    /**
     * @param timeColumn the primary (time) dimension's column
     * @param timeType its type as PostgreSQL names it, e.g. "timestamp with time zone", "bigint"
     * @param chunks the distinct time ranges of its chunks, in time order; several chunks share one range when
     *               the hypertable also has a space (hash) dimension. Empty when the hypertable has no chunk, or
     *               when its time type is not one of timestamptz, timestamp, date, smallint, integer, bigint
     *               (custom partitioning): copy it whole then.
     */
    public record Hypertable(String schema, String table, String timeColumn, String timeType, List<ChunkRange> chunks) {
        /** Integer time (smallint, integer, bigint): the bounds are numbers. */
        public boolean integerTime() {
            return TsCatalog.INTEGER_TYPES.contains(timeType);
        }

        public String key() {
            return schema + "." + table;
        }
    }

    /**
     * One source chunk's time range: [start, end) as SQL literals of the time column's type (quoted with
     * tsmigrate.db.Pg.literal, e.g. '2024-01-01 00:00:00+00', or plain numbers for integer time), always inside the
     * type's range. A null bound means the range is open on that side (TimescaleDB's outermost integer chunks reach
     * to the int64 limits). {@code compressed} is true when every source chunk in this range is compressed.
     */
    public record ChunkRange(String start, String end, boolean compressed) {
    }

    /** The source's hypertables by "schema.table" (unquoted). Empty map when the source has no TimescaleDB. */
    public static Map<String, Hypertable> read(Connection source) throws SQLException {
        Map<String, Hypertable> out = new LinkedHashMap<>();
        if (!TsCatalog.hasTimescale(source)) return out;
        Map<String, List<TsCatalog.Dim>> dims = TsCatalog.dimensions(source);
        for (Map<String, String> h : Sql.rows(source, "SELECT hypertable_schema, hypertable_name FROM timescaledb_information.hypertables"
                + " ORDER BY 1, 2")) {
            String schema = h.get("hypertable_schema");
            String table = h.get("hypertable_name");
            List<TsCatalog.Dim> d = dims.get(Sql.key(schema, table));
            if (d == null || d.isEmpty()) continue;
            TsCatalog.Dim time = d.get(0);
            out.put(Sql.key(schema, table), new Hypertable(schema, table, time.column(), time.type(), ranges(source, schema, table, time.type())));
        }
        return out;
    }

    /** The distinct chunk ranges of one hypertable (works on either side). */
    static List<ChunkRange> ranges(Connection c, String schema, String table, String type) throws SQLException {
        List<ChunkRange> out = new ArrayList<>();
        String start = boundText(type, "range_start", "range_start_integer", true);
        String end = boundText(type, "range_end", "range_end_integer", false);
        if (start == null) return out;
        String order = TsCatalog.INTEGER_TYPES.contains(type) ? "min(range_start_integer)" : "min(range_start)";
        for (Map<String, String> r : Sql.rows(c, "SELECT " + start + " AS s, " + end + " AS e, bool_and(is_compressed) AS z"
                + " FROM timescaledb_information.chunks WHERE hypertable_schema = ? AND hypertable_name = ?"
                + " GROUP BY 1, 2 ORDER BY " + order + ", 2", schema, table)) {
            boolean integer = TsCatalog.INTEGER_TYPES.contains(type);
            out.add(new ChunkRange(bound(r.get("s"), integer), bound(r.get("e"), integer), Sql.bool(r.get("z"))));
        }
        return out;
    }

    private static String bound(String text, boolean integer) {
        return text == null ? null : integer ? text : tsmigrate.db.Pg.literal(text);
    }

    /**
     * SQL text of a chunk bound (columns of timescaledb_information.chunks) in the time column's type, independent of
     * the session's DateStyle and TimeZone, or NULL when the range is open on that side. The view gives timestamp
     * and date bounds as the timestamptz of the same UTC instant (TimescaleDB keeps them as microseconds, UTC).
     * Null for unsupported types.
     */
    static String boundText(String type, String tsCol, String intCol, boolean start) {
        if (TsCatalog.INTEGER_TYPES.contains(type)) {
            // TimescaleDB's outermost slices reach to the int64 limits: beyond the column's own range means open.
            String[] lim = switch (type) {
                case "smallint" -> new String[] {"-32768", "32767"};
                case "integer" -> new String[] {"-2147483648", "2147483647"};
                default -> new String[] {"(-9223372036854775807 - 1)", "9223372036854775807"};
            };
            return start ? "CASE WHEN " + intCol + " > " + lim[0] + " THEN " + intCol + "::text END"
                    : "CASE WHEN " + intCol + " < " + lim[1] + " THEN " + intCol + "::text END";
        }
        if (!TsCatalog.TIME_TYPES.contains(type)) return null;
        String utc = "(" + tsCol + " AT TIME ZONE 'UTC')";
        String bc = " || CASE WHEN " + utc + " < TIMESTAMP '0001-01-01' THEN ' BC' ELSE '' END";
        String text = "regexp_replace(to_char(" + utc + ", 'YYYY-MM-DD HH24:MI:SS.US'), '\\.000000$', '')";
        String value = switch (type) {
            case "timestamp with time zone" -> text + " || '+00'" + bc;
            case "timestamp without time zone" -> text + bc;
            // A date d is in [s, e) exactly when d >= the first whole day at or after s (and likewise for e).
            default -> "to_char(CASE WHEN " + utc + "::time = TIME '00:00' THEN " + utc + "::date ELSE " + utc + "::date + 1 END, 'YYYY-MM-DD')"
                    + " || CASE WHEN " + utc + " < TIMESTAMP '0001-01-01' THEN ' BC' ELSE '' END";
        };
        return "CASE WHEN isfinite(" + tsCol + ") THEN " + value + " END";
    }
}
