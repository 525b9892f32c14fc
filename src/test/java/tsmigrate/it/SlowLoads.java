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
        slowDown(targetDb);
        CompletableFuture<Integer> run = CompletableFuture.supplyAsync(() -> TsMigrate.run(args));
        awaitClaim(targetDb, () -> !run.isDone(), () -> "exit " + run.getNow(null));
        return run;
    }

    /** From now on each load into public.m on the target takes a second. */
    static void slowDown(String targetDb) throws Exception {
        Clusters.runSql(Clusters.target(), targetDb, """
                CREATE SCHEMA IF NOT EXISTS test_hooks;
                CREATE OR REPLACE FUNCTION test_hooks.slow() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN PERFORM pg_sleep(1); RETURN NULL; END $$;
                CREATE TRIGGER slow AFTER INSERT ON public.m FOR EACH STATEMENT EXECUTE FUNCTION test_hooks.slow();
                """);
    }

    /** Waits until some chunk of the migration on targetDb is claimed, while {@code alive} says the migration runs. */
    static void awaitClaim(String targetDb, java.util.function.BooleanSupplier alive, java.util.function.Supplier<String> why) throws Exception {
        try (Connection t = Clusters.target().connect(targetDb)) {
            long deadline = System.currentTimeMillis() + 60_000;
            while (!"t".equals(Pg.queryString(t, "SELECT count(*) > 0 FROM tsmigrate.chunk WHERE claimed_by IS NOT NULL"))) {
                assertTrue(System.currentTimeMillis() < deadline, "the migration never claimed a chunk");
                if (!alive.getAsBoolean()) org.junit.jupiter.api.Assertions.fail("the migration ended before claiming a chunk: " + why.get());
                Thread.sleep(20);
            }
        }
    }
}
