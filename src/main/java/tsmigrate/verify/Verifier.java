package tsmigrate.verify;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

import tsmigrate.db.Pg;
import tsmigrate.plan.Chunk;
import tsmigrate.run.MigrationRun;
import tsmigrate.run.StepFailure;

/**
 * The verify step: compares each loaded chunk's target fingerprint (row count + sum of 64-bit hashes of its rows
 * as COPY sends them, see {@link Fingerprint}) with the source's. By default the source side is the one taken
 * from the export's own stream; with {@code fresh} (the verify verb) both sides are read now.
 */
public class Verifier {
    private final ConcurrentHashMap<Thread, Connection[]> conns = new ConcurrentHashMap<>();
    private final List<String> mismatches = Collections.synchronizedList(new ArrayList<>());
    private volatile int checked;
    private final boolean fresh;
    private volatile tsmigrate.copy.Progress progress;
    private volatile long largeObjectsNotCopied;

    public Verifier() {
        this(false);
    }

    public Verifier(boolean fresh) {
        this.fresh = fresh;
    }

    public void begin(MigrationRun run) throws SQLException {
        try (Connection c = run.state.connect()) {
            run.state.stepRunning(c, "verify");
            // --steps verify without the plan step: the chunks (and their export fingerprints) come from the state
            if (run.getChunks().isEmpty()) {
                run.state.loadPlan(c, run.workDir.root(), run.getTables(), run.getChunks());
            } else {
                run.state.refreshChunks(c, run.getChunks()); // chunks other instances loaded are checked here too
            }
        }
        track(run);
    }

    /** Progress of the chunks to check (rows and bytes read back, rate, ETA), as the data step shows its own. */
    public void track(MigrationRun run) {
        List<Chunk> todo = run.getChunks().stream().filter(ch -> due(run, ch)).toList();
        if (todo.isEmpty()) return;
        progress = tsmigrate.copy.Progress.forChunks("verify", todo, run);
    }

    private boolean due(MigrationRun run, Chunk ch) {
        if (!run.cfg.verify && !fresh) return false;
        // a mismatch found by an earlier run is checked again: the run fails until the chunk is right
        return ch.state.equals("loaded") || ch.state.equals("mismatch") || (fresh && ch.state.equals("verified"));
    }

    public void chunk(MigrationRun run, Chunk ch) throws SQLException {
        if (!due(run, ch)) return;
        tsmigrate.copy.Progress p = progress;
        if (p != null) p.chunkStarted(ch.table.key());
        long[] rowsAndBytes = {0, 0};
        boolean done = false;
        try {
            rowsAndBytes = check(run, ch);
            done = true;
        } finally {
            if (p != null) {
                p.addBytes(rowsAndBytes[1]);
                if (done) p.chunkDone(ch, rowsAndBytes[0]);
                p.chunkEnded(ch.table.key(), rowsAndBytes[1], done);
            }
        }
    }

    /** Compares the chunk's fingerprints; returns {rows, bytes} read back from the target. */
    private long[] check(MigrationRun run, Chunk ch) throws SQLException {
        Connection[] c = conns.computeIfAbsent(Thread.currentThread(),
                t -> new Connection[] {Pg.connect("target", run.cfg.target), fresh ? Pg.connect("source", run.cfg.source) : null});
        // The source side as exported, when it was taken (in its format); else (the verify verb, or a chunk
        // exported without verification) both sides now, in the format of the export or CSV.
        String storedFormat = Fingerprint.formatOf(ch.sourceFingerprint);
        String stored = storedFormat != null ? ch.sourceFingerprint : null;
        String format = storedFormat != null ? storedFormat : ch.table.fingerprintFormat != null ? ch.table.fingerprintFormat : "csv";
        String source;
        Fingerprint targetPrint;
        String side = "source";
        try {
            source = !fresh && stored != null ? stored : Fingerprint.copyOut(sourceConn(run, c), ch.copyOutSql(format, false), format, null).toString();
            side = "target";
            targetPrint = Fingerprint.copyOut(c[0], ch.copyOutSql(format, true), format, null);
        } catch (java.io.IOException e) {
            throw new SQLException("cannot read " + ch + " for its fingerprint: " + e.getMessage(), "08006", e);
        } catch (SQLException e) {
            // the server's message names neither the table nor the side (QA: "column "ts" does not exist"); the state and
            // the cause are kept, for the retries of a lost connection
            throw new SQLException("cannot read " + ch + " on the " + side + " to verify it: " + tsmigrate.copy.Faults.firstLine(e),
                    e.getSQLState(), e);
        }
        String target = targetPrint.toString();
        boolean ok = source.equals(target);
        run.state.markVerified(c[0], ch, target, ok);
        ch.state = ok ? "verified" : "mismatch";
        tsmigrate.run.RunMetrics.chunkVerified(run, ok);
        synchronized (this) {
            checked++;
        }
        if (!ok) {
            mismatches.add(ch.table.qualified() + " " + ch.range + ": source " + Fingerprint.describe(source) + ", target "
                    + Fingerprint.describe(target));
        }
        return new long[] {targetPrint.rows(), targetPrint.bytes()};
    }

    private static Connection sourceConn(MigrationRun run, Connection[] c) {
        if (c[1] == null) c[1] = Pg.connect("source", run.cfg.source);
        return c[1];
    }

    /** Ends the progress and gives the connections back; also when a chunk failed and end() is never reached. */
    public void close() {
        for (Connection[] c : conns.values()) {
            Pg.closeQuietly(c[0]);
            Pg.closeQuietly(c[1]);
        }
        conns.clear();
        tsmigrate.copy.Progress p = progress;
        progress = null;
        if (p != null) p.close();
    }

    /** Large objects the source has that no run has copied yet (the verify verb only). */
    public long largeObjectsNotCopied() {
        return largeObjectsNotCopied;
    }

    public void end(MigrationRun run) throws SQLException {
        tsmigrate.copy.Progress p = progress; // its totals go into the step's counts
        close();
        // large objects: compared one by one, after the chunks (see LargeObjects)
        tsmigrate.largeobjects.LargeObjects.Verified lo = run.cfg.verify || fresh ? tsmigrate.largeobjects.LargeObjects.verify(run, fresh) : null;
        List<String> loMismatches = lo == null ? List.of() : lo.mismatches();
        if (lo != null) largeObjectsNotCopied = lo.notCopied();
        long verified = run.getChunks().stream().filter(ch -> ch.state.equals("verified")).count();
        run.counts("verify", checked + " chunk(s) checked now, " + verified + " of " + run.getChunks().size() + " verified"
                + (mismatches.isEmpty() ? "" : ", " + mismatches.size() + " MISMATCH") + (p == null ? "" : "; read back " + p.totals())
                + (lo == null || lo.verified() + loMismatches.size() == 0 ? ""
                        : "; " + lo.verified() + " large object(s) verified" + (loMismatches.isEmpty() ? "" : ", " + loMismatches.size() + " MISMATCH")));
        // The verify step runs after the data step has copied every chunk; one not copied means that step did not run
        // (--steps verify): "verified" would claim too much. The verify verb counts them itself.
        long notCopied = fresh ? 0 : run.getChunks().stream().filter(ch -> !List.of("loaded", "verified", "mismatch", "gone").contains(ch.state)).count();
        if (notCopied > 0 && mismatches.isEmpty() && loMismatches.isEmpty()) {
            throw new StepFailure(notCopied + " chunk(s) not copied yet, so not verified; run migrate without --steps to copy them.");
        }
        if (mismatches.isEmpty() && loMismatches.isEmpty()) {
            try (Connection c = run.state.connect()) {
                run.state.stepDone(c, "verify", run.stepCounts().get("verify"));
            } catch (SQLException e) {
                run.warn("cannot record the verify step: " + e.getMessage());
            }
            return;
        }
        List<String> what = new ArrayList<>();
        if (!mismatches.isEmpty()) what.add(mismatches.size() + " chunk(s)");
        if (!loMismatches.isEmpty()) what.add(loMismatches.size() + " large object(s)");
        List<String> all = new ArrayList<>(mismatches);
        all.addAll(loMismatches);
        List<String> shown = all.subList(0, Math.min(20, all.size()));
        throw new StepFailure("verification found " + String.join(" and ", what) + " that differ:\n  " + String.join("\n  ", shown)
                + (all.size() > 20 ? "\n  ..." : ""));
    }
}
