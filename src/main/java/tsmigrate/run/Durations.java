package tsmigrate.run;

/** Human forms of times, sizes and rates for logs, progress and the summary. */
public final class Durations {
    private Durations() {
    }

    public static String format(long ms) {
        if (ms < 10_000) return String.format("%.2f s", ms / 1000.0);
        long s = ms / 1000;
        if (s < 3600) return String.format("%d:%02d", s / 60, s % 60);
        return String.format("%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
    }

    public static String bytes(long b) {
        if (b < 1024) return b + " B";
        if (b < 1024 * 1024) return String.format("%.1f KiB", b / 1024.0);
        if (b < 1024L * 1024 * 1024) return String.format("%.1f MiB", b / (1024.0 * 1024));
        return String.format("%.2f GiB", b / (1024.0 * 1024 * 1024));
    }
}
