package tsmigrate.timescale;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import tsmigrate.db.Pg;

/**
 * Post-data on a TimescaleDB target: pg_dump writes table constraints as {@code ALTER TABLE ONLY t ADD CONSTRAINT},
 * and TimescaleDB refuses ONLY on a hypertable ("ONLY option not supported on hypertable operations",
 * timescale/timescaledb#4917), so a plain pg_restore loses the primary keys, unique and check constraints of every
 * hypertable. The post-data step leaves those entries out of pg_restore's list ({@link #excludeFromList}) and adds
 * them afterwards with {@link #apply}, without ONLY (TimescaleDB then builds them on every chunk).
 * Foreign keys that reference a hypertable come along, after the key they need.
 */
public final class HypertableConstraints {
    private HypertableConstraints() {
    }

    /**
     * @param oid     the constraint's oid on the source (pg_restore -l shows it as the entry's catalog oid, table 2606)
     * @param table   "schema.table" (unquoted) it belongs to
     * @param sql     the statement that adds it on the target
     * @param comment COMMENT ON CONSTRAINT for its comment, or null
     */
    public record Constraint(long oid, String schema, String table, String name, String sql, String comment) {
    }

    /**
     * The source's constraints on tables that are hypertables on the target, then the foreign keys that reference
     * them, in the order to add them. Definitions are read with an empty search path, so every name in them is
     * schema-qualified.
     */
    public static List<Constraint> read(Connection source, Set<String> targetHypertables) throws SQLException {
        List<Constraint> own = new ArrayList<>();
        List<Constraint> referencing = new ArrayList<>();
        if (targetHypertables.isEmpty()) return own;
        List<Map<String, String>> rows = TsCatalog.withPath(source, "pg_catalog", () -> Sql.rows(source,
                "SELECT c.oid, c.contype, c.conname, n.nspname, r.relname, rn.nspname AS ref_schema, rr.relname AS ref_table,"
                        + " pg_catalog.pg_get_constraintdef(c.oid) AS def, pg_catalog.obj_description(c.oid, 'pg_constraint') AS comment"
                        + " FROM pg_catalog.pg_constraint c JOIN pg_catalog.pg_class r ON r.oid = c.conrelid"
                        + " JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace"
                        + " LEFT JOIN pg_catalog.pg_class rr ON rr.oid = c.confrelid LEFT JOIN pg_catalog.pg_namespace rn ON rn.oid = rr.relnamespace"
                        + " WHERE c.contype IN ('p', 'u', 'c', 'x', 'f') AND c.conrelid <> 0 AND c.conislocal"
                        + " ORDER BY c.contype <> 'p', c.contype <> 'u', n.nspname, r.relname, c.conname"));
        for (Map<String, String> r : rows) {
            String key = Sql.key(r.get("nspname"), r.get("relname"));
            boolean onHypertable = targetHypertables.contains(key);
            boolean fkToHypertable = "f".equals(r.get("contype")) && r.get("ref_table") != null
                    && targetHypertables.contains(Sql.key(r.get("ref_schema"), r.get("ref_table")));
            if (!onHypertable && !fkToHypertable) continue;
            // CHECK constraints that pg_dump writes inside CREATE TABLE (pre-data) are already there: apply skips them.
            String table = Pg.qualified(r.get("nspname"), r.get("relname"));
            String sql = "ALTER TABLE " + (onHypertable ? "" : "ONLY ") + table + " ADD CONSTRAINT " + Pg.ident(r.get("conname")) + " " + r.get("def");
            String comment = r.get("comment") == null ? null
                    : "COMMENT ON CONSTRAINT " + Pg.ident(r.get("conname")) + " ON " + table + " IS " + Pg.literal(r.get("comment"));
            Constraint c = new Constraint(Long.parseLong(r.get("oid")), r.get("nspname"), r.get("relname"), r.get("conname"), sql, comment);
            ("f".equals(r.get("contype")) ? referencing : own).add(c);
        }
        own.addAll(referencing);
        return own;
    }

    private static final Pattern TOC = Pattern.compile("^(\\d+);\\s+(\\d+)\\s+(\\d+)\\s+(.*)$");

    /**
     * A {@code pg_restore -l} listing with the entries of these constraints (and their comments) commented out,
     * for {@code pg_restore --use-list}.
     */
    public static String excludeFromList(String tocList, List<Constraint> constraints) {
        Set<Long> oids = new java.util.HashSet<>();
        Set<String> comments = new java.util.HashSet<>();
        for (Constraint c : constraints) {
            oids.add(c.oid());
            // pg_restore -l names a constraint's comment "COMMENT <schema> CONSTRAINT <name> ON <table> <owner>", unquoted
            comments.add("COMMENT " + c.schema() + " CONSTRAINT " + c.name() + " ON " + c.table() + " ");
        }
        StringBuilder out = new StringBuilder();
        for (String line : tocList.split("\n", -1)) {
            Matcher m = TOC.matcher(line);
            boolean drop = false;
            if (m.matches()) {
                long tableOid = Long.parseLong(m.group(2));
                long oid = Long.parseLong(m.group(3));
                drop = (tableOid == 2606 && oids.contains(oid)) || comments.stream().anyMatch(m.group(4)::startsWith);
            }
            if (out.length() > 0) out.append('\n');
            out.append(drop ? ";" + line : line);
        }
        return out.toString();
    }

    /** Adds the constraints that are not there yet (by name, on their table); returns how many were added. */
    public static int apply(Connection target, List<Constraint> constraints) throws SQLException {
        int n = 0;
        for (Constraint c : constraints) {
            boolean there = Sql.one(target, "SELECT 1 FROM pg_catalog.pg_constraint WHERE conrelid = CAST(? AS regclass) AND conname = ?",
                    Pg.qualified(c.schema(), c.table()), c.name()) != null;
            if (there) continue;
            try {
                Sql.exec(target, c.sql());
                if (c.comment() != null) Sql.exec(target, c.comment());
            } catch (SQLException e) {
                throw new tsmigrate.run.StepFailure("post-data: adding constraint " + c.name() + " to " + Pg.qualified(c.schema(), c.table())
                        + " failed: " + e.getMessage() + "\n  statement: " + c.sql());
            }
            n++;
        }
        return n;
    }
}
