package tsmigrate.plan;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import tsmigrate.db.Pg;
import tsmigrate.run.MigrationRun;
import tsmigrate.run.UserError;

/**
 * The catch-up plan: for each table split on a time column, one more chunk holding the rows whose time is above
 * the table's high-water mark, up to the current maximum, which becomes the new mark. The new chunks and marks
 * are saved in one transaction, then flow through the data step like any other chunk.
 */
public class CatchUp {
    public void plan(MigrationRun run) throws Exception {
        try (Connection st = run.state.connect()) {
            if (!run.state.dataFinishedOnce(st)) {
                throw new UserError("There is no finished migration to catch up: the data step of this migration has not completed.",
                        "Run the same migrate command without --catch-up first (it resumes where it stopped).");
            }
        }
        // One catch-up plans at a time, from the marks as saved: another one may have raised them since this run read them.
        run.state.withLock("catch-up", () -> {
            Planner.reloadPlan(run);
            Planner.markHypertables(run);
            planAbove(run);
            return null;
        });
    }

    private static void planAbove(MigrationRun run) throws Exception {
        List<Chunk> added = new ArrayList<>();
        List<TableInfo> moved = new ArrayList<>();
        List<String> untimed = new ArrayList<>();
        // a stop cancels a read (a big table's, or one waiting behind a lock someone holds on the table)
        Planner.onSource(run, src -> {
            // dropped on the source since (a partition past its retention): named by the plan step's warning
            List<TableInfo> dropped = Planner.notOnSource(src, run.getTables());
            for (TableInfo t : run.getTables()) {
                if (dropped.contains(t)) continue;
                if (t.timeColumn == null) {
                    untimed.add(t.shown());
                    continue;
                }
                String qc = Pg.ident(t.timeColumn);
                String cast = " AS " + t.timeType + ")";
                boolean integer = !Set.of("timestamp with time zone", "timestamp without time zone", "date").contains(t.timeType);
                String above;
                if (t.highWater == null) {
                    // no finite time at plan time (an empty table: next month's partition): every finite time is new
                    above = integer ? qc + " IS NOT NULL" : qc + " > CAST('-infinity'" + cast;
                } else {
                    String mark = integer ? String.valueOf(Long.parseLong(t.highWater)) : Pg.literal(t.highWater); // integer time: a number
                    above = qc + " > CAST(" + mark + cast;
                }
                String newMax;
                try (PreparedStatement ps = src.prepareStatement("SELECT max(" + qc + ")::text FROM " + (t.hypertableOnSource ? "" : "ONLY ")
                        + t.qualified() + " WHERE " + above + (integer ? "" : " AND " + qc + " < CAST('infinity'" + cast));
                     ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    newMax = rs.getString(1);
                }
                if (newMax == null) continue;
                int next = run.getChunks().stream().filter(c -> c.table == t).mapToInt(c -> c.number).max().orElse(0) + 1;
                String pred = above + " AND " + qc + " <= CAST(" + (integer ? String.valueOf(Long.parseLong(newMax)) : Pg.literal(newMax)) + cast;
                added.add(new Chunk(t, next, pred, "catch-up (" + (t.highWater == null ? "-infinity" : t.highWater) + ", " + newMax + "]",
                        run.workDir.root().resolve(t.dirName()).resolve(String.format("%06d.csv", next))));
                t.highWater = newMax;
                moved.add(t);
            }
            return null;
        });
        if (!untimed.isEmpty()) {
            run.warn("catch-up: " + untimed.size() + " table(s) have no time column, so rows written to them since are not caught up: "
                    + UserError.someOf(untimed) + (untimed.size() > 5 ? ", ..." : ""));
        }
        try (Connection st = run.state.connect()) {
            st.setAutoCommit(false);
            run.state.insertChunks(st, added);
            for (TableInfo t : moved) run.state.setHighWater(st, t);
            // the data step runs again for the new chunks
            try (PreparedStatement ps = st.prepareStatement("DELETE FROM tsmigrate.step WHERE migration = ? AND step IN ('data', 'analyze')")) {
                ps.setString(1, run.state.migrationId);
                ps.executeUpdate();
            }
            // the data step finished once: another catch-up, now or after this one was cut short, may run (dataFinishedOnce)
            try (PreparedStatement ps = st.prepareStatement("UPDATE tsmigrate.migration SET caught_up = true WHERE id = ?")) {
                ps.setString(1, run.state.migrationId);
                ps.executeUpdate();
            }
            st.commit();
        }
        run.getChunks().addAll(added);
        run.counts("catch-up", added.size() + " new chunk(s) above the high-water marks");
    }
}
