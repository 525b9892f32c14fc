package tsmigrate.copy;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.FilterInputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import tsmigrate.report.Console;
import tsmigrate.run.Durations;

/**
 * Live progress of a copy step: bytes are counted as they stream, rows when a chunk ends.
 * Logs a line every period, or on a terminal keeps bars up to date (see {@link Console}).
 */
public final class Progress implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger("tsmigrate.progress");

    private final String step;
    private final int totalChunks;
    private final long totalBytes;
    private final boolean exactTotal;
    private final long startMs = System.currentTimeMillis();
    final AtomicLong bytes = new AtomicLong();
    final AtomicLong rows = new AtomicLong();
    final AtomicLong chunksDone = new AtomicLong();
    private final ScheduledExecutorService timer;
    private volatile Runnable onTick = () -> { };
    /** What is counted done out of the total: chunks (with their rows), or whole things that have no rows. */
    private volatile String unit = "chunks";
    /** Per table: {bytes, chunks done, chunks total, chunks in flight}, for the terminal's per-table bars. */
    private final java.util.Map<String, long[]> tables = new java.util.concurrent.ConcurrentSkipListMap<>();
    /**
     * Each chunk's share of totalBytes (forChunks), and the shares of the chunks done: the ETA follows the estimate's own
     * measure, so that an estimate that is off by a factor (table sizes against COPY bytes; gzip files) is off in both.
     */
    private final java.util.Map<tsmigrate.plan.Chunk, Long> estimates = new java.util.IdentityHashMap<>();
    final AtomicLong estimateDone = new AtomicLong();
    /** On a terminal: bars redrawn in place instead of a log line per period. */
    private final boolean tty = Console.isTty();

    /** @param exactTotal whether totalBytes is known (load: file sizes) or a guess (export: table sizes). */
    public Progress(String step, int totalChunks, long totalBytes, boolean exactTotal, int periodSeconds) {
        this.step = step;
        this.totalChunks = totalChunks;
        this.totalBytes = totalBytes;
        this.exactTotal = exactTotal;
        this.timer = tsmigrate.run.Background.timer("progress-" + step);
        if (tty) timer.scheduleAtFixedRate(this::redraw, 500, 500, TimeUnit.MILLISECONDS);
        timer.scheduleAtFixedRate(this::report, periodSeconds, periodSeconds, TimeUnit.SECONDS);
    }

    /** Also run at every period (e.g. rewrite status.json). */
    public Progress onTick(Runnable r) {
        this.onTick = r;
        return this;
    }

    /** Counts whole things of this name (e.g. "large objects") instead of chunks and their rows. */
    public Progress unit(String name) {
        this.unit = name;
        return this;
    }

    /** Machine-readable figures for status.json. */
    public String json() {
        long ms = Math.max(1, System.currentTimeMillis() - startMs);
        long b = bytes.get();
        double rate = b * 1000.0 / ms;
        long eta = Math.max(0, etaMs(ms, b) / 1000);
        return String.format(java.util.Locale.ROOT, "{\"step\": \"%s\", \"chunksDone\": %d, \"chunksTotal\": %d, \"rows\": %d, \"bytes\": %d,"
                + " \"bytesTotalEstimate\": %d, \"bytesPerSecond\": %.0f, \"rowsPerSecond\": %.0f, \"etaSeconds\": %d}",
                step, chunksDone.get(), totalChunks, rows.get(), b, totalBytes, rate, rows.get() * 1000.0 / ms, eta);
    }

    /** Live bars on the terminal: the whole step, then each table with chunks in flight. */
    private void redraw() {
        List<String> lines = new ArrayList<>();
        lines.add(bar(bytes.get(), totalBytes) + ' ' + line());
        for (java.util.Map.Entry<String, long[]> e : tables.entrySet()) {
            long[] t = e.getValue();
            if (t[3] <= 0 || lines.size() > 8) continue;
            lines.add("  " + bar(t[1], t[2]) + ' ' + e.getKey() + ": " + t[1] + '/' + t[2] + " chunks, " + Durations.bytes(t[0])
                    + ", " + t[3] + " in flight");
        }
        Console.drawBars(lines);
    }

    private static String bar(long done, long total) {
        int width = 24;
        int filled = total > 0 ? (int) Math.min(width, done * width / total) : 0;
        return "[" + "#".repeat(filled) + " ".repeat(width - filled) + "]";
    }

    /**
     * The progress of a step over the chunks todo (data, verify): their expected bytes, a bar per table, and
     * status.json rewritten every period.
     */
    public static Progress forChunks(String step, List<tsmigrate.plan.Chunk> todo, tsmigrate.run.MigrationRun run) {
        java.util.Map<tsmigrate.plan.Chunk, Long> estimates = expectedBytes(todo, run.getChunks());
        long total = 0;
        for (long e : estimates.values()) total += e;
        Progress p = new Progress(step, todo.size(), total, false, run.cfg.progressSeconds);
        synchronized (p.estimates) {
            p.estimates.putAll(estimates);
        }
        p.onTick(() -> tsmigrate.report.StatusFile.write(run, p));
        for (tsmigrate.plan.Chunk ch : todo) p.expect(ch.table.key(), 1);
        return p;
    }

    /** The bytes of each of todo: an exported chunk's file size where known, else its table's size spread over its chunks. */
    private static java.util.Map<tsmigrate.plan.Chunk, Long> expectedBytes(List<tsmigrate.plan.Chunk> todo, List<tsmigrate.plan.Chunk> all) {
        java.util.Map<tsmigrate.plan.TableInfo, Integer> perTable = new java.util.HashMap<>();
        for (tsmigrate.plan.Chunk ch : all) perTable.merge(ch.table, 1, Integer::sum);
        java.util.Map<tsmigrate.plan.Chunk, Long> out = new java.util.IdentityHashMap<>();
        for (tsmigrate.plan.Chunk ch : todo) out.put(ch, ch.bytes > 0 ? ch.bytes : ch.table.bytes / perTable.get(ch.table));
        return out;
    }

    /** Bytes that passed without a counting stream (e.g. read back row by row). */
    public void addBytes(long n) {
        bytes.addAndGet(n);
    }

    public void chunkDone(long chunkRows) {
        rows.addAndGet(chunkRows);
        chunksDone.incrementAndGet();
    }

    /** A chunk of forChunks' is done: also its share of the estimate, for the ETA. */
    public void chunkDone(tsmigrate.plan.Chunk chunk, long chunkRows) {
        Long e;
        synchronized (estimates) {
            e = estimates.remove(chunk);
        }
        if (e != null) estimateDone.addAndGet(e);
        chunkDone(chunkRows);
    }

    /** Milliseconds left: by the estimate's share done once a chunk is, before that by the byte rate; -1 when unknown. */
    long etaMs(long elapsedMs, long bytesDone) {
        long shareDone = estimateDone.get();
        if (shareDone > 0 && totalBytes > shareDone) return (long) ((double) elapsedMs * (totalBytes - shareDone) / shareDone);
        if (shareDone > 0) return -1;
        double rate = bytesDone * 1000.0 / elapsedMs;
        return totalBytes > 0 && rate > 0 && bytesDone < totalBytes ? (long) ((totalBytes - bytesDone) / rate * 1000) : -1;
    }

    /** Declares a table's share of the work, for its bar. */
    public void expect(String table, long chunks) {
        tables.computeIfAbsent(table, k -> new long[4])[2] += chunks;
    }

    public void chunkStarted(String table) {
        long[] t = tables.computeIfAbsent(table, k -> new long[4]);
        synchronized (t) {
            t[3]++;
        }
    }

    public void chunkEnded(String table, long chunkBytes, boolean done) {
        long[] t = tables.computeIfAbsent(table, k -> new long[4]);
        synchronized (t) {
            t[3]--;
            if (done) {
                t[1]++;
                t[0] += Math.max(0, chunkBytes);
            }
        }
    }

    /** The final figures of a finished step: no ETA. */
    public String totals() {
        String l = line();
        int eta = l.indexOf(", ETA");
        return (eta < 0 ? l : l.substring(0, eta)).substring(step.length() + 2);
    }

    public String line() {
        long ms = Math.max(1, System.currentTimeMillis() - startMs);
        long b = bytes.get();
        double rate = b * 1000.0 / ms;
        long left = etaMs(ms, b);
        String eta = left >= 0 ? ", ETA " + (exactTotal ? "" : "~") + Durations.format(left) : "";
        String of = totalBytes > 0 ? " of " + (exactTotal ? "" : "~") + Durations.bytes(totalBytes) : "";
        if (!unit.equals("chunks")) {
            return String.format("%s: %d/%d %s, %s%s, %s/s%s", step, chunksDone.get(), totalChunks, unit, Durations.bytes(b), of,
                    Durations.bytes((long) rate), eta);
        }
        return String.format("%s: %d/%d chunks, %,d rows, %s%s, %s/s, %,.0f rows/s%s", step, chunksDone.get(), totalChunks,
                rows.get(), Durations.bytes(b), of, Durations.bytes((long) rate), rows.get() * 1000.0 / ms, eta);
    }

    private void report() {
        if (!tty) LOG.info(line());
        onTick.run();
    }

    public OutputStream counting(OutputStream out) {
        return new FilterOutputStream(out) {
            @Override
            public void write(byte[] buf, int off, int len) throws IOException {
                out.write(buf, off, len);
                bytes.addAndGet(len);
            }

            @Override
            public void write(int b) throws IOException {
                out.write(b);
                bytes.incrementAndGet();
            }
        };
    }

    public InputStream counting(InputStream in) {
        return new FilterInputStream(in) {
            @Override
            public int read(byte[] buf, int off, int len) throws IOException {
                int n = in.read(buf, off, len);
                if (n > 0) bytes.addAndGet(n);
                return n;
            }

            @Override
            public int read() throws IOException {
                int b = in.read();
                if (b >= 0) bytes.incrementAndGet();
                return b;
            }
        };
    }

    @Override
    public void close() {
        timer.shutdownNow();
        Console.clearBars(); // the step's end line follows
        onTick.run();
    }
}
