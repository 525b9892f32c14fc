package tsmigrate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import tsmigrate.cli.TsMigrate;
import tsmigrate.db.Pg;

/**
 * Two runs of the same migration at once in one process, as {@code serve} runs the same job dropped twice: they
 * share the chunks as two instances would. Neither may take the other's live claims for its own: the second would
 * then count the first's chunks in flight as its own workers', end its data step without them, and fail.
 */
class ConcurrentRunsTest {
    @TempDir
    Path work;

    private String[] args(String[] dbs, String workDir, String... steps) {
        List<String> args = new java.util.ArrayList<>(List.of("migrate", "--source", Clusters.source().uri(dbs[0]),
                "--target", Clusters.target().uri(dbs[1]), "--work-dir", work.resolve(workDir).toString(), "--workers", "2",
                "--chunk-interval", "6 hours"));
        if (steps.length > 0) args.addAll(List.of("--steps", String.join(",", steps)));
        return args.toArray(String[]::new);
    }

    @Test
    void twoRunsOfOneMigrationInOneProcessShareTheChunks() throws Exception {
        String[] dbs = Clusters.newPair("two_runs");
        Clusters.runSql(Clusters.source(), dbs[0], "CREATE TABLE m (time timestamptz NOT NULL, v int);"
                + " INSERT INTO m SELECT timestamptz '2025-01-01' + i * interval '1 minute', i FROM generate_series(0, 2879) i;"
                + " CREATE INDEX ON m (time)");
        Cli.Result first = Cli.run(args(dbs, "a", "preflight", "pre-data"));
        assertEquals(0, first.exit(), first.all());
        // Each chunk's load takes a second, so the first run holds claims for a while: 8 chunks on 2 workers.
        CompletableFuture<Integer> a = SlowLoads.startAndAwaitClaim(dbs[1], args(dbs, "a"));
        CompletableFuture<Integer> b = CompletableFuture.supplyAsync(() -> TsMigrate.run(args(dbs, "b")));
        assertEquals(0, a.get(3, TimeUnit.MINUTES), "the first run");
        assertEquals(0, b.get(3, TimeUnit.MINUTES), "the second run");
        try (Connection s = Clusters.source().connect(dbs[0]); Connection t = Clusters.target().connect(dbs[1])) {
            assertEquals(DbCompare.rowsAsText(s, "\"public\".\"m\""), DbCompare.rowsAsText(t, "\"public\".\"m\""), "every row once");
            assertEquals("0", Pg.queryString(t, "SELECT count(*) FROM tsmigrate.chunk WHERE state <> 'verified'"));
            assertEquals("0", Pg.queryString(t, "SELECT count(*) FROM tsmigrate.chunk WHERE claimed_by IS NOT NULL"));
        }
    }

    /**
     * Two catch-ups at once (two cron jobs, say): the second took the first's deleted data step for a migration never
     * finished and failed, and status kept its failure (QA). They share the work now, and each row comes once.
     */
    @Test
    void twoCatchUpsAtOnceShareTheWork() throws Exception {
        String[] dbs = Clusters.newPair("two_catchups");
        Clusters.runSql(Clusters.source(), dbs[0], "CREATE TABLE m (time timestamptz NOT NULL, v int);"
                + " INSERT INTO m SELECT timestamptz '2025-01-01' + i * interval '1 minute', i FROM generate_series(0, 2879) i;"
                + " CREATE INDEX ON m (time)");
        Cli.Result first = Cli.run(args(dbs, "a"));
        assertEquals(0, first.exit(), first.all());
        Clusters.runSql(Clusters.source(), dbs[0], "INSERT INTO m SELECT timestamptz '2025-01-03' + i * interval '1 minute', i FROM generate_series(0, 99) i");
        String[] catchUpA = java.util.stream.Stream.concat(java.util.Arrays.stream(args(dbs, "a")), java.util.stream.Stream.of("--catch-up"))
                .toArray(String[]::new);
        String[] catchUpB = java.util.stream.Stream.concat(java.util.Arrays.stream(args(dbs, "b")), java.util.stream.Stream.of("--catch-up"))
                .toArray(String[]::new);
        CompletableFuture<Integer> a = SlowLoads.startAndAwaitClaim(dbs[1], catchUpA);
        Clusters.runSql(Clusters.source(), dbs[0], "INSERT INTO m SELECT timestamptz '2025-01-04' + i * interval '1 minute', i FROM generate_series(0, 49) i");
        Cli.Result b = Cli.run(catchUpB);
        assertEquals(0, b.exit(), b.all());
        assertEquals(0, a.get(3, TimeUnit.MINUTES), "the first catch-up");
        try (Connection s = Clusters.source().connect(dbs[0]); Connection t = Clusters.target().connect(dbs[1])) {
            assertEquals(DbCompare.rowsAsText(s, "\"public\".\"m\""), DbCompare.rowsAsText(t, "\"public\".\"m\""), "every row once");
            assertEquals("done", Pg.queryString(t, "SELECT status FROM tsmigrate.step WHERE step = 'data'"));
        }
    }
}
