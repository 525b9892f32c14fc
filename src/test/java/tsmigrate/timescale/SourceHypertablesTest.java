package tsmigrate.timescale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;

import tsmigrate.db.Pg;
import tsmigrate.it.PgliteFront;
import tsmigrate.timescale.SourceHypertables.ChunkRange;
import tsmigrate.timescale.SourceHypertables.Hypertable;

/** SourceHypertables.read on a real TimescaleDB: chunk ranges of every time type, as predicates that cover each row once. */
@EnabledIf(value = "tsmigrate.it.PgliteFront#available", disabledReason = "node >= 20 is not installed")
class SourceHypertablesTest {
    static PgliteFront engine;
    static Map<String, Hypertable> read;

    @BeforeAll
    static void setUp() throws Exception {
        engine = PgliteFront.start();
        try (Connection c = engine.connect()) {
            TsFixture.run(c, """
                    CREATE SCHEMA $S;
                    CREATE TABLE $T (t timestamptz NOT NULL, dev int NOT NULL, v int);
                    SELECT create_hypertable('$T', 't', chunk_time_interval => interval '1 day');
                    SELECT add_dimension('$T', 'dev', number_partitions => 2);
                    INSERT INTO $T SELECT t, d, 1 FROM generate_series(timestamptz '2024-01-01', timestamptz '2024-01-03 23:00', interval '1 hour') t, generate_series(1, 4) d;
                    ALTER TABLE $T SET (timescaledb.compress, timescaledb.compress_segmentby = 'dev');
                    SELECT count(compress_chunk(format('%I.%I', chunk_schema, chunk_name)::regclass)) FROM (SELECT * FROM timescaledb_information.chunks WHERE hypertable_name = 'tz table' AND range_start = timestamptz '2024-01-01' ORDER BY chunk_name LIMIT 1) x;
                    SELECT count(compress_chunk(format('%I.%I', chunk_schema, chunk_name)::regclass)) FROM timescaledb_information.chunks WHERE hypertable_name = 'tz table' AND range_start = timestamptz '2024-01-02';
                    CREATE TABLE ints (t int NOT NULL, v int);
                    SELECT create_hypertable('ints', 't', chunk_time_interval => 10);
                    INSERT INTO ints SELECT g, g FROM generate_series(-5, 35) g;
                    INSERT INTO ints VALUES (2147483647, 0), (-2147483648, 0);
                    ALTER TABLE ints SET (timescaledb.compress);
                    SELECT count(compress_chunk(c)) FROM show_chunks('ints', older_than => 10) c;
                    CREATE TABLE ts_local (t timestamp NOT NULL);
                    SELECT create_hypertable('ts_local', 't', chunk_time_interval => interval '36 hours');
                    INSERT INTO ts_local SELECT generate_series(timestamp '2024-01-01', timestamp '2024-01-05', interval '1 hour');
                    CREATE TABLE days (d date NOT NULL);
                    SELECT create_hypertable('days', 'd', chunk_time_interval => interval '7 days');
                    INSERT INTO days SELECT (timestamp '2024-01-01' + g * interval '1 day')::date FROM generate_series(0, 19) g;
                    CREATE TABLE far (t timestamptz NOT NULL);
                    SELECT create_hypertable('far', 't', chunk_time_interval => interval '1 year');
                    INSERT INTO far VALUES ('200000-01-01'), ('4000-01-01 BC'), ('2024-05-05');
                    CREATE TABLE empty (t timestamptz NOT NULL);
                    SELECT create_hypertable('empty', 't');
                    CREATE TABLE plain (t timestamptz);
                    """.replace("$T", "$S.\"tz table\"").replace("$S", "\"Odd \"\"Schema\"\"\""));
            // another session's DateStyle and TimeZone must not matter
            TsFixture.run(c, "SET DateStyle = 'SQL, DMY';");
            TsFixture.run(c, "SET TimeZone = 'America/St_Johns';");
            read = SourceHypertables.read(c);
            TsFixture.run(c, "RESET DateStyle;");
            TsFixture.run(c, "RESET TimeZone;");
        }
    }

    @AfterAll
    static void stop() {
        if (engine != null) engine.close();
    }

    @Test
    void listsTheHypertablesWithTheirTimeColumns() {
        assertEquals(List.of("Odd \"Schema\".tz table", "public.days", "public.empty", "public.far", "public.ints", "public.ts_local"),
                new ArrayList<>(read.keySet()), "hypertables only, by schema.table unquoted");
        Hypertable tz = read.get("Odd \"Schema\".tz table");
        assertEquals("t", tz.timeColumn());
        assertEquals("timestamp with time zone", tz.timeType());
        assertEquals("integer", read.get("public.ints").timeType());
        assertTrue(read.get("public.ints").integerTime());
        assertEquals("timestamp without time zone", read.get("public.ts_local").timeType());
        assertEquals("date", read.get("public.days").timeType());
        assertEquals(List.of(), read.get("public.empty").chunks());
    }

    @Test
    void timestamptzRangesMergeHashChunksAndAreCompressedWhenAllAre() throws Exception {
        try (Connection c = engine.connect()) {
            assertEquals("2", Pg.queryString(c, "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'tz table'"
                    + " AND range_start = timestamptz '2024-01-01'"), "two hash partitions per day");
        }
        assertEquals(List.of(new ChunkRange("'2024-01-01 00:00:00+00'", "'2024-01-02 00:00:00+00'", false),
                new ChunkRange("'2024-01-02 00:00:00+00'", "'2024-01-03 00:00:00+00'", true),
                new ChunkRange("'2024-01-03 00:00:00+00'", "'2024-01-04 00:00:00+00'", false)), read.get("Odd \"Schema\".tz table").chunks());
    }

    @Test
    void integerRangesAreNumbersOpenAtTheTypesLimits() {
        assertEquals(List.of(new ChunkRange(null, "-2147483640", true), new ChunkRange("-10", "0", true), new ChunkRange("0", "10", true),
                new ChunkRange("10", "20", false), new ChunkRange("20", "30", false), new ChunkRange("30", "40", false),
                new ChunkRange("2147483640", null, false)), read.get("public.ints").chunks());
    }

    @Test
    void timestampAndFarRanges() {
        assertEquals(List.of(new ChunkRange("'2023-12-31 00:00:00'", "'2024-01-01 12:00:00'", false),
                new ChunkRange("'2024-01-01 12:00:00'", "'2024-01-03 00:00:00'", false),
                new ChunkRange("'2024-01-03 00:00:00'", "'2024-01-04 12:00:00'", false),
                new ChunkRange("'2024-01-04 12:00:00'", "'2024-01-06 00:00:00'", false)), read.get("public.ts_local").chunks());
        List<ChunkRange> far = read.get("public.far").chunks();
        assertEquals(3, far.size());
        assertTrue(far.get(0).start().endsWith("+00 BC'"), far.toString());
        assertTrue(far.get(2).start().startsWith("'199999-"), far.toString());
    }

    @Test
    void everyRowFallsInExactlyOneRange() throws Exception {
        try (Connection c = engine.connect()) {
            for (Hypertable h : read.values()) {
                long total = Long.parseLong(Pg.queryString(c, "SELECT count(*) FROM " + Pg.qualified(h.schema(), h.table())));
                long sum = 0;
                String previousEnd = "start";
                List<String> any = new ArrayList<>();
                boolean gapless = List.of("tz table", "ts_local", "days").contains(h.table());
                for (ChunkRange r : h.chunks()) {
                    if (gapless && !"start".equals(previousEnd)) assertEquals(previousEnd, r.start(), h.key() + ": ranges are contiguous here");
                    previousEnd = r.end();
                    List<String> where = new ArrayList<>();
                    String col = Pg.ident(h.timeColumn());
                    if (r.start() != null) where.add(col + " >= CAST(" + r.start() + " AS " + h.timeType() + ")");
                    if (r.end() != null) where.add(col + " < CAST(" + r.end() + " AS " + h.timeType() + ")");
                    long n = Long.parseLong(Pg.queryString(c, "SELECT count(*) FROM " + Pg.qualified(h.schema(), h.table())
                            + (where.isEmpty() ? "" : " WHERE " + String.join(" AND ", where))));
                    assertTrue(n > 0, h.key() + " " + r + " selects no row");
                    sum += n;
                    any.add(where.isEmpty() ? "true" : "(" + String.join(" AND ", where) + ")");
                }
                assertEquals(total, sum, h.key() + ": " + h.chunks());
                if (!any.isEmpty()) {
                    assertEquals("0", Pg.queryString(c, "SELECT count(*) FROM " + Pg.qualified(h.schema(), h.table()) + " WHERE NOT ("
                            + String.join(" OR ", any) + ")"), h.key() + ": every row is in a range");
                }
                if (h.timeType().equals("date")) {
                    for (ChunkRange r : h.chunks()) assertTrue(r.start().matches("'\\d{4}-\\d{2}-\\d{2}'"), r.start());
                }
            }
        }
    }
}
