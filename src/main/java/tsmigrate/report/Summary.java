package tsmigrate.report;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import tsmigrate.plan.Chunk;
import tsmigrate.plan.TableInfo;
import tsmigrate.run.Durations;
import tsmigrate.run.MigrationRun;
import tsmigrate.run.WorkDir;

/**
 * The table printed at the end of a migration: per table rows, bytes, seconds and rows/s, then per step
 * durations and the warnings. Also written to summary.txt in the work dir.
 */
public final class Summary {
    private Summary() {
    }

    public static String render(MigrationRun run, long totalMs) {
        Map<TableInfo, List<Chunk>> byTable = new LinkedHashMap<>();
        for (Chunk ch : run.getChunks()) byTable.computeIfAbsent(ch.table, k -> new ArrayList<>()).add(ch);
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"table", "chunks", "rows", "bytes", "seconds", "rows/s"});
        long totRows = 0;
        long totBytes = 0;
        long totRunRows = 0;
        // rows and bytes: the migration's so far; seconds and rows/s: this run's (a resumed run copies only the rest)
        for (Map.Entry<TableInfo, List<Chunk>> e : byTable.entrySet()) {
            long r = 0;
            long b = 0;
            long runRows = 0;
            for (Chunk ch : e.getValue()) {
                r += Math.max(0, ch.loadedRows);
                b += Math.max(0, ch.bytes);
                if (ch.loadEndMs > 0) runRows += Math.max(0, ch.loadedRows);
            }
            double secs = wall(e.getValue()) / 1000.0;
            rows.add(new String[] {e.getKey().shown(), String.valueOf(e.getValue().size()), String.format("%,d", r),
                    Durations.bytes(b), String.format("%.2f", secs), secs > 0 && runRows > 0 ? String.format("%,.0f", runRows / secs) : "-"});
            totRows += r;
            totBytes += b;
            totRunRows += runRows;
        }
        double totSecs = totalMs / 1000.0;
        rows.add(new String[] {"TOTAL (wall time of this run)", String.valueOf(run.getChunks().size()),
                String.format("%,d", totRows), Durations.bytes(totBytes), String.format("%.2f", totSecs),
                totSecs > 0 && totRunRows > 0 ? String.format("%,.0f", totRunRows / totSecs) : "-"});
        StringBuilder sb = new StringBuilder();
        sb.append("\nMigration summary: ").append(run.cfg.source.masked()).append(" -> ").append(run.cfg.target.masked()).append('\n');
        table(sb, rows, true);
        sb.append("\nSteps:\n");
        int width = run.stepTimes().keySet().stream().mapToInt(String::length).max().orElse(1);
        run.stepTimes().forEach((step, t) -> sb.append(String.format("  %-" + width + "s %9s  %s%n", step,
                t[1] == 0 ? "-" : Durations.format(t[1] - t[0]), run.stepCounts().getOrDefault(step, ""))));
        long afterGc = HeapWatch.maxAfterGcBytes();
        sb.append(String.format("%nJVM peak heap: %d MiB (max %d MiB); live after full GC, peak: %s%n", peakHeapBytes() / (1024 * 1024),
                Runtime.getRuntime().maxMemory() / (1024 * 1024), afterGc < 0 ? "n/a" : (afterGc / (1024 * 1024)) + " MiB"));
        List<String> warnings = run.warnings();
        if (!warnings.isEmpty()) {
            sb.append("\nWarnings (").append(warnings.size()).append("):\n");
            for (String w : warnings) sb.append("  - ").append(w).append('\n');
        }
        return sb.toString();
    }

    /** The sum of the heap pools' peak usage since the JVM started: what the benchmark reports as peak heap. */
    public static long peakHeapBytes() {
        long sum = 0;
        for (java.lang.management.MemoryPoolMXBean pool : java.lang.management.ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == java.lang.management.MemoryType.HEAP && pool.getPeakUsage() != null) sum += pool.getPeakUsage().getUsed();
        }
        return sum;
    }

    /** This run's wall time on the chunks: from the first one's start (export, or load) to the last one's end. */
    private static long wall(List<Chunk> chunks) {
        long start = Long.MAX_VALUE;
        long end = 0;
        for (Chunk ch : chunks) {
            for (long st : new long[] {ch.exportStartMs, ch.loadStartMs}) if (st > 0) start = Math.min(start, st);
            end = Math.max(end, Math.max(ch.exportEndMs, ch.loadEndMs));
        }
        return end > start ? end - start : 0;
    }

    /** Aligned text table; with totalLine the last row is set off as a total. */
    public static void table(StringBuilder sb, List<String[]> rows, boolean totalLine) {
        int[] w = new int[rows.get(0).length];
        for (String[] r : rows) for (int i = 0; i < r.length; i++) w[i] = Math.max(w[i], r[i].length());
        for (int ri = 0; ri < rows.size(); ri++) {
            String[] r = rows.get(ri);
            sb.append("  ");
            for (int i = 0; i < r.length; i++) {
                // first column left-aligned, numbers right-aligned
                sb.append(i == 0 ? String.format("%-" + w[i] + "s", r[i]) : String.format("  %" + w[i] + "s", r[i]));
            }
            sb.append('\n');
            if (ri == 0 || (totalLine && ri == rows.size() - 2)) {
                sb.append("  ");
                int total = 0;
                for (int x : w) total += x + 2;
                sb.append("-".repeat(total - 2)).append('\n');
            }
        }
    }

    public static void print(MigrationRun run, long totalMs) {
        HeapWatch.liveNow(); // one full GC, so the summary's live-heap figure has a sample from the end of the run
        String text = render(run, totalMs);
        System.out.println(text);
        try {
            WorkDir.writePrivate(run.path("summary.txt"), text);
        } catch (IOException e) {
            run.warn("cannot write summary.txt: " + e.getMessage());
        }
    }
}
