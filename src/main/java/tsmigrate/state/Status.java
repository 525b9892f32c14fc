package tsmigrate.state;

import java.io.PrintStream;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;

import tsmigrate.config.JobConfig;
import tsmigrate.db.Pg;
import tsmigrate.report.Summary;
import tsmigrate.run.Durations;
import tsmigrate.run.UserError;

/** The status verb: a migration's steps and per-table progress, read from its state on the target. */
public final class Status {
    private Status() {
    }

    public static boolean print(JobConfig cfg, PrintStream out) throws Exception {
        try (StateStore state = new StateStore(cfg.target, StateStore.migrationId(cfg.source, cfg.target), cfg.workDir);
             Connection c = Pg.connect("target", cfg.target)) {
            if (!state.exists(c)) {
                throw new UserError("The target " + cfg.target.masked() + " holds no state of a migration from " + cfg.source.masked() + ".",
                        "Check --source and --target: they must be the ones given to migrate.");
            }
            out.println("Migration " + state.migrationId + ": " + cfg.source.masked() + " -> " + cfg.target.masked());
            List<String[]> steps = new ArrayList<>();
            steps.add(new String[] {"step", "status", "took", "instance", "counts / error"});
            try (PreparedStatement ps = c.prepareStatement("SELECT step, status, (extract(epoch FROM ended_at - started_at) * 1000)::bigint,"
                    + " instance, coalesce(error, counts, '') FROM tsmigrate.step WHERE migration = ? ORDER BY started_at")) {
                ps.setString(1, state.migrationId);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        steps.add(new String[] {rs.getString(1), rs.getString(2), rs.getObject(3) == null ? "-" : Durations.format(rs.getLong(3)),
                                rs.getString(4), oneLine(rs.getString(5))});
                    }
                }
            }
            StringBuilder sb = new StringBuilder("\nSteps:\n");
            Summary.table(sb, steps, false);
            List<String[]> tables = new ArrayList<>();
            tables.add(new String[] {"table", "chunks done", "rows", "bytes", "instances", "last error"});
            boolean clean = true;
            try (PreparedStatement ps = c.prepareStatement("SELECT t.schema_name, t.table_name,"
                    + " count(*) FILTER (WHERE ch.state IN ('loaded', 'verified')), count(*),"
                    + " coalesce(sum(ch.rows) FILTER (WHERE ch.state IN ('loaded', 'verified')), 0),"
                    + " coalesce(sum(ch.bytes) FILTER (WHERE ch.state IN ('loaded', 'verified')), 0),"
                    + " count(DISTINCT ch.loaded_by), count(*) FILTER (WHERE ch.state = 'mismatch'),"
                    + " (array_agg(ch.last_error ORDER BY ch.updated_at DESC) FILTER (WHERE ch.last_error IS NOT NULL))[1]"
                    + " FROM tsmigrate.source_table t JOIN tsmigrate.chunk ch USING (migration, table_no)"
                    + " WHERE t.migration = ? GROUP BY t.table_no, 1, 2 ORDER BY t.table_no")) {
                ps.setString(1, state.migrationId);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        long mismatch = rs.getLong(8);
                        String err = rs.getString(9);
                        clean &= mismatch == 0;
                        tables.add(new String[] {Pg.qualified(rs.getString(1), rs.getString(2)), rs.getLong(3) + "/" + rs.getLong(4),
                                String.format("%,d", rs.getLong(5)), Durations.bytes(rs.getLong(6)), String.valueOf(rs.getLong(7)),
                                (mismatch > 0 ? mismatch + " MISMATCH " : "") + (err == null ? "" : oneLine(err))});
                    }
                }
            }
            sb.append("\nTables:\n");
            if (tables.size() == 1) sb.append("  (not planned yet)\n");
            else Summary.table(sb, tables, false);
            out.println(sb);
            return clean;
        }
    }

    private static String oneLine(String s) {
        String l = s.replace('\n', ' ');
        return l.length() > 100 ? l.substring(0, 97) + "..." : l;
    }
}
