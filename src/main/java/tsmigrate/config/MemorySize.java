package tsmigrate.config;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A PostgreSQL memory setting such as {@code 1GB} or {@code 65536kB}, in kilobytes: the units PostgreSQL accepts
 * (B, kB, MB, GB, TB; a bare number is kB, as for maintenance_work_mem).
 */
public final class MemorySize {
    private static final Pattern FORM = Pattern.compile("\\s*(\\d{1,15})\\s*(B|kB|MB|GB|TB)?\\s*");
    /** maintenance_work_mem's bounds on the server: 1MB to INT_MAX kB. */
    public static final long MIN_KB = 1024, MAX_KB = Integer.MAX_VALUE;

    private MemorySize() {
    }

    /** Kilobytes, or -1 when the text is not a memory size. */
    public static long parseKb(String text) {
        if (text == null) return -1;
        Matcher m = FORM.matcher(text);
        if (!m.matches()) return -1;
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "kB" : m.group(2);
        return switch (unit) {
            case "B" -> n / 1024;
            case "kB" -> n;
            case "MB" -> n * 1024;
            case "GB" -> n * 1024 * 1024;
            default -> n * 1024 * 1024 * 1024;
        };
    }

    /** The setting as the server reads it, e.g. "262144kB". */
    public static String kb(long kb) {
        return kb + "kB";
    }
}
