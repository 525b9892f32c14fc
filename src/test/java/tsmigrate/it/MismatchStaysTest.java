package tsmigrate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A chunk that verify found different stays a failure on every later run, until someone deals with it. */
class MismatchStaysTest {
    @TempDir
    Path work;

    @Test
    void aMismatchIsReportedAgainWhenTheMigrationRunsAgain() throws Exception {
        String[] dbs = hourlyRows("mismatch");
        assertEquals(0, migrate(dbs, "--steps", "preflight,pre-data,data,post-data").exit());
        Clusters.runSql(Clusters.target(), dbs[1], "UPDATE m SET v = -1 WHERE v = 100");
        Cli.Result first = migrate(dbs);
        assertEquals(1, first.exit(), first.all());
        assertTrue(first.all().contains("1 chunk(s) that differ"), first.all());
        Cli.Result again = migrate(dbs);
        assertEquals(1, again.exit(), again.all());
        assertTrue(again.all().contains("1 chunk(s) that differ"), again.all());
        // put right by hand: the next run verifies it
        Clusters.runSql(Clusters.target(), dbs[1], "UPDATE m SET v = 100 WHERE v = -1");
        Cli.Result fixed = migrate(dbs);
        assertEquals(0, fixed.exit(), fixed.all());
        assertTrue(fixed.out().contains("1 chunk(s) checked now, 9 of 9 verified"), fixed.out());
    }

    /** The verify step alone, before the data is copied, says so: it used to exit 0 with "0 of 9 verified". */
    @Test
    void verifyingAMigrationWhoseDataIsNotCopiedYetFails() throws Exception {
        String[] dbs = hourlyRows("notcopied");
        assertEquals(0, migrate(dbs, "--steps", "preflight,pre-data").exit());
        assertEquals(0, migrate(dbs, "--steps", "data").exit()); // plans and copies
        Clusters.runSql(Clusters.target(), dbs[1], "UPDATE tsmigrate.chunk SET state = 'planned' WHERE chunk_no = 2");
        Cli.Result r = migrate(dbs, "--steps", "verify");
        assertEquals(1, r.exit(), r.all());
        assertTrue(r.all().contains("1 chunk(s) not copied yet"), r.all());
    }

    /** A new database pair whose source holds 200 hourly rows in m: 9 chunks of a day. */
    private static String[] hourlyRows(String prefix) throws Exception {
        String[] dbs = Clusters.newPair(prefix);
        Clusters.runSql(Clusters.source(), dbs[0], """
                CREATE TABLE m (t timestamptz NOT NULL, v int);
                CREATE INDEX ON m (t);
                INSERT INTO m SELECT '2026-01-01'::timestamptz + g * interval '1 hour', g FROM generate_series(1, 200) g;
                """);
        return dbs;
    }

    private Cli.Result migrate(String[] dbs, String... more) {
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("migrate", "--source", Clusters.source().uri(dbs[0]),
                "--target", Clusters.target().uri(dbs[1]), "--work-dir", work.toString(), "--chunk-interval", "1 day"));
        args.addAll(java.util.List.of(more));
        return Cli.run(args.toArray(String[]::new));
    }
}
