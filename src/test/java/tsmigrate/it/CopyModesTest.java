package tsmigrate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/** The exactness fixture through each copy mode: streamed without files, binary COPY, gzip-compressed files. */
class CopyModesTest {
    @TempDir
    Path work;

    @ParameterizedTest
    @ValueSource(strings = {"--stream", "--format=binary", "--compress-files=gzip", "--format=binary --compress-files=gzip --stream"})
    void everyShapeArrivesExactly(String mode) throws Exception {
        String[] dbs = Clusters.newPair("mode");
        Clusters.runSql(Clusters.source(), dbs[0], Clusters.resource("/fixtures/all-shapes.sql"));
        List<String> args = new java.util.ArrayList<>(List.of("migrate", "--source", Clusters.source().uri(dbs[0]),
                "--target", Clusters.target().uri(dbs[1]), "--work-dir", work.toString(), "--workers", "3", "--split-rows", "3", "--keep-files"));
        args.addAll(List.of(mode.split(" ")));
        Cli.Result r = Cli.run(args.toArray(String[]::new));
        assertEquals(0, r.exit(), r.err());
        // forced binary over the fixture's enum arrays: copied, verified through CSV, and the user is told
        if (mode.contains("binary")) assertTrue(r.all().contains("array_cases\" is copied in binary"), r.all());
        try (Connection s = Clusters.source().connect(dbs[0]); Connection t = Clusters.target().connect(dbs[1])) {
            Map<String, List<String>> src = DbCompare.allRows(s);
            assertEquals(src, DbCompare.allRows(t));
            assertEquals(DbCompare.sequencePositions(s), DbCompare.sequencePositions(t));
            // each chunk's bytes, streamed ones too (status and the summary showed 0 B for a --stream run: QA)
            assertEquals("0", tsmigrate.db.Pg.queryString(t, "SELECT count(*) FROM tsmigrate.chunk WHERE bytes IS NULL"));
        }
        try (var files = Files.walk(work)) {
            List<String> data = files.map(p -> p.getFileName().toString()).filter(n -> n.matches("\\d{6}\\..*")).toList();
            if (mode.contains("--stream")) assertTrue(data.isEmpty(), "no chunk files when streaming: " + data);
            else if (mode.contains("gzip")) assertTrue(!data.isEmpty() && data.stream().allMatch(n -> n.endsWith(".gz")), data.toString());
            else assertTrue(!data.isEmpty() && data.stream().allMatch(n -> n.endsWith(".bin")), data.toString());
        }
        try (var files = Files.walk(work)) { // kept files hold the data: private to the user
            for (Path p : files.filter(p -> p.getFileName().toString().matches("\\d{6}\\..*")).toList()) {
                assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(p)), p.toString());
            }
        }
        assertTrue(r.out().contains("of 1") || r.out().contains("verified"), r.out());
    }
}
