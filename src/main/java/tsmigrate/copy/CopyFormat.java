package tsmigrate.copy;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import tsmigrate.plan.TableInfo;

/**
 * Which COPY format a table travels in. Binary costs both servers far less CPU than CSV (no number, date or
 * float text to print and parse again: about a third less for a typical time-series row), but it is only
 * exact when both sides read the bytes the same way: the same PostgreSQL major version, and column types
 * whose binary form holds no object ids of the source. So {@code auto} picks binary only for tables whose
 * every column is a built-in type with binary I/O (or an array or domain of one), and CSV for the rest.
 */
public final class CopyFormat {
    /** PostgreSQL's FirstNormalObjectId: every type below it is built in, with the same OID on any server of a major. */
    static final int FIRST_USER_OID = 16384;

    /**
     * Built-in types whose binary input refuses values their binary output writes: an empty tsquery, an empty
     * int2vector or oidvector (a one-dimension array input), and the statistics and plan types, whose input always
     * refuses. Tables with such columns travel as CSV.
     */
    static final List<String> NO_BINARY_READ_BACK = List.of("tsquery", "int2vector", "oidvector", "pg_node_tree", "pg_ndistinct",
            "pg_dependencies", "pg_mcv_list");

    private CopyFormat() {
    }

    /**
     * Settles {@code t.copyFormat} ("csv" or "binary") for the configured format ("csv", "binary" or "auto"),
     * and {@code t.fingerprintFormat}: the format the rows are hashed in for verification. It is CSV when a
     * forced binary copy includes columns whose binary form carries source OIDs: their bytes differ on the
     * target even when the values are equal. Returns a warning for that case, or null.
     */
    public static String resolve(String configured, int sourceMajor, int targetMajor, Connection src, TableInfo t) throws SQLException {
        if (configured.equals("csv")) {
            t.fingerprintFormat = "csv";
            t.copyFormat = "csv";
            return null;
        }
        boolean sameMajor = sourceMajor != 0 && sourceMajor == targetMajor;
        // auto across majors is CSV whatever the columns: no need to ask the catalog
        List<String> reasons = configured.equals("auto") && !sameMajor ? List.of() : csvReasons(src, t);
        if (configured.equals("auto")) {
            String f = sameMajor && reasons.isEmpty() ? "binary" : "csv";
            t.fingerprintFormat = f;
            t.copyFormat = f;
            return null;
        }
        t.fingerprintFormat = reasons.isEmpty() ? "binary" : "csv";
        t.copyFormat = "binary";
        return reasons.isEmpty() ? null : t.qualified() + " is copied in binary (--format binary) although its column(s) "
                + String.join(", ", reasons) + " carry the source's type OIDs in that form, or hold values that binary input"
                + " refuses; --format auto would copy it as CSV";
    }

    /**
     * The copied columns that rule binary out, as "name (type)"; empty when every column qualifies. reg* types are out
     * because their binary form is the referenced object's OID, which differs on the target; NO_BINARY_READ_BACK too.
     */
    static List<String> csvReasons(Connection src, TableInfo t) throws SQLException {
        String sql = """
                SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod)
                FROM pg_catalog.pg_attribute a
                JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid
                LEFT JOIN pg_catalog.pg_type dom ON ty.typtype = 'd' AND dom.oid = ty.typbasetype
                CROSS JOIN LATERAL (SELECT CASE WHEN ty.typtype = 'd' THEN dom.oid ELSE ty.oid END AS oid) b
                JOIN pg_catalog.pg_type bt ON bt.oid = b.oid
                LEFT JOIN pg_catalog.pg_type el ON bt.typcategory = 'A' AND el.oid = bt.typelem
                WHERE a.attrelid = ? AND a.attnum > 0 AND NOT a.attisdropped AND a.attname::text = ANY (CAST(? AS text[]))
                  AND NOT (bt.oid < ? AND bt.typsend <> 0 AND bt.typreceive <> 0
                           AND bt.typcategory <> 'C' AND bt.typtype IN ('b', 'r', 'm')
                           AND bt.typnamespace = 'pg_catalog'::regnamespace
                           AND bt.typname NOT LIKE 'reg%' AND bt.typname <> ALL (CAST(? AS text[]))
                           AND (el.oid IS NULL OR (el.oid < ? AND el.typsend <> 0 AND el.typreceive <> 0
                                AND el.typtype IN ('b', 'r', 'm') AND el.typname NOT LIKE 'reg%'
                                AND el.typname <> ALL (CAST(? AS text[])))))
                ORDER BY a.attnum""";
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = src.prepareStatement(sql)) {
            ps.setLong(1, t.oid > 0 ? t.oid : oid(src, t));
            ps.setArray(2, src.createArrayOf("text", t.columns.toArray()));
            ps.setInt(3, FIRST_USER_OID);
            ps.setArray(4, src.createArrayOf("text", NO_BINARY_READ_BACK.toArray()));
            ps.setInt(5, FIRST_USER_OID);
            ps.setArray(6, src.createArrayOf("text", NO_BINARY_READ_BACK.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) out.add(rs.getString(1) + " (" + rs.getString(2) + ")");
            }
        }
        return out;
    }

    /** A table restored from the state store has no OID yet: look it up by name. */
    private static long oid(Connection src, TableInfo t) throws SQLException {
        try (PreparedStatement ps = src.prepareStatement("SELECT CAST(CAST(? AS pg_catalog.regclass) AS pg_catalog.oid)")) {
            ps.setString(1, t.qualified());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }
}
