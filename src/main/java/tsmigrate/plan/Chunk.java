package tsmigrate.plan;

import java.nio.file.Path;

import tsmigrate.db.Pg;

/**
 * One piece of one table: a WHERE clause over the source, and the CSV file it travels through.
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
        String sql = "SELECT " + (table.columns.isEmpty() ? "" : Pg.quotedColumns(table.columns))
                + " FROM ONLY " + table.qualified();
        return predicate == null ? sql : sql + " WHERE " + predicate;
    }

    public String copyOutSql() {
        return "COPY (" + selectSql() + ") TO STDOUT (FORMAT csv)";
    }

    public String copyInSql() {
        String cols = table.columns.isEmpty() ? "" : " (" + Pg.quotedColumns(table.columns) + ")";
        return "COPY " + table.qualified() + cols + " FROM STDIN (FORMAT csv)";
    }

    @Override
    public String toString() {
        return table.qualified() + " chunk " + number + " " + range;
    }
}
