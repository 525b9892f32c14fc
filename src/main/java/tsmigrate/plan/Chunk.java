package tsmigrate.plan;

import java.nio.file.Path;

import tsmigrate.db.Pg;

/**
 * One piece of one table: a WHERE clause over the source, and the file it travels through (.csv, or .bin for binary COPY).
 * The counters are written by the one worker that owns the chunk at a time.
 */
public final class Chunk {
    public final TableInfo table;
    public final int number;
    /** SQL condition selecting exactly this chunk's rows, or null for the whole table. */
    public final String predicate;
    /** The range in words, e.g. [2024-01-01, 2024-01-02). */
    public final String range;
    public final Path file;

    public volatile long exportedRows = -1;
    public volatile long bytes = -1;
    public volatile long loadedRows = -1;
    public volatile long exportStartMs;
    public volatile long exportEndMs;
    public volatile long loadStartMs;
    public volatile long loadEndMs;
    public volatile String worker;
    /** planned, exported, loaded, verified, mismatch: mirrors the state store. */
    public volatile String state = "planned";
    /** rows/hash sum/format of the rows as exported (verify.Fingerprint), taken from the export's own stream. */
    public volatile String sourceFingerprint;

    public Chunk(TableInfo table, int number, String predicate, String range, Path file) {
        this.table = table;
        this.number = number;
        this.predicate = predicate;
        this.range = range;
        this.file = file;
    }

    public String id() {
        return table.key() + "#" + number;
    }

    /** The source query: only this table's own rows (ONLY: inheritance children are chunks of their own). */
    public String selectSql() {
        return selectSql(false);
    }

    /** @param onTarget the same rows read on the target (a hypertable there is read without ONLY) */
    public String selectSql(boolean onTarget) {
        String sql = "SELECT " + (table.columns.isEmpty() ? "" : Pg.quotedColumns(table.columns))
                + " FROM " + only(onTarget) + table.qualified();
        return predicate == null ? sql : sql + " WHERE " + predicate;
    }

    private String only(boolean onTarget) {
        return (onTarget ? table.hypertableOnTarget : table.hypertableOnSource) ? "" : "ONLY ";
    }

    public String copyOutSql(String format) {
        return copyOutSql(format, false);
    }

    /** @param onTarget the same rows read back on the target (for their fingerprint) */
    public String copyOutSql(String format, boolean onTarget) {
        return "COPY (" + selectSql(onTarget) + ") TO STDOUT (FORMAT " + format(format) + ")";
    }

    public String copyInSql(String format) {
        String cols = table.columns.isEmpty() ? "" : " (" + Pg.quotedColumns(table.columns) + ")";
        return "COPY " + table.qualified() + cols + " FROM STDIN (FORMAT " + format(format) + ")";
    }

    private static String format(String f) {
        if (!f.equals("csv") && !f.equals("binary")) throw new IllegalArgumentException("COPY format " + f);
        return f;
    }

    /** The chunk's file in the work dir for a COPY format and compression: NNNNNN.csv, .csv.gz, .bin, .bin.gz. */
    public java.nio.file.Path dataFile(String format, String compression) {
        String base = file.getFileName().toString().replaceFirst("\\.csv$", "");
        return file.resolveSibling(base + (format.equals("binary") ? ".bin" : ".csv") + (compression.equals("gzip") ? ".gz" : ""));
    }

    @Override
    public String toString() {
        return table.shown() + " chunk " + number + " " + range;
    }
}
