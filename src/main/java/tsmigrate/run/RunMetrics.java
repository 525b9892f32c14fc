package tsmigrate.run;

import io.micrometer.core.instrument.Metrics;

/**
 * Migration metrics on Micrometer's global registry; serve adds Camel's Prometheus registry to it, so they
 * appear under /observe/metrics. Without serve they cost a map lookup per chunk.
 */
public final class RunMetrics {
    private RunMetrics() {
    }

    public static void chunkLoaded(MigrationRun run, String table, long rows, long bytes) {
        Metrics.counter("tsmigrate_rows_loaded", "job", run.cfg.name, "table", table).increment(rows);
        Metrics.counter("tsmigrate_bytes_loaded", "job", run.cfg.name, "table", table).increment(bytes);
        Metrics.counter("tsmigrate_chunks", "job", run.cfg.name, "state", "loaded").increment();
    }

    public static void chunkExported(MigrationRun run) {
        Metrics.counter("tsmigrate_chunks", "job", run.cfg.name, "state", "exported").increment();
    }

    public static void chunkVerified(MigrationRun run, boolean ok) {
        Metrics.counter("tsmigrate_chunks", "job", run.cfg.name, "state", ok ? "verified" : "mismatch").increment();
    }

    public static void error(MigrationRun run, String step) {
        Metrics.counter("tsmigrate_errors", "job", run.cfg.name, "step", step).increment();
    }
}
