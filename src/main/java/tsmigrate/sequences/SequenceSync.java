package tsmigrate.sequences;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;

import tsmigrate.db.Pg;
import tsmigrate.run.MigrationRun;

/**
 * The sequences step: every sequence gets the source's last_value and is_called. pg_dump puts these in the
 * data section, which the procedure never restores, so without this step the target would reuse ids.
 */
public class SequenceSync {
    public void run(MigrationRun run) throws SQLException {
        int n = 0;
        int kept = 0;
        try (Connection st = run.state.connect()) {
            run.state.stepRunning(st, "sequences");
        }
        try (Connection src = Pg.connect("source", run.cfg.source); Connection tgt = Pg.connect("target", run.cfg.target)) {
            List<String> seqs = Pg.userRelations(src, 'S');
            try (PreparedStatement set = tgt.prepareStatement("SELECT pg_catalog.setval(CAST(? AS regclass), ?, ?)")) {
                for (String seq : seqs) {
                    if (!Pg.exists(tgt, seq)) {
                        // made on the source after pre-data: not part of the schema this migration restored
                        run.warn("sequences: " + seq + " is not on the target (created on the source since pre-data?); left out");
                        continue;
                    }
                    long last;
                    boolean called;
                    try (PreparedStatement q = src.prepareStatement("SELECT last_value, is_called FROM " + seq);
                         ResultSet rs = q.executeQuery()) {
                        rs.next();
                        last = rs.getLong(1);
                        called = rs.getBoolean(2);
                    }
                    // Never back: a target that ran ahead (ids given out there since a cutover, or since an earlier
                    // run) would give them out again.
                    if (!behind(tgt, seq, last, called)) {
                        kept++;
                        continue;
                    }
                    set.setString(1, seq);
                    set.setLong(2, last);
                    set.setBoolean(3, called);
                    set.executeQuery().close();
                    n++;
                }
            }
        }
        String counts = n + " sequence(s) set" + (kept > 0 ? ", " + kept + " already at or past the source's (kept)" : "");
        run.counts("sequences", counts);
        try (Connection st = run.state.connect()) {
            run.state.stepDone(st, "sequences", counts);
        }
    }

    /** The value after last, or the end of the range for a sequence at its end. */
    private static long next(long last, long inc) {
        try {
            return Math.addExact(last, inc);
        } catch (ArithmeticException atTheEnd) {
            return inc > 0 ? Long.MAX_VALUE : Long.MIN_VALUE;
        }
    }

    /** Whether the target's sequence would give out a value the source's has already given out (or the same next one). */
    static boolean behind(Connection tgt, String seq, long sourceLast, boolean sourceCalled) throws SQLException {
        try (PreparedStatement q = tgt.prepareStatement("SELECT s.last_value, s.is_called, p.seqincrement FROM " + seq + " s,"
                + " pg_catalog.pg_sequence p WHERE p.seqrelid = CAST(? AS regclass)")) {
            q.setString(1, seq);
            try (ResultSet rs = q.executeQuery()) {
                if (!rs.next()) return true;
                long inc = rs.getLong(3);
                long targetNext = rs.getBoolean(2) ? next(rs.getLong(1), inc) : rs.getLong(1);
                long sourceNext = sourceCalled ? next(sourceLast, inc) : sourceLast;
                return inc > 0 ? sourceNext > targetNext : sourceNext < targetNext;
            }
        }
    }
}
