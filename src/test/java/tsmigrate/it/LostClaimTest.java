package tsmigrate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import tsmigrate.config.ConnInfo;
import tsmigrate.db.Pg;
import tsmigrate.state.StateStore;

/**
 * Another instance takes over a chunk this one had claimed (this one's lease ran out: a long pause, the target out
 * of reach): this instance drops its work on that chunk, keeps no file of it, and goes on with the others.
 * The other instance is a trigger on the state table: once, when this instance has claimed (or exported) chunk 2,
 * it takes the chunk over and loads it, as a second tsmigrate whose claim came through would.
 */
class LostClaimTest {
    @TempDir
    Path work;

    private Cli.Result migrate(String[] dbs, String... steps) {
        List<String> args = new java.util.ArrayList<>(List.of("migrate", "--source", Clusters.source().uri(dbs[0]),
                "--target", Clusters.target().uri(dbs[1]), "--work-dir", work.toString(), "--workers", "2",
                "--chunk-interval", "6 hours", "--lease", "3"));
        if (steps.length > 0) args.addAll(List.of("--steps", String.join(",", steps)));
        return Cli.run(args.toArray(String[]::new));
    }

    /** Runs a migration in which another instance takes chunk 2 over and loads it, at the moment {@code when}. */
    private void takenOverWhen(String prefix, String when) throws Exception {
        String[] dbs = Clusters.newPair(prefix);
        Clusters.runSql(Clusters.source(), dbs[0], "CREATE TABLE m (time timestamptz NOT NULL, v int);"
                + " INSERT INTO m SELECT timestamptz '2025-01-01' + i * interval '1 minute', i FROM generate_series(0, 2879) i;"
                + " CREATE INDEX ON m (time)");
        Cli.Result first = migrate(dbs, "preflight", "pre-data"); // the state store exists from here on
        assertEquals(0, first.exit(), first.all());
        String claimed = when.equals("claimed") ? "NEW.claimed_by IS NOT NULL AND OLD.claimed_by IS DISTINCT FROM NEW.claimed_by"
                : "NEW.state = '" + when + "' AND OLD.state IS DISTINCT FROM NEW.state";
        Clusters.runSql(Clusters.target(), dbs[1], """
                CREATE SCHEMA test_hooks;
                CREATE TABLE test_hooks.taken (table_no int, chunk_no int);
                CREATE FUNCTION test_hooks.take_over() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                  IF NEW.chunk_no = 2 AND NEW.claimed_by <> 'other-instance' AND %s
                     AND NOT EXISTS (SELECT 1 FROM test_hooks.taken) THEN
                    INSERT INTO test_hooks.taken VALUES (NEW.table_no, NEW.chunk_no);
                    -- chunk 2 is [06:00, 12:00): the other instance's rows, generated as the source's were
                    INSERT INTO public.m SELECT timestamptz '2025-01-01' + i * interval '1 minute', i FROM generate_series(360, 719) i;
                    UPDATE tsmigrate.chunk SET claimed_by = NULL, claimed_until = NULL, state = 'loaded', loaded_by = 'other-instance',
                           rows = 360
                     WHERE migration = NEW.migration AND table_no = NEW.table_no AND chunk_no = NEW.chunk_no;
                  END IF;
                  RETURN NULL;
                END $$;
                CREATE TRIGGER take_over AFTER UPDATE ON tsmigrate.chunk FOR EACH ROW EXECUTE FUNCTION test_hooks.take_over();
                """.formatted(claimed));
        Cli.Result r = migrate(dbs);
        assertEquals(0, r.exit(), "a lost claim is not a failure of this instance:\n" + r.all());
        assertTrue(r.err().contains("lost the claim on"), r.err());
        try (Connection s = Clusters.source().connect(dbs[0]); Connection t = Clusters.target().connect(dbs[1])) {
            assertEquals("1", Pg.queryString(t, "SELECT count(*) FROM test_hooks.taken"), "the takeover happened");
            assertEquals(DbCompare.rowsAsText(s, "\"public\".\"m\""), DbCompare.rowsAsText(t, "\"public\".\"m\""),
                    "every row once: the other instance's copy of chunk 2, this instance's of the rest");
            assertEquals("0", Pg.queryString(t, "SELECT count(*) FROM tsmigrate.chunk WHERE state <> 'verified'"));
        }
        try (var files = Files.walk(work)) {
            List<String> left = files.map(p -> p.getFileName().toString()).filter(n -> n.matches("\\d+\\.(csv|bin).*")
                    || n.endsWith(".part")).toList();
            assertEquals(List.of(), left, "no chunk file is left behind");
        }
    }

    @Test
    void aClaimLostWhileExportingDropsTheExport() throws Exception {
        takenOverWhen("lost_exp", "claimed");
    }

    @Test
    void aClaimLostWhileLoadingRollsTheRowsBackAndDropsTheFile() throws Exception {
        takenOverWhen("lost_load", "exported");
    }

    /**
     * A run that failed in this process (serve, or the tests) can leave a claim with a live lease. Its process is
     * alive, but the run has ended: the next run in the same process must take such a chunk back at once, not wait
     * for the lease, nor count it as its own and end the data step without it (which once copied all rows but that
     * chunk's, and exited 0).
     */
    @Test
    void aClaimLeftByAnEarlierRunOfThisProcessIsTakenBack() throws Exception {
        String[] dbs = Clusters.newPair("stale_claim");
        Clusters.runSql(Clusters.source(), dbs[0], "CREATE TABLE m (time timestamptz NOT NULL, v int);"
                + " INSERT INTO m SELECT timestamptz '2025-01-01' + i * interval '1 minute', i FROM generate_series(0, 2879) i;"
                + " CREATE INDEX ON m (time)");
        Cli.Result first = migrate(dbs, "preflight", "pre-data", "data");
        assertEquals(0, first.exit(), first.all());
        String ended;
        try (StateStore earlier = new StateStore(ConnInfo.parse("target", Clusters.target().uri(dbs[1])), "any", work)) {
            ended = earlier.instance;
        }
        // chunk 2 as an earlier run of this process left it: claimed, lease still running, rows not committed
        Clusters.runSql(Clusters.target(), dbs[1], "UPDATE tsmigrate.chunk SET state = 'planned', claimed_by = '" + ended + "',"
                + " claimed_until = now() + interval '1 hour' WHERE chunk_no = 2;"
                + " DELETE FROM m WHERE time >= '2025-01-01 06:00:00+00' AND time < '2025-01-01 12:00:00+00'");
        Cli.Result r = migrate(dbs);
        assertEquals(0, r.exit(), r.all());
        try (Connection s = Clusters.source().connect(dbs[0]); Connection t = Clusters.target().connect(dbs[1])) {
            assertEquals(DbCompare.rowsAsText(s, "\"public\".\"m\""), DbCompare.rowsAsText(t, "\"public\".\"m\""));
            assertEquals("0", Pg.queryString(t, "SELECT count(*) FROM tsmigrate.chunk WHERE state <> 'verified'"));
        }
    }
}
