package tsmigrate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A partitioned table that is itself a partition (a year, split by region) is named in --include, --exclude and
 * --time-column like the top one: for its leaves (QA: only the top parent was matched; excluding the year copied its
 * rows without a word, including it matched "no table").
 */
class SubPartitionSelectionTest {
    static String[] dbs;
    @TempDir
    Path work;

    @BeforeAll
    static void source() throws Exception {
        dbs = Clusters.newPair("subpart");
        Clusters.runSql(Clusters.source(), dbs[0], """
                CREATE TABLE t_part (id int, ts timestamptz NOT NULL, region text) PARTITION BY RANGE (ts);
                CREATE TABLE t_part_2024 PARTITION OF t_part FOR VALUES FROM ('2024-01-01') TO ('2025-01-01') PARTITION BY LIST (region);
                CREATE TABLE t_part_2024_eu PARTITION OF t_part_2024 FOR VALUES IN ('eu');
                CREATE TABLE t_part_2024_def PARTITION OF t_part_2024 DEFAULT;
                CREATE TABLE t_part_2025 PARTITION OF t_part FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
                INSERT INTO t_part SELECT i, timestamptz '2024-06-01' + i * interval '1 day', CASE WHEN i % 2 = 0 THEN 'eu' ELSE 'us' END
                FROM generate_series(1, 400) i;
                """);
    }

    private Cli.Result plan(String... more) {
        String[] base = {"plan", "--source", Clusters.source().uri(dbs[0]), "--target", Clusters.target().uri(dbs[1]),
            "--work-dir", work.toString()};
        String[] all = java.util.Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, all, base.length, more.length);
        return Cli.run(all);
    }

    @Test
    void excludingASubPartitionedTableLeavesOutItsLeaves() {
        Cli.Result r = plan("--exclude", "public.t_part_2024");
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().contains("t_part_2025"), r.out());
        assertFalse(r.out().contains("t_part_2024_eu") || r.out().contains("t_part_2024_def"), r.out());
    }

    @Test
    void includingASubPartitionedTableTakesItsLeaves() {
        Cli.Result r = plan("--include", "public.t_part_2024");
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().contains("t_part_2024_eu") && r.out().contains("t_part_2024_def"), r.out());
        assertFalse(r.out().contains("t_part_2025"), r.out());
    }

    @Test
    void aTimeColumnOfASubPartitionedTableAppliesToItsLeaves() {
        Cli.Result r = plan("--time-column", "public.t_part_2024=ts", "--chunk-interval", "30 days");
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().contains("t_part_2024_eu"), r.out());
    }
}
