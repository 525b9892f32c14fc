package tsmigrate.it;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.postgresql.core.Utils;

/**
 * Test helper: reads a database into plain, comparable Java values (table rows as text, sequence
 * positions, a filtered schema-only dump), so that a source and a migrated target can be compared
 * with {@code assertEquals}.
 *
 * <p>Every method first puts the session into fixed output settings (UTC, ISO dates, postgres
 * intervals, shortest-exact floats, hex bytea); these {@code SET}s stay in effect on the given
 * connection afterwards.
 */
public final class DbCompare {

    /** Schemas never compared: catalogs, TOAST/temp, TimescaleDB internals, tsmigrate's bookkeeping. */
    private static final String USER_SCHEMA_FILTER =
            "n.nspname NOT IN ('pg_catalog', 'information_schema', 'tsmigrate')"
            + " AND n.nspname NOT LIKE 'pg\\_toast%'"
            + " AND n.nspname NOT LIKE 'pg\\_temp\\_%'"
            + " AND n.nspname NOT LIKE '\\_timescaledb%'"
            + " AND n.nspname NOT LIKE 'timescaledb\\_%'";

    private static final String[] SESSION_SETTINGS = {
        "SET TimeZone = 'UTC'",
        "SET DateStyle = 'ISO, YMD'",
        "SET IntervalStyle = 'postgres'",
        "SET extra_float_digits = 3",
        "SET bytea_output = 'hex'",
    };

    private DbCompare() {
    }

    /** Puts the session into the fixed output settings used for all comparisons. */
    public static void prepareSession(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            for (String s : SESSION_SETTINGS) {
                st.execute(s);
            }
        }
    }

    /**
     * Every user table with storage (relkind 'r': plain tables, partitions, inheritance children),
     * as {@code "schema"."table"}, sorted.
     */
    public static List<String> userTables(Connection c) throws SQLException {
        prepareSession(c);
        return quotedNames(c, "r");
    }

    /**
     * The rows of one table (its own rows only, not those of inheritance children or partitions,
     * which are listed as tables of their own) as {@code record_out} text, sorted by Java String order.
     *
     * <p>Exception: a TimescaleDB hypertable keeps its rows in chunks in {@code _timescaledb_internal},
     * which {@link #userTables} leaves out, so a hypertable is read with its chunks (without ONLY).
     */
    public static List<String> rowsAsText(Connection c, String quotedTable) throws SQLException {
        prepareSession(c);
        String only = isHypertable(c, quotedTable) ? "" : "ONLY ";
        // ROW(x.*) always expands the relation alias, even if the table has a column with the alias's name.
        String sql = "SELECT ROW(dbcompare_row.*)::text FROM " + only + quotedTable + " AS dbcompare_row";
        List<String> rows = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                rows.add(rs.getString(1));
            }
        }
        Collections.sort(rows);
        return rows;
    }

    /** Table ({@code "schema"."table"}) to its sorted rows as text, for every user table. */
    public static Map<String, List<String>> allRows(Connection c) throws SQLException {
        Map<String, List<String>> all = new LinkedHashMap<>();
        for (String t : userTables(c)) {
            all.put(t, rowsAsText(c, t));
        }
        return all;
    }

    /**
     * Every sequence (standalone, serial and identity) as {@code "schema"."seq"} to
     * {@code last_value + "/" + is_called}, e.g. {@code "public"."s" -> "42/false"}.
     */
    public static Map<String, String> sequencePositions(Connection c) throws SQLException {
        prepareSession(c);
        Map<String, String> out = new TreeMap<>();
        for (String seq : quotedNames(c, "S")) {
            try (Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT last_value, is_called FROM " + seq)) {
                rs.next();
                out.put(seq, rs.getString(1) + "/" + rs.getBoolean(2));
            }
        }
        return out;
    }

    /**
     * {@code pg_dump -s --no-owner} of the database at {@code uri}, with comments, blank lines,
     * {@code SET}/{@code set_config} lines, pg_dump's per-run "restrict"/"unrestrict" psql meta-command
     * lines and every statement about schema {@code tsmigrate} left out.
     *
     * <p>The password is removed from the URI and passed in {@code PGPASSWORD} (never in argv);
     * if {@code password} is null, a password found in the URI is used. {@code PGTZ=UTC} is set so
     * that timestamptz constants (partition bounds, defaults, view bodies) print the same on any server.
     */
    public static String schemaDump(String pgDumpPath, String uri, String password) throws IOException, InterruptedException {
        String[] split = splitPassword(uri);
        String safeUri = split[0];
        String pw = password != null ? password : split[1];

        ProcessBuilder pb = new ProcessBuilder(pgDumpPath, "-s", "--no-owner", "-d", safeUri);
        pb.environment().remove("PGPASSWORD");
        if (pw != null) {
            pb.environment().put("PGPASSWORD", pw);
        }
        pb.environment().put("PGTZ", "UTC");
        pb.environment().put("PGCLIENTENCODING", "UTF8");
        Path err = Files.createTempFile("dbcompare-pgdump", ".err");
        String out;
        int rc;
        try {
            pb.redirectError(err.toFile());
            pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            Process p = pb.start();
            try (InputStream in = p.getInputStream()) {
                out = readAll(in);
            }
            if (!p.waitFor(10, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IOException("pg_dump did not finish within 10 minutes");
            }
            rc = p.exitValue();
            if (rc != 0) {
                String stderr = Files.readString(err, StandardCharsets.UTF_8);
                throw new IOException("pg_dump exited with " + rc + ": " + stderr.strip());
            }
        } finally {
            Files.deleteIfExists(err);
        }
        return filterDump(out);
    }

    /** The filtering used by {@link #schemaDump}, exposed for tests of the helper itself. */
    static String filterDump(String dump) {
        StringBuilder kept = new StringBuilder();
        for (String line : dump.replace("\r\n", "\n").split("\n", -1)) {
            String l = line.strip();
            if (l.isEmpty()
                    || l.startsWith("--")
                    || l.startsWith("SET ")
                    || l.startsWith("SELECT pg_catalog.set_config(")
                    || l.startsWith("\\restrict")
                    || l.startsWith("\\unrestrict")) {
                continue;
            }
            kept.append(line).append('\n');
        }
        Pattern aboutTsmigrate = Pattern.compile(
                "(?is).*(\\bSCHEMA\\s+(tsmigrate|\"tsmigrate\")(\\s|;|$)|(?<![\\w\".])(tsmigrate|\"tsmigrate\")\\.).*");
        StringBuilder result = new StringBuilder();
        for (String stmt : kept.toString().split(";\n", -1)) {
            if (stmt.isEmpty() || aboutTsmigrate.matcher(stmt).matches()) {
                continue;
            }
            result.append(stmt).append(";\n");
        }
        return result.toString();
    }

    // -----------------------------------------------------------------------------------------

    private static List<String> quotedNames(Connection c, String relkind) throws SQLException {
        String sql = "SELECT n.nspname, cl.relname FROM pg_catalog.pg_class cl"
                + " JOIN pg_catalog.pg_namespace n ON n.oid = cl.relnamespace"
                + " WHERE cl.relkind = '" + relkind + "' AND " + USER_SCHEMA_FILTER;
        List<String> names = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                names.add(quote(rs.getString(1), rs.getString(2)));
            }
        }
        Collections.sort(names);
        return names;
    }

    static String quote(String schema, String name) throws SQLException {
        StringBuilder sb = new StringBuilder();
        Utils.escapeIdentifier(sb, schema);
        sb.append('.');
        Utils.escapeIdentifier(sb, name);
        return sb.toString();
    }

    private static boolean isHypertable(Connection c, String quotedTable) throws SQLException {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT to_regclass('_timescaledb_catalog.hypertable') IS NOT NULL")) {
            rs.next();
            if (!rs.getBoolean(1)) {
                return false;
            }
        }
        StringBuilder lit = new StringBuilder();
        Utils.escapeLiteral(lit, quotedTable, true);
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery(
                     "SELECT EXISTS (SELECT 1 FROM _timescaledb_catalog.hypertable h"
                     + " WHERE format('%I.%I', h.schema_name, h.table_name)::regclass = '"
                     + lit + "'::regclass)")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    private static final Pattern URI_USERINFO = Pattern.compile("^(postgres(?:ql)?://)([^@/?#]*)@(.*)$", Pattern.DOTALL);
    private static final Pattern URI_PASSWORD_PARAM = Pattern.compile("([?&])password=([^&#]*)&?");

    /** {uri without its password, the percent-decoded password or null}. */
    static String[] splitPassword(String uri) {
        String pw = null;
        String u = uri;
        Matcher m = URI_USERINFO.matcher(u);
        if (m.matches()) {
            String userInfo = m.group(2);
            int colon = userInfo.indexOf(':');
            if (colon >= 0) {
                pw = decode(userInfo.substring(colon + 1));
                u = m.group(1) + userInfo.substring(0, colon) + "@" + m.group(3);
            }
        }
        Matcher q = URI_PASSWORD_PARAM.matcher(u);
        if (q.find()) {
            pw = decode(q.group(2));
            u = u.substring(0, q.start()) + q.group(1) + u.substring(q.end());
            if (u.endsWith("?") || u.endsWith("&")) {
                u = u.substring(0, u.length() - 1);
            }
        }
        return new String[] {u, pw};
    }

    private static String decode(String s) {
        return java.net.URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    private static String readAll(InputStream in) {
        try {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            in.transferTo(buf);
            return buf.toString(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
