package tsmigrate.it;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.util.concurrent.CompletableFuture;

import tsmigrate.cli.TsMigrate;
import tsmigrate.db.Pg;

/** A migration that is still running when the test acts: each chunk's load on the target takes a second. */
final class SlowLoads {
    private SlowLoads() {
    }

    /** Starts {@code args} in the background once public.m on the target makes every load wait; returns when it holds a claim. */
    static CompletableFuture<Integer> startAndAwaitClaim(String targetDb, String[] args) throws Exception {
        Clusters.runSql(Clusters.target(), targetDb, """
                CREATE SCHEMA test_hooks;
                CREATE FUNCTION test_hooks.slow() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN PERFORM pg_sleep(1); RETURN NULL; END $$;
                CREATE TRIGGER slow AFTER INSERT ON public.m FOR EACH STATEMENT EXECUTE FUNCTION test_hooks.slow();
                """);
        CompletableFuture<Integer> run = CompletableFuture.supplyAsync(() -> TsMigrate.run(args));
        try (Connection t = Clusters.target().connect(targetDb)) {
            long deadline = System.currentTimeMillis() + 60_000;
            while (!"t".equals(Pg.queryString(t, "SELECT count(*) > 0 FROM tsmigrate.chunk WHERE claimed_by IS NOT NULL"))) {
                assertTrue(System.currentTimeMillis() < deadline, "the migration never claimed a chunk");
                assertTrue(!run.isDone(), "the migration ended before claiming a chunk: exit " + run.getNow(null));
                Thread.sleep(20);
            }
        }
        return run;
    }
}
