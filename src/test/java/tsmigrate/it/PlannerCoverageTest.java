package tsmigrate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import tsmigrate.config.ConnInfo;
import tsmigrate.config.JobConfig;
import tsmigrate.db.Pg;
import tsmigrate.plan.Chunk;
import tsmigrate.plan.Planner;
import tsmigrate.run.MigrationRun;

/**
 * The plan's chunks must select every source row exactly once: counted on the source, chunk by chunk,
 * for time columns with NULL and ±infinity, dates, keys, and a range so wide the interval is widened.
 */
class PlannerCoverageTest {
    static String db;
    @TempDir
    static Path work;

    @BeforeAll
    static void source() throws Exception {
        db = Clusters.newPair("plan")[0];
        Clusters.runSql(Clusters.source(), db, """
                CREATE TABLE ts (t timestamptz, v int);
                INSERT INTO ts SELECT timestamptz '2024-03-01 00:00+00' + i * interval '37 minutes', i FROM generate_series(1, 2000) i;
                INSERT INTO ts VALUES (NULL, -1), (NULL, -2), ('infinity', -3), ('-infinity', -4), ('2024-03-01 00:00+00', -5);
                CREATE INDEX ON ts (t);
                CREATE TABLE d (day date NOT NULL, v int);
                INSERT INTO d SELECT date '2020-01-01' + i, i FROM generate_series(0, 400) i;
                INSERT INTO d VALUES ('infinity', 0), ('-infinity', 0);
                CREATE INDEX ON d (day);
                CREATE TABLE bc (day date NOT NULL);
                INSERT INTO bc VALUES ('0044-03-15 BC'), ('0001-01-01 BC'), ('0001-01-01'), ('2024-01-01');
                CREATE INDEX ON bc (day);
                CREATE TABLE wide (t timestamp NOT NULL);
                INSERT INTO wide VALUES ('1900-01-01'), ('2000-06-15 12:00'), ('2100-12-31 23:59:59.999999');
                CREATE INDEX ON wide (t);
                CREATE TABLE k (id bigint PRIMARY KEY, x text);
                INSERT INTO k SELECT i * 7 - 9000000000000000000, 'x' FROM generate_series(1, 1000) i;
                INSERT INTO k VALUES (9223372036854775807, 'max'), (-9223372036854775808, 'min');
                CREATE TABLE only_nulls (t timestamptz, v int);
                INSERT INTO only_nulls VALUES (NULL, 1), ('infinity', 2);
                CREATE INDEX ON only_nulls (t);
                CREATE TABLE wide_partial (t timestamp NOT NULL);
                INSERT INTO wide_partial SELECT t FROM wide;
                CREATE INDEX ON wide_partial (t) WHERE t > '1800-01-01';
                CREATE TABLE sentinel (t timestamptz NOT NULL, v int);
                INSERT INTO sentinel SELECT timestamptz '2024-05-01 00:00+00' + i * interval '5 minutes', i FROM generate_series(1, 1000) i;
                INSERT INTO sentinel VALUES ('9999-12-31 00:00+00', 0);
                CREATE INDEX ON sentinel (t);
                CREATE TABLE dense (t timestamp NOT NULL);
                INSERT INTO dense SELECT timestamp '2024-01-01' + i * interval '1 hour' FROM generate_series(1, 6000) i;
                CREATE INDEX ON dense (t);
                CREATE TABLE parted (t timestamptz NOT NULL, u timestamptz NOT NULL) PARTITION BY RANGE (u);
                CREATE TABLE parted_a PARTITION OF parted FOR VALUES FROM ('2000-01-01') TO ('2025-01-01');
                CREATE TABLE parted_b PARTITION OF parted FOR VALUES FROM ('2025-01-01') TO ('2100-01-01');
                INSERT INTO parted SELECT timestamptz '2024-12-20' + i * interval '1 hour', timestamptz '2024-12-20' + i * interval '1 hour'
                FROM generate_series(1, 480) i;
                CREATE INDEX ON parted (t);
                CREATE TABLE days (t date NOT NULL, v int);
                INSERT INTO days SELECT date '2000-01-01' + i / 2, i FROM generate_series(0, 11999) i;
                CREATE INDEX ON days (t);
                CREATE TABLE micro (t timestamptz NOT NULL);
                INSERT INTO micro SELECT timestamptz '2024-01-01' + i * interval '158 seconds' FROM generate_series(1, 20000) i;
                CREATE INDEX ON micro (t);
                CREATE TABLE toasty (t timestamptz NOT NULL, doc text);
                ALTER TABLE toasty ALTER doc SET STORAGE EXTERNAL;
                INSERT INTO toasty SELECT timestamptz '2024-01-01' + i * interval '1 day', repeat(md5(i::text), 16000) FROM generate_series(1, 20) i;
                CREATE INDEX ON toasty (t);
                CREATE TABLE noindex (t timestamptz NOT NULL);
                INSERT INTO noindex SELECT timestamptz '2024-01-01' + i * interval '1 hour' FROM generate_series(1, 100) i;
                ANALYZE;
                """);
    }

    private static List<Chunk> plan(String interval, long splitRows) throws Exception {
        return plan(interval, splitRows, java.util.Map.of());
    }

    private static List<Chunk> plan(String interval, long splitRows, java.util.Map<String, String> timeColumns) throws Exception {
        JobConfig cfg = new JobConfig();
        cfg.timeColumns.putAll(timeColumns);
        cfg.source = ConnInfo.parse("source", Clusters.source().uri(db));
        // each plan is saved in the state store of a fresh target database
        String target = "plan_state_" + System.nanoTime();
        Clusters.target().createDatabase(target);
        cfg.target = ConnInfo.parse("target", Clusters.target().uri(target));
        cfg.workDir = work;
        cfg.chunkInterval = interval;
        cfg.chunkIntervalGiven = interval != null;
        if (interval == null) cfg.chunkInterval = new JobConfig().chunkInterval; // the default, not asked for
        cfg.splitRows = splitRows;
        MigrationRun run = new MigrationRun(cfg);
        run.workDir.prepare();
        try (Connection c = run.state.connect()) {
            run.state.create(c, cfg.source, cfg.chunkInterval);
        }
        new Planner().plan(run);
        return run.getChunks();
    }

    private static void assertCovered(List<Chunk> chunks, String table) throws Exception {
        List<Chunk> mine = chunks.stream().filter(c -> c.table.name.equals(table)).toList();
        try (Connection c = Clusters.source().connect(db)) {
            long total = Long.parseLong(Pg.queryString(c, "SELECT count(*) FROM ONLY " + Pg.qualified("public", table)));
            long sum = 0;
            for (int i = 0; i < mine.size(); i += 500) { // counted 500 chunks a statement: a per-chunk round trip is slow
                sum += Long.parseLong(Pg.queryString(c, "SELECT sum(n) FROM (" + String.join(" UNION ALL ", mine.subList(i, Math.min(i + 500, mine.size()))
                        .stream().map(ch -> "SELECT count(*) AS n FROM (" + ch.selectSql() + ") s").toList()) + ") a"));
            }
            assertEquals(total, sum, table + ": chunks " + ranges(mine));
        }
    }

    /** The first ranges of chunks, for a message. */
    private static String ranges(List<Chunk> chunks) {
        return chunks.size() + ", from " + chunks.stream().limit(6).map(ch -> ch.range).toList();
    }

    @Test
    void timeChunksCoverNullAndInfinityOnce() throws Exception {
        List<Chunk> chunks = plan("1 day", 1_000_000);
        List<Chunk> ts = chunks.stream().filter(c -> c.table.name.equals("ts")).toList();
        assertTrue(ts.size() > 50, "about 52 days of data in 1-day chunks, got " + ts.size());
        assertTrue(ts.stream().anyMatch(c -> "t IS NULL".equals(c.range)));
        assertCovered(chunks, "ts");
        assertCovered(chunks, "d");
        assertCovered(chunks, "only_nulls");
    }

    /**
     * Without --chunk-interval, a table under 8 MiB is one chunk, NULL and infinite times included: a 2,000-table
     * migration of small tables made 4,000 chunks, each costing more than its rows. Asked for, the interval splits it.
     */
    @Test
    void aSmallTableIsOneChunkUnlessAnIntervalIsAskedFor() throws Exception {
        List<Chunk> chunks = plan(null, 1_000_000);
        for (String table : List.of("ts", "d", "only_nulls", "sentinel", "bc")) {
            List<Chunk> mine = chunks.stream().filter(c -> c.table.name.equals(table)).toList();
            assertEquals(1, mine.size(), table + ": " + ranges(mine));
            assertCovered(chunks, table);
        }
        Chunk ts = chunks.stream().filter(c -> c.table.name.equals("ts")).findFirst().orElseThrow();
        try (Connection c = Clusters.source().connect(db)) {
            // the mark a catch-up starts from, and a row above it, which the chunk leaves to catch-up
            assertEquals(Pg.queryString(c, "SELECT max(t) = CAST(" + Pg.literal(ts.table.highWater) + " AS timestamptz) FROM ts WHERE t < 'infinity'"), "t");
            Pg.exec(c, "BEGIN; INSERT INTO ts VALUES (CAST(" + Pg.literal(ts.table.highWater) + " AS timestamptz) + interval '1 second', -9)");
            assertEquals("0", Pg.queryString(c, "SELECT count(*) FROM (" + ts.selectSql() + ") s WHERE v = -9"));
            Pg.exec(c, "ROLLBACK");
        }
        // 10 MB of documents in TOAST, 8 KiB in its main fork: not small (QA: one chunk for a table of any size there)
        assertEquals(20, chunks.stream().filter(c -> c.table.name.equals("toasty")).count());
        List<Chunk> asked = plan("1 day", 1_000_000);
        assertTrue(asked.stream().filter(c -> c.table.name.equals("ts")).count() > 50);
    }

    @Test
    void dateColumnWithSubDayIntervalHasNoDuplicateBoundaries() throws Exception {
        List<Chunk> chunks = plan("6 hours", 1_000_000);
        long d = chunks.stream().filter(c -> c.table.name.equals("d")).count();
        assertEquals(401, d, "400 day boundaries (one per day after the first) make 401 ranges; NOT NULL, so no NULL chunk");
        assertCovered(chunks, "d");
        assertCovered(chunks, "ts");
    }

    @Test
    void sparseRowsOverCenturiesMakeFewChunks() throws Exception {
        List<Chunk> chunks = plan("1 hour", 1_000_000);
        long wide = chunks.stream().filter(c -> c.table.name.equals("wide")).count();
        assertTrue(wide <= 5, "3 rows over 200 years: a chunk per row (and the one before the first), got " + wide);
        assertCovered(chunks, "wide");
        assertCovered(chunks, "bc");
    }

    /** A partial index cannot find the next value for the probes: the span is split evenly, widened to the limit. */
    @Test
    void hugeSpanWithoutAWholeIndexWidensTheInterval() throws Exception {
        List<Chunk> chunks = plan("1 hour", 1_000_000);
        long wide = chunks.stream().filter(c -> c.table.name.equals("wide_partial")).count();
        assertTrue(wide <= 5001 && wide > 100, "200 years of hours is widened to at most 5000 ranges, got " + wide);
        assertCovered(chunks, "wide_partial");
    }

    @Test
    void moreNonEmptyIntervalsThanTheLimitWidenTheInterval() throws Exception {
        List<Chunk> chunks = plan("1 hour", 1_000_000);
        long dense = chunks.stream().filter(c -> c.table.name.equals("dense")).count();
        assertTrue(dense <= 5001 && dense > 2000, "6000 rows, one an hour, in 1-hour chunks: widened to at most 5000, got " + dense);
        assertCovered(chunks, "dense");
    }

    /** No chunk holds more than a small share of the rows: the boundary list was cut short, leaving one giant last chunk. */
    private static void assertNoGiantChunk(List<Chunk> chunks, String table, long maxRows) throws Exception {
        List<Chunk> mine = chunks.stream().filter(c -> c.table.name.equals(table)).toList();
        try (Connection c = Clusters.source().connect(db)) {
            Chunk last = mine.stream().filter(ch -> ch.range.endsWith("and infinity")).findFirst().orElseThrow(() -> new AssertionError(ranges(mine)));
            long n = Long.parseLong(Pg.queryString(c, "SELECT count(*) FROM (" + last.selectSql() + ") s"));
            assertTrue(n <= maxRows, table + ": the last chunk " + last.range + " holds " + n + " rows; chunks " + ranges(mine));
        }
        assertCovered(chunks, table);
    }

    /** A date column with a 13-hour interval: two boundaries of a day counted twice against the limit, which cut the list. */
    @Test
    void aDateColumnWithAnIntervalOfPartDaysIsSplitEvenly() throws Exception {
        assertNoGiantChunk(plan("13 hours", 1_000_000), "days", 100);
    }

    /** '1 microsecond' over a year: widening stopped at 2^30 times, with the list still cut at the limit. */
    @Test
    void aTinyIntervalIsWidenedAsFarAsItTakes() throws Exception {
        assertNoGiantChunk(plan("1 microsecond", 1_000_000), "micro", 100);
    }

    /** A far outlier (a 9999-12-31 sentinel) once made ~5000 chunks, all but two empty, and 22 s of data step for 1,001 rows. */
    @Test
    void farOutlierDoesNotMakeEmptyChunks() throws Exception {
        List<Chunk> chunks = plan("1 day", 1_000_000);
        List<Chunk> mine = chunks.stream().filter(c -> c.table.name.equals("sentinel")).toList();
        assertTrue(mine.size() >= 4 && mine.size() <= 6, "3.5 days of rows and one far outlier in 1-day chunks, got " + ranges(mine));
        assertCovered(chunks, "sentinel");
        try (Connection c = Clusters.source().connect(db)) {
            for (Chunk ch : mine) {
                long n = Long.parseLong(Pg.queryString(c, "SELECT count(*) FROM (" + ch.selectSql() + ") s"));
                assertTrue(n > 0, "empty chunk " + ch.range);
            }
        }
    }

    @Test
    void keyRangesCoverExtremeBigints() throws Exception {
        List<Chunk> chunks = plan("1 day", 100);
        long k = chunks.stream().filter(c -> c.table.name.equals("k")).count();
        assertTrue(k >= 5, "1002 rows / 100 per chunk, got " + k);
        assertCovered(chunks, "k");
    }

    /** A time column named for a partitioned table applies to its leaves (the tables that hold the rows). */
    @Test
    void timeColumnOfAPartitionedTableSplitsItsLeaves() throws Exception {
        // u, not t: without the setting the leaves would be split by t, the column an index leads with
        List<Chunk> chunks = plan("1 day", 1_000_000, java.util.Map.of("public.parted", "u"));
        for (String leaf : List.of("parted_a", "parted_b")) {
            List<Chunk> mine = chunks.stream().filter(c -> c.table.name.equals(leaf)).toList();
            assertTrue(mine.size() >= 5, leaf + ": ~10 days in 1-day chunks, got " + ranges(mine));
            assertEquals("u", mine.get(0).table.timeColumn, leaf);
            assertCovered(chunks, leaf);
        }
    }

    @Test
    void unindexedTimeColumnIsOneChunk() throws Exception {
        List<Chunk> chunks = plan("1 day", 1_000_000);
        assertEquals(1, chunks.stream().filter(c -> c.table.name.equals("noindex")).count());
        assertCovered(chunks, "noindex");
    }
}
