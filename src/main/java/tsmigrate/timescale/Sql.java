package tsmigrate.timescale;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import tsmigrate.db.Pg;

/** Small JDBC helpers: rows as maps of text, parameters always bound, names always quoted by the driver. */
final class Sql {
    private Sql() {
    }

    /** Every row as column label -> text (NULL stays null). */
    static List<Map<String, String>> rows(Connection c, String sql, Object... params) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) ps.setObject(i + 1, params[i]);
            try (ResultSet rs = ps.executeQuery()) {
                ResultSetMetaData md = rs.getMetaData();
                List<Map<String, String>> out = new ArrayList<>();
                while (rs.next()) {
                    Map<String, String> row = new LinkedHashMap<>();
                    for (int i = 1; i <= md.getColumnCount(); i++) row.put(md.getColumnLabel(i), rs.getString(i));
                    out.add(row);
                }
                return out;
            }
        }
    }

    /** The first column of the first row, or null. */
    static String one(Connection c, String sql, Object... params) throws SQLException {
        List<Map<String, String>> r = rows(c, sql, params);
        return r.isEmpty() ? null : r.get(0).values().iterator().next();
    }

    static void exec(Connection c, String sql) throws SQLException {
        Pg.exec(c, sql);
    }

    /** The columns a view or table has, empty when it does not exist: the information views differ between versions. */
    static Set<String> columns(Connection c, String schema, String relation) throws SQLException {
        Set<String> out = new LinkedHashSet<>();
        for (Map<String, String> r : rows(c, "SELECT a.attname FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class cl ON cl.oid = a.attrelid"
                + " JOIN pg_catalog.pg_namespace n ON n.oid = cl.relnamespace WHERE n.nspname = ? AND cl.relname = ? AND a.attnum > 0"
                + " AND NOT a.attisdropped ORDER BY a.attnum", schema, relation)) {
            out.add(r.get("attname"));
        }
        return out;
    }

    /** "col" when the view has it, else "NULL AS col": one query text for every TimescaleDB 2.x version. */
    static String col(Set<String> have, String name) {
        return have.contains(name) ? Pg.ident(name) : "NULL AS " + Pg.ident(name);
    }

    /** The argument names of a function in schema public (TimescaleDB's API), empty when it does not exist. */
    static Set<String> functionArgs(Connection c, String name) throws SQLException {
        Set<String> out = new LinkedHashSet<>();
        for (Map<String, String> r : rows(c, "SELECT unnest(p.proargnames) AS arg FROM pg_catalog.pg_proc p"
                + " JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace JOIN pg_catalog.pg_extension e ON e.extnamespace = n.oid"
                + " WHERE e.extname = 'timescaledb' AND p.proname = ?", name)) {
            if (r.get("arg") != null) out.add(r.get("arg"));
        }
        return out;
    }

    /** A relation name for a regclass parameter: 'schema.name' quoted, cast. */
    static String regclass(String schema, String name) {
        return "CAST(" + Pg.literal(Pg.qualified(schema, name)) + " AS regclass)";
    }

    static String regproc(String schema, String name) {
        return "CAST(" + Pg.literal(Pg.qualified(schema, name)) + " AS regproc)";
    }

    static String key(String schema, String name) {
        return schema + "." + name;
    }

    static boolean bool(String s) {
        return "t".equals(s) || "true".equals(s);
    }
}
