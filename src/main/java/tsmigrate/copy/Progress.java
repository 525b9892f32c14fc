package tsmigrate.copy;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.FilterInputStream;
import java.io.OutputStream;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import tsmigrate.run.Durations;

/**
 * Live progress of a copy step: bytes are counted as they stream, rows when a chunk ends.
 * Prints a line every period (and a self-overwriting line on a terminal).
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
    /** On a terminal: one self-overwriting line instead of a log line per period. */
    private final boolean tty = System.console() != null && System.getenv("CI") == null;

    /** @param exactTotal whether totalBytes is known (load: file sizes) or a guess (export: table sizes). */
    public Progress(String step, int totalChunks, long totalBytes, boolean exactTotal, int periodSeconds) {
        this.step = step;
        this.totalChunks = totalChunks;
        this.totalBytes = totalBytes;
        this.exactTotal = exactTotal;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "progress-" + step);
            t.setDaemon(true);
            return t;
        });
        if (tty) timer.scheduleAtFixedRate(this::redraw, 500, 500, TimeUnit.MILLISECONDS);
        timer.scheduleAtFixedRate(this::report, periodSeconds, periodSeconds, TimeUnit.SECONDS);
    }

    /** Also run at every period (e.g. rewrite status.json). */
    public Progress onTick(Runnable r) {
        this.onTick = r;
        return this;
    }

    /** Machine-readable figures for status.json. */
    public String json() {
        long ms = Math.max(1, System.currentTimeMillis() - startMs);
        long b = bytes.get();
        double rate = b * 1000.0 / ms;
        long eta = totalBytes > 0 && rate > 0 && b < totalBytes ? (long) ((totalBytes - b) / rate) : 0;
        return String.format(java.util.Locale.ROOT, "{\"step\": \"%s\", \"chunksDone\": %d, \"chunksTotal\": %d, \"rows\": %d, \"bytes\": %d,"
                + " \"bytesTotalEstimate\": %d, \"bytesPerSecond\": %.0f, \"rowsPerSecond\": %.0f, \"etaSeconds\": %d}",
                step, chunksDone.get(), totalChunks, rows.get(), b, totalBytes, rate, rows.get() * 1000.0 / ms, eta);
    }

    /** A live bar on the terminal: progress by bytes, with the figures of the log line. */
    private void redraw() {
        long b = bytes.get();
        int width = 30;
        int filled = totalBytes > 0 ? (int) Math.min(width, b * width / totalBytes) : 0;
        System.err.print("\r[" + "#".repeat(filled) + " ".repeat(width - filled) + "] " + line() + "\u001b[K");
        System.err.flush();
    }

    public void chunkDone(long chunkRows) {
        rows.addAndGet(chunkRows);
        chunksDone.incrementAndGet();
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
        String eta = "";
        if (totalBytes > 0 && rate > 0 && b < totalBytes) {
            eta = ", ETA " + (exactTotal ? "" : "~") + Durations.format((long) ((totalBytes - b) / rate * 1000));
        }
        return String.format("%s: %d/%d chunks, %,d rows, %s%s, %s/s, %,.0f rows/s%s", step, chunksDone.get(), totalChunks,
                rows.get(), Durations.bytes(b), totalBytes > 0 ? " of " + (exactTotal ? "" : "~") + Durations.bytes(totalBytes) : "",
                Durations.bytes((long) rate), rows.get() * 1000.0 / ms, eta);
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
        if (tty) {
            System.err.print("\r\u001b[K");
            System.err.flush();
        }
        onTick.run();
    }
}
