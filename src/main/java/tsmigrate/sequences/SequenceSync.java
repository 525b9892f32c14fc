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
    /** Sequences read and set per statement: a round trip each was 4 per sequence (1.6 s for 2,000 here, far more to a distant server). */
    private static final int BATCH = 500;

    public void run(MigrationRun run) throws SQLException {
        int n = 0;
        int kept = 0;
        try (Connection st = run.state.connect()) {
            run.state.stepRunning(st, "sequences");
        }
        try (Connection src = Pg.connect("source", run.cfg.source); Connection tgt = Pg.connect("target", run.cfg.target)) {
            List<String> seqs = Pg.userRelations(src, 'S');
            java.util.Set<String> missing = new java.util.HashSet<>(Pg.missing(tgt, seqs));
            List<String> present = new java.util.ArrayList<>();
            for (String seq : seqs) {
                if (!missing.contains(seq)) {
                    present.add(seq);
                } else {
                    // made on the source after pre-data: not part of the schema this migration restored
                    run.warn("sequences: " + seq + " is not on the target (created on the source since pre-data?); left out");
                }
            }
            for (int from = 0; from < present.size(); from += BATCH) {
                List<String> batch = present.subList(from, Math.min(from + BATCH, present.size()));
                List<long[]> source = positions(src, batch, false);
                List<long[]> target = positions(tgt, batch, true);
                List<String> names = new java.util.ArrayList<>();
                List<Long> values = new java.util.ArrayList<>();
                List<Boolean> called = new java.util.ArrayList<>();
                for (int i = 0; i < batch.size(); i++) {
                    long[] s = source.get(i);
                    long[] t = target.get(i);
                    // Never back: a target that ran ahead (ids given out there since a cutover, or since an earlier
                    // run) would give them out again.
                    if (!behind(t[0], t[1] == 1, t[2], s[0], s[1] == 1)) {
                        kept++;
                        continue;
                    }
                    names.add(batch.get(i));
                    values.add(s[0]);
                    called.add(s[1] == 1);
                }
                if (names.isEmpty()) continue;
                try (PreparedStatement set = tgt.prepareStatement("SELECT count(pg_catalog.setval(CAST(u.s AS regclass), u.v, u.c))"
                        + " FROM unnest(CAST(? AS text[]), CAST(? AS bigint[]), CAST(? AS boolean[])) u (s, v, c)")) {
                    set.setArray(1, tgt.createArrayOf("text", names.toArray()));
                    set.setArray(2, tgt.createArrayOf("bigint", values.toArray()));
                    set.setArray(3, tgt.createArrayOf("boolean", called.toArray()));
                    set.executeQuery().close();
                }
                n += names.size();
            }
        }
        String counts = n + " sequence(s) set" + (kept > 0 ? ", " + kept + " already at or past the source's (kept)" : "");
        run.counts("sequences", counts);
        try (Connection st = run.state.connect()) {
            run.state.stepDone(st, "sequences", counts);
        }
    }

    /**
     * Each sequence's {last_value, is_called (1 or 0), increment (withIncrement only)}, in the order given, in one
     * statement: a sequence is read only as a relation of its own.
     */
    private static List<long[]> positions(Connection c, List<String> seqs, boolean withIncrement) throws SQLException {
        StringBuilder sql = new StringBuilder();
        for (int i = 0; i < seqs.size(); i++) {
            if (i > 0) sql.append(" UNION ALL ");
            sql.append("SELECT ").append(i).append(", s.last_value, s.is_called");
            if (withIncrement) {
                sql.append(", (SELECT p.seqincrement FROM pg_catalog.pg_sequence p WHERE p.seqrelid = CAST(").append(Pg.literal(seqs.get(i)))
                        .append(" AS regclass))");
            }
            sql.append(" FROM ").append(seqs.get(i)).append(" s");
        }
        long[][] out = new long[seqs.size()][];
        try (PreparedStatement ps = c.prepareStatement(sql.toString()); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out[rs.getInt(1)] = new long[] {rs.getLong(2), rs.getBoolean(3) ? 1 : 0, withIncrement ? rs.getLong(4) : 0};
            }
        }
        return java.util.Arrays.asList(out);
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
    static boolean behind(long targetLast, boolean targetCalled, long inc, long sourceLast, boolean sourceCalled) {
        long targetNext = targetCalled ? next(targetLast, inc) : targetLast;
        long sourceNext = sourceCalled ? next(sourceLast, inc) : sourceLast;
        return inc > 0 ? sourceNext > targetNext : sourceNext < targetNext;
    }
}
