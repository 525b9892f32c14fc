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
                        // 'running' by a process of this host that is gone: a killed run, not a live one
                        boolean gone = "running".equals(rs.getString(2)) && StateStore.processGone(rs.getString(4));
                        steps.add(new String[] {rs.getString(1), gone ? "interrupted" : rs.getString(2),
                                rs.getObject(3) == null ? "-" : Durations.format(rs.getLong(3)), rs.getString(4),
                                gone ? "its process is gone (killed?); run migrate again to resume" : oneLine(rs.getString(5))});
                    }
                }
            }
            StringBuilder sb = new StringBuilder("\nSteps:\n");
            Summary.table(sb, steps, false);
            List<String[]> tables = new ArrayList<>();
            tables.add(new String[] {"table", "chunks done", "rows", "bytes", "instances", "last error"});
            boolean clean = true;
            for (StateStore.TableProgress t : state.tableProgress(c)) {
                clean &= t.mismatch() == 0;
                tables.add(new String[] {t.table(), t.done() + "/" + t.chunks(), String.format("%,d", t.rows()), Durations.bytes(t.bytes()),
                        String.valueOf(t.instances()), (t.mismatch() > 0 ? t.mismatch() + " MISMATCH " : "")
                                + (t.gone() > 0 ? t.gone() + " not copied: the table was dropped on the source " : "")
                                + (t.lastError() == null ? "" : oneLine(t.lastError()))});
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
