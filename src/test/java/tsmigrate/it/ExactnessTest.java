package tsmigrate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import tsmigrate.embedded.EmbeddedCluster;

/**
 * Every shape of the exactness list, migrated for real between two PostgreSQL 15 servers, then
 * compared row by row (as text), schema by schema (pg_dump -s) and sequence by sequence.
 */
class ExactnessTest {
    static String[] dbs;
    static Cli.Result result;
    @TempDir
    static Path work;

    @BeforeAll
    static void migrateAllShapes() throws Exception {
        dbs = Clusters.newPair("shapes");
        Clusters.runSql(Clusters.source(), dbs[0], Clusters.resource("/fixtures/all-shapes.sql"));
        result = Cli.run("migrate", "--source", Clusters.source().uri(dbs[0]), "--target", Clusters.target().uri(dbs[1]),
                "--work-dir", work.toString(), "--workers", "3", "--chunk-interval", "1 day",
                // small enough that ts_metrics' neighbours without a time column get key ranges too
                "--split-rows", "2", "--progress-interval", "1");
    }

    @Test
    void exitsZero() {
        assertEquals(0, result.exit(), result.err());
        assertTrue(result.out().contains("Migration summary"), result.out());
    }

    @Test
    void everyRowEqualAsText() throws Exception {
        try (Connection s = Clusters.source().connect(dbs[0]); Connection t = Clusters.target().connect(dbs[1])) {
            Map<String, List<String>> src = DbCompare.allRows(s);
            Map<String, List<String>> tgt = DbCompare.allRows(t);
            assertEquals(src.keySet(), tgt.keySet());
            assertTrue(src.size() >= 20, "the fixture has many tables: " + src.keySet());
            for (String table : src.keySet()) assertEquals(src.get(table), tgt.get(table), table);
            // the empty table stays empty, the big one is all there
            assertEquals(0, tgt.get("\"public\".\"empty_table\"").size());
            assertEquals(5008, tgt.get("\"public\".\"ts_metrics\"").size());
        }
    }

    @Test
    void schemaEqual() throws Exception {
        EmbeddedCluster sc = Clusters.source();
        EmbeddedCluster tc = Clusters.target();
        String a = DbCompare.schemaDump("pg_dump", sc.uri(dbs[0]), null);
        String b = DbCompare.schemaDump("pg_dump", tc.uri(dbs[1]), null);
        assertTrue(a.contains("CREATE MATERIALIZED VIEW"), "dump looks real");
        assertEquals(a, b);
    }

    @Test
    void sequencesAtSourcePosition() throws Exception {
        try (Connection s = Clusters.source().connect(dbs[0]); Connection t = Clusters.target().connect(dbs[1])) {
            Map<String, String> src = DbCompare.sequencePositions(s);
            assertTrue(src.size() >= 5, src.toString());
            assertEquals(src, DbCompare.sequencePositions(t));
        }
    }

    @Test
    void materializedViewPopulated() throws Exception {
        try (Connection t = Clusters.target().connect(dbs[1]); var st = t.createStatement();
             var rs = st.executeQuery("SELECT count(*) FROM public.mv_metrics_daily")) {
            rs.next();
            assertTrue(rs.getLong(1) > 0);
        }
    }

    /** The verify step shows its progress as the data step does, and ends with what it read back: every row loaded. */
    @Test
    void verifyReportsTheRowsItReadBack() {
        java.util.regex.Matcher data = java.util.regex.Pattern.compile("step data: done in [^(]*\\((\\d+)/\\d+ chunks, ([\\d,]+) rows")
                .matcher(result.all());
        java.util.regex.Matcher verify = java.util.regex.Pattern.compile(
                "step verify: done in [^(]*\\((\\d+) chunk\\(s\\) checked now[^;]*; read back (\\d+)/\\d+ chunks, ([\\d,]+) rows").matcher(result.all());
        assertTrue(data.find() && verify.find(), result.all());
        assertEquals(data.group(1), verify.group(1), "chunks loaded = chunks checked");
        assertEquals(verify.group(1), verify.group(2));
        assertEquals(data.group(2), verify.group(3), "rows loaded = rows read back");
    }

    /** Without --keep-files, each chunk's file is deleted once its rows are committed on the target. */
    @Test
    void loadedChunksLeaveNoFiles() throws Exception {
        try (Stream<Path> files = Files.walk(work)) {
            List<String> data = files.map(p -> work.relativize(p).toString()).filter(n -> n.matches(".*\\d{6}\\..*")).toList();
            assertTrue(data.isEmpty(), "chunk files left: " + data);
        }
        assertTrue(Files.isDirectory(work.resolve("public.ts_metrics")), "the table's folder was there");
    }

    @Test
    void workDirIsPrivateAndHoldsNoPassword() throws Exception {
        String pw = Clusters.source().password();
        try (Stream<Path> files = Files.walk(work)) {
            for (Path p : files.toList()) {
                String perms = PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
                if (Files.isDirectory(p)) {
                    if (!p.equals(work)) assertEquals("rwx------", perms, p.toString());
                } else {
                    assertEquals("rw-------", perms, p.toString());
                    assertFalse(new String(Files.readAllBytes(p), java.nio.charset.StandardCharsets.ISO_8859_1).contains(pw),
                            "password found in " + p);
                }
            }
        }
        assertTrue(Files.exists(work.resolve("plan.yaml")));
        assertFalse(result.all().contains(pw), "password printed");
        assertFalse(result.all().contains(Clusters.target().password()), "password printed");
    }

    @Test
    void splitsAsPlanned() throws Exception {
        String plan = Files.readString(work.resolve("plan.yaml"));
        // ts_metrics: 10 days of 1-day ranges plus the NULL chunk; the quoted schema gets a safe folder name
        assertTrue(plan.contains("by ts (timestamp with time zone), 1 day ranges"), plan);
        assertTrue(plan.contains("ts IS NULL"), plan);
        assertTrue(Files.isDirectory(work.resolve("Sales%20Ops.Orders%20Log")));
    }

    /** The procedure's last step: every table on the target has planner statistics from an ANALYZE. */
    @Test
    void everyTableAnalyzed() throws Exception {
        try (Connection t = Clusters.target().connect(dbs[1]);
             java.sql.Statement st = t.createStatement();
             java.sql.ResultSet rs = st.executeQuery("SELECT format('%I.%I', schemaname, relname) FROM pg_stat_user_tables"
                     + " WHERE schemaname <> 'tsmigrate' AND last_analyze IS NULL ORDER BY 1")) {
            List<String> notAnalyzed = new java.util.ArrayList<>();
            while (rs.next()) notAnalyzed.add(rs.getString(1));
            assertEquals(List.of(), notAnalyzed);
        }
        try (Connection t = Clusters.target().connect(dbs[1]);
             java.sql.Statement st = t.createStatement();
             java.sql.ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_stats WHERE schemaname = 'public' AND tablename = 'ts_metrics'")) {
            rs.next();
            assertTrue(rs.getLong(1) > 0, "ts_metrics has column statistics");
        }
    }
}
