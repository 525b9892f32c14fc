package tsmigrate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
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
 * A work dir belongs to one migration at a time. Chunk files are named by table and chunk number, so two
 * migrations of like tables in one work dir (two serve jobs made from the same example, which both say
 * {@code workDir: tsmigrate-work}) would overwrite each other's files, and one could load the other's rows.
 */
class SharedWorkDirTest {
    @TempDir
    Path work;

    private static final String TABLE = "CREATE TABLE m (time timestamptz NOT NULL, v int);"
            + " INSERT INTO m SELECT timestamptz '2025-01-01' + i * interval '1 minute', %d + i FROM generate_series(0, 2879) i;"
            + " CREATE INDEX ON m (time)";

    private String[] pair(String prefix, int offset) throws Exception {
        String[] dbs = Clusters.newPair(prefix);
        Clusters.runSql(Clusters.source(), dbs[0], TABLE.formatted(offset));
        return dbs;
    }

    private String[] args(String[] dbs, String... more) {
        List<String> args = new java.util.ArrayList<>(List.of("migrate", "--source", Clusters.source().uri(dbs[0]),
                "--target", Clusters.target().uri(dbs[1]), "--work-dir", work.toString(), "--workers", "2",
                "--chunk-interval", "6 hours"));
        args.addAll(List.of(more));
        return args.toArray(String[]::new);
    }

    private static List<Path> chunkFiles(Path dir) throws Exception {
        try (var files = Files.walk(dir)) {
            return files.filter(p -> p.getFileName().toString().matches("\\d+\\.(csv|bin).*")).sorted().toList();
        }
    }

    private static String targetRows(String db) throws Exception {
        try (Connection t = Clusters.target().connect(db)) {
            return Pg.queryString(t, "SELECT count(*) FROM m");
        }
    }

    @Test
    void aWorkDirHoldingAnotherMigrationsChunkFilesIsRefused() throws Exception {
        String[] a = pair("wd_a", 0);
        String[] b = pair("wd_b", 1_000_000);
        Cli.Result first = Cli.run(args(a, "--steps", "preflight,pre-data,data", "--keep-files"));
        assertEquals(0, first.exit(), first.all());
        List<Path> kept = chunkFiles(work);
        assertEquals(8, kept.size(), kept.toString());
        byte[] before = Files.readAllBytes(kept.get(2));

        Cli.Result second = Cli.run(args(b));
        assertEquals(TsMigrate.REFUSED, second.exit(), second.all());
        assertTrue(second.err().contains("holds the chunk files of another migration"), second.err());
        assertTrue(second.err().contains(a[0]) && second.err().contains(a[1]), "the error names the other migration:\n" + second.err());
        try (Connection t = Clusters.target().connect(b[1])) {
            assertEquals(null, Pg.queryString(t, "SELECT to_regclass('public.m')"), "the refused migration left its target untouched");
        }
        assertEquals(kept, chunkFiles(work), "the first migration's files are all still there");
        assertTrue(java.util.Arrays.equals(before, Files.readAllBytes(kept.get(2))), "and unchanged");

        // The first migration can still finish from its work dir; its kept files hold the dir until they are deleted.
        // (Without --keep-files this run would remove them: they are files of copied chunks.)
        Cli.Result rest = Cli.run(args(a, "--keep-files"));
        assertEquals(0, rest.exit(), rest.all());
        assertEquals("2880", targetRows(a[1]));
        Cli.Result again = Cli.run(args(b));
        assertEquals(TsMigrate.REFUSED, again.exit(), "the kept files still belong to the first migration:\n" + again.all());
        for (Path f : chunkFiles(work)) Files.delete(f);
        Cli.Result freed = Cli.run(args(b));
        assertEquals(0, freed.exit(), freed.all());
        assertEquals("2880", targetRows(b[1]));
    }

    @Test
    void aFinishedMigrationLeavesItsWorkDirToTheNext() throws Exception {
        String[] a = pair("wd_c", 0);
        String[] b = pair("wd_d", 1_000_000);
        Cli.Result first = Cli.run(args(a));
        assertEquals(0, first.exit(), first.all());
        Cli.Result second = Cli.run(args(b));
        assertEquals(0, second.exit(), second.all());
        assertEquals("2880", targetRows(b[1]));
    }

    @Test
    void twoMigrationsAtOnceCannotShareAWorkDir() throws Exception {
        String[] a = pair("wd_e", 0);
        String[] b = pair("wd_f", 1_000_000);
        Cli.Result schema = Cli.run(args(a, "--steps", "preflight,pre-data"));
        assertEquals(0, schema.exit(), schema.all());
        // each of the first migration's chunk loads takes a second, so it is still running when the second starts
        CompletableFuture<Integer> running = SlowLoads.startAndAwaitClaim(a[1], args(a));
        Cli.Result second = Cli.run(args(b));
        assertEquals(TsMigrate.REFUSED, second.exit(), second.all());
        assertTrue(second.err().contains("is in use by another migration"), second.err());
        assertEquals(0, running.get(3, TimeUnit.MINUTES), "the first migration is not disturbed");
        assertEquals("2880", targetRows(a[1]));
        try (Connection t = Clusters.target().connect(b[1])) {
            assertEquals(null, Pg.queryString(t, "SELECT to_regclass('public.m')"));
        }
    }
}
