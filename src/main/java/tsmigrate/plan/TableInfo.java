package tsmigrate.plan;

import java.nio.charset.StandardCharsets;
import java.util.List;

import tsmigrate.db.Pg;

/** One source table whose rows are copied (a plain table, a partition leaf, or an inheritance member). */
public final class TableInfo {
    public final String schema;
    public final String name;
    public final long oid;
    /** Columns that receive data, in source order; generated columns are left out because the target computes them. */
    public final List<String> columns;
    public final long estimatedRows;
    public final long bytes;
    /** How the table was split, in words, for the plan file and the logs. */
    public String split = "one chunk";
    /** Position in the plan; the state store's key for the table. */
    public int number;
    /** The time column the table was split on, its type, and its largest finite value at plan time. */
    public String timeColumn;
    public String timeType;
    /**
     * A TimescaleDB hypertable keeps its rows in chunk tables: it is read without ONLY on the side where it is
     * one (everywhere else ONLY keeps inheritance children from being counted twice).
     */
    public volatile boolean hypertableOnSource;
    public volatile boolean hypertableOnTarget;
    /** The COPY format this table travels in ("csv" or "binary"), settled on first use (see copy.CopyFormat). */
    public volatile String copyFormat;
    /** The format its rows are hashed in for verification: the copy format, or csv where binary is not comparable. */
    public volatile String fingerprintFormat;
    /** Rows with a time above this were not copied yet: --catch-up copies them. */
    public String highWater;
    /** A partition's partitioned ancestors as {schema, table}, nearest first (timeColumns may name any of them); else empty. */
    public final List<String[]> ancestors = new java.util.ArrayList<>();

    public TableInfo(String schema, String name, long oid, List<String> columns, long estimatedRows, long bytes) {
        this.schema = schema;
        this.name = name;
        this.oid = oid;
        this.columns = columns;
        this.estimatedRows = estimatedRows;
        this.bytes = bytes;
    }

    public String qualified() {
        return Pg.qualified(schema, name);
    }

    /**
     * qualified(), for people: a control character in a name (a newline, say) is written as an escape (\\n, \\u0007),
     * so that it cannot split a log line or a table row, or forge one.
     */
    public String shown() {
        return shown(qualified());
    }

    public static String shown(String text) {
        return escaped(text, false);
    }

    /**
     * A message for the console or a log, whose lines stay lines: control characters other than newline and tab
     * escaped, as shown() does (the server's own words repeat a name as it is: ESC [2J in one cleared the screen).
     */
    public static String printable(String text) {
        return text == null ? null : escaped(text, true);
    }

    private static String escaped(String text, boolean keepLines) {
        StringBuilder out = null;
        for (int i = 0; i < text.length(); i++) {
            char ch = text.charAt(i);
            boolean control = (Character.isISOControl(ch) || ch == '\u2028' || ch == '\u2029') && !(keepLines && (ch == '\n' || ch == '\t'));
            if (control && out == null) out = new StringBuilder(text.substring(0, i));
            if (out == null) continue;
            if (!control) out.append(ch);
            else if (ch == '\n') out.append("\\n");
            else if (ch == '\r') out.append("\\r");
            else if (ch == '\t') out.append("\\t");
            else out.append(String.format("\\u%04x", (int) ch));
        }
        return out == null ? text : out.toString();
    }

    /** schema.table as people write it when nothing needs quoting; used in config keys and patterns. */
    public String key() {
        return schema + "." + name;
    }

    /**
     * The time column configured for this table, or else for its nearest partitioned ancestor that has one; or null.
     * A column written double-quoted, as in SQL ("Event Time"), is that name; otherwise it is taken as written.
     */
    public String configuredTimeColumn(java.util.Map<String, String> timeColumns) {
        String own = timeColumnOf(timeColumns, schema, name);
        for (int i = 0; own == null && i < ancestors.size(); i++) own = timeColumnOf(timeColumns, ancestors.get(i)[0], ancestors.get(i)[1]);
        if (own != null && own.length() >= 2 && own.startsWith("\"") && own.endsWith("\"")) {
            own = own.substring(1, own.length() - 1).replace("\"\"", "\"");
        }
        return own;
    }

    private static String timeColumnOf(java.util.Map<String, String> timeColumns, String schema, String name) {
        for (var e : timeColumns.entrySet()) if (names(e.getKey(), schema, name)) return e.getValue();
        return null;
    }

    /**
     * Whether a timeColumns key names the table: schema.table as written, or, when it has double quotes, read as a
     * table pattern ("a.b".c for a table c in schema a.b; unquoted, a.b.c would name a."b.c" as well).
     */
    public static boolean names(String key, String schema, String name) {
        if (key.indexOf('"') < 0) return key.equals(schema + "." + name);
        return TablePattern.parse(key).matches(schema, name);
    }

    /** File systems allow 255 bytes per name; %-encoding takes 3 per byte of a non-ASCII name. */
    static final int MAX_DIR_NAME = 200;

    /**
     * Directory name in the work dir: schema.table with anything unsafe for a file system %-encoded. A name too long
     * for a file system is cut, and a hash of the whole name keeps it apart from others cut the same way.
     */
    public String dirName() {
        String full = safe(schema) + "." + safe(name);
        if (full.length() <= MAX_DIR_NAME) return full;
        long hash = tsmigrate.verify.RowHash.xxh64(full.getBytes(StandardCharsets.UTF_8), 0, full.length());
        String cut = full.substring(0, MAX_DIR_NAME - 17);
        int pct = cut.lastIndexOf('%'); // never half an escape
        if (pct >= cut.length() - 2) cut = cut.substring(0, pct);
        return cut + "~" + String.format("%016x", hash);
    }

    static String safe(String s) {
        StringBuilder sb = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-') sb.append(c);
            else sb.append('%').append(String.format("%02X", b & 0xff));
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return qualified();
    }
}
