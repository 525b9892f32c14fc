package tsmigrate.copy;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

import tsmigrate.db.Pg;
import tsmigrate.plan.TableInfo;
import tsmigrate.run.MigrationRun;

/**
 * Autovacuum paused on the target's tables while they are loaded: the chunk commits would otherwise start
 * autovacuum on them, and post-data's CREATE INDEX then waits for it to be cancelled (about a second each,
 * measured by the benchmark). The pause is recorded in the state, so a later run resets what an earlier one
 * paused; a table whose owner set autovacuum_enabled is left alone, and so are hypertables, and tables under the
 * small-table size: an autovacuum of one ends in moments, while a pause and its reset cost eight round trips.
 */
public final class Autovacuum {
    private Autovacuum() {
    }

    public static void pause(MigrationRun run) throws SQLException {
        try (Connection t = Pg.connect("target", run.cfg.target)) {
            for (TableInfo table : run.getTables()) {
                if (table.hypertableOnTarget || table.bytes < tsmigrate.plan.Planner.SMALL_TABLE_BYTES) continue;
                String opts = Pg.queryString(t, "SELECT coalesce(array_to_string(reloptions, ','), '') FROM pg_catalog.pg_class WHERE oid = to_regclass("
                        + Pg.literal(table.qualified()) + ")");
                if (opts == null || opts.contains("autovacuum_enabled")) continue; // gone, or the owner's own setting
                t.setAutoCommit(false);
                try {
                    Pg.exec(t, "ALTER TABLE " + table.qualified() + " SET (autovacuum_enabled = off)");
                    mark(t, run, table.number, true);
                    t.commit();
                } catch (SQLException e) {
                    t.rollback(); // not ours to change (e.g. not the owner): load with autovacuum on
                } finally {
                    t.setAutoCommit(true);
                }
            }
        }
    }

    public static void resume(MigrationRun run) throws SQLException {
        try (Connection t = Pg.connect("target", run.cfg.target);
             PreparedStatement ps = t.prepareStatement("SELECT table_no, schema_name, table_name FROM tsmigrate.source_table"
                     + " WHERE migration = ? AND autovacuum_paused")) {
            ps.setString(1, run.state.migrationId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String q = Pg.qualified(rs.getString(2), rs.getString(3));
                    if (Pg.exists(t, q)) {
                        Pg.exec(t, "ALTER TABLE " + q + " RESET (autovacuum_enabled)");
                    }
                    mark(t, run, rs.getInt(1), false);
                }
            }
        }
    }

    private static void mark(Connection t, MigrationRun run, int tableNo, boolean paused) throws SQLException {
        try (PreparedStatement u = t.prepareStatement("UPDATE tsmigrate.source_table SET autovacuum_paused = ? WHERE migration = ? AND table_no = ?")) {
            u.setBoolean(1, paused);
            u.setString(2, run.state.migrationId);
            u.setInt(3, tableNo);
            u.executeUpdate();
        }
    }
}
