package tsmigrate.plan;

import java.io.PrintStream;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;

import tsmigrate.config.JobConfig;
import tsmigrate.db.Pg;
import tsmigrate.report.Summary;
import tsmigrate.run.Durations;
import tsmigrate.run.MigrationRun;

/**
 * The plan verb: what migrate would do, computed from the source and the target's state without writing
 * anything anywhere (no work dir, no state, no snapshot).
 */
public final class DryRun {
    private DryRun() {
    }

    public static void print(JobConfig cfg, PrintStream out) throws Exception {
        cfg.validate();
        MigrationRun run = new MigrationRun(cfg);
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"table", "chunks", "est. rows", "est. bytes", "split"});
        long chunks = 0;
        long estRows = 0;
        long bytes = 0;
        long largestChunk = 0;
        String target;
        long largeObjects;
        long largeObjectBytes;
        try (Connection src = Pg.connect("source", cfg.source); Connection tgt = Pg.connect("target", cfg.target);
             tsmigrate.report.LockWaits waits = tsmigrate.report.LockWaits.ofSession("plan", "source", cfg.source, src, cfg.progressSeconds);
             CancelOnExit cancel = new CancelOnExit(src, tgt)) {
            Planner.validateInterval(tgt, cfg.chunkInterval);
            if (run.state.exists(tgt) && "done".equals(run.state.stepStatus(tgt, "plan"))) {
                printSaved(cfg, run, src, tgt, out); // migrate would resume it: its plan, not a fresh one
                return;
            }
            Planner p = new Planner();
            List<TableInfo> tables = p.listTables(src, run);
            p.readAhead(src, run, tables);
            for (TableInfo t : tables) {
                int n = p.chunksFor(src, run, t).size();
                rows.add(new String[] {t.shown(), String.valueOf(n), String.format("%,d", t.estimatedRows), Durations.bytes(t.bytes), t.split});
                chunks += n;
                estRows += t.estimatedRows;
                bytes += t.bytes;
                if (n > 0) largestChunk = Math.max(largestChunk, t.bytes / n);
            }
            largeObjects = tsmigrate.largeobjects.LargeObjects.count(src);
            largeObjectBytes = largeObjects == 0 ? 0 : tsmigrate.largeobjects.LargeObjects.estimatedBytes(src);
            target = run.state.exists(tgt) ? "holds the state of this migration: migrate would resume it"
                    : "has no state of this migration: migrate would start it (and refuse if its tables hold rows)";
            if (cfg.runs("data") && cfg.runs("post-data")) {
                try {
                    tsmigrate.preflight.Preflight.checkForeignKeysToLeftOut(run, src);
                } catch (tsmigrate.run.UserError e) { // the selection's own refusal, told here rather than only by migrate (QA)
                    target += "\nRefused: migrate would refuse this selection (exit 2): " + e.getMessage() + " " + e.hint();
                }
            }
        }
        rows.add(new String[] {"TOTAL", String.valueOf(chunks), String.format("%,d", estRows), Durations.bytes(bytes), ""});
        StringBuilder sb = new StringBuilder("Plan (dry run, nothing written): " + cfg.source.masked() + " -> " + cfg.target.masked() + "\n");
        Summary.table(sb, rows, true);
        List<String> steps = new ArrayList<>();
        for (String s : JobConfig.ALL_STEPS) if (cfg.runs(s)) steps.add(s);
        sb.append("\nSteps: ").append(String.join(" -> ", steps)).append('\n');
        if (largeObjects > 0) {
            sb.append("Large objects: ").append(String.format("%,d", largeObjects)).append(" (~").append(Durations.bytes(largeObjectBytes))
                    .append("), copied after the tables' data (step large-objects)\n");
        }
        sb.append("Target: ").append(target).append('\n');
        sb.append("Work dir: ").append(run.workDir.root());
        if (cfg.stream) sb.append(" (no chunk files: --stream)\n");
        else if (cfg.keepFiles) sb.append(" (needs about ").append(Durations.bytes(bytes)).append(" for the chunk files, kept)\n");
        // at most one file per worker, and never more than all of them (QA: 32 KiB in flight of 8 KiB in all)
        else sb.append(" (needs about ").append(Durations.bytes(Math.min(bytes, largestChunk * cfg.workers))).append(" for the chunk files in flight, ")
                .append(cfg.workers).append(" at a time; ").append(Durations.bytes(bytes)).append(" with --keep-files)\n");
        out.println(sb);
    }

    /**
     * SIGTERM or Ctrl-C while a read waits (behind a lock, say): the reads are cancelled as the JVM ends, so that no
     * session of ours stays waiting on a server after we are gone (QA: one stayed until the lock was granted).
     */
    private static final class CancelOnExit implements AutoCloseable {
        private final Thread hook;

        CancelOnExit(Connection... connections) {
            hook = new Thread(() -> {
                for (Connection c : connections) Pg.cancelQuietly(c);
            }, "tsmigrate-plan-cancel");
            Runtime.getRuntime().addShutdownHook(hook);
        }

        @Override
        public void close() {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs, or has run
            }
        }
    }

    /** The plan a resumed migrate works from, as saved on the target, with how many of its chunks are copied. */
    private static void printSaved(JobConfig cfg, MigrationRun run, Connection src, Connection tgt, PrintStream out) throws Exception {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"table", "chunks", "copied", "split"});
        long all = 0;
        long copied = 0;
        for (tsmigrate.state.StateStore.TableProgress t : run.state.tableProgress(tgt)) {
            rows.add(new String[] {t.table(), String.valueOf(t.chunks()), String.valueOf(t.done()), t.split()});
            all += t.chunks();
            copied += t.done();
        }
        rows.add(new String[] {"TOTAL", String.valueOf(all), String.valueOf(copied), ""});
        StringBuilder sb = new StringBuilder("Plan (dry run, nothing written): " + cfg.source.masked() + " -> " + cfg.target.masked() + "\n");
        sb.append("The target holds this migration's saved plan (chunk interval ").append(run.state.chunkInterval(tgt)).append("): ");
        if (cfg.restart) {
            sb.append(!tsmigrate.preflight.Preflight.tablesWithRows(tgt).isEmpty() ? "migrate --restart would refuse: the target's tables hold rows (a new database is the usual way to start"
                    + " over).\n" : "migrate --restart would forget it and plan again.\n");
        } else if (cfg.catchUp) {
            sb.append("migrate --catch-up would copy the rows above each time-split table's high-water mark (the end of its last"
                    + " range below), and add partitions created since; tables without a time column are not caught up.\n");
        } else {
            sb.append("migrate would resume it, with these chunks; --restart would plan again.\n");
        }
        String refused = cfg.restart ? null : Planner.selectionRefusal(src, tgt, run);
        if (refused != null) sb.append("Refused: migrate would refuse this selection (exit 3): ").append(refused).append('\n');
        try (java.sql.PreparedStatement ps = tgt.prepareStatement("SELECT step, coalesce(error, '') FROM tsmigrate.step"
                + " WHERE migration = ? AND status = 'failed' ORDER BY started_at")) {
            ps.setString(1, run.state.migrationId);
            try (java.sql.ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String why = rs.getString(2).lines().findFirst().orElse("");
                    sb.append("Step ").append(rs.getString(1)).append(" failed in an earlier run").append(why.isEmpty() ? "" : " (" + why + ")")
                            .append(": migrate would do it again.\n");
                }
            }
        }
        Summary.table(sb, rows, true);
        out.println(sb);
    }
}
