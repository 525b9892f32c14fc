package tsmigrate.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import tsmigrate.config.ConnInfo;
import tsmigrate.config.JobConfig;
import tsmigrate.it.Clusters;
import tsmigrate.run.MigrationRun;

/**
 * Planning many small tables asks the source a few statements in all, not two or more per table: against a distant
 * source each statement is a round trip (2,000 tables took 4,000 of them, minutes at 30 ms each).
 */
class PlanRoundTripsTest {
    @TempDir
    Path work;

    /** Statements, savepoints and their releases: what goes to the server and waits for its answer. */
    private static final Set<String> ROUND_TRIPS = Set.of("prepareStatement", "createStatement", "prepareCall", "setSavepoint",
            "releaseSavepoint", "rollback");

    @Test
    void smallTablesArePlannedInAFewStatements() throws Exception {
        String[] dbs = Clusters.newPair("roundtrips");
        Clusters.runSql(Clusters.source(), dbs[0], """
                DO $$ BEGIN FOR i IN 1..300 LOOP
                  EXECUTE format('CREATE TABLE %I (id int, "Event Time" timestamptz, note text)', 'ev ' || i);
                  EXECUTE format('CREATE INDEX ON %I ("Event Time")', 'ev ' || i);
                  EXECUTE format('INSERT INTO %I SELECT g, timestamptz ''2025-01-01'' + (g + %s) * interval ''1 hour'', ''n'' FROM generate_series(1, 20) g',
                                 'ev ' || i, i);
                END LOOP; END $$;
                CREATE TABLE "no time" (id int); INSERT INTO "no time" VALUES (1);
                CREATE TABLE "dated" (d date); CREATE INDEX ON "dated" (d); INSERT INTO "dated" VALUES ('2025-03-01'), (NULL);
                """);
        JobConfig cfg = new JobConfig();
        cfg.source = ConnInfo.parse("source", Clusters.source().uri(dbs[0]));
        cfg.target = ConnInfo.parse("target", Clusters.target().uri(dbs[1]));
        cfg.workDir = work;
        cfg.chunkIntervalGiven = false;
        cfg.timeColumns.putAll(Map.of("public.\"ev 7\"", "\"Event Time\""));
        MigrationRun run = new MigrationRun(cfg);
        AtomicInteger trips = new AtomicInteger();
        try (Connection real = Clusters.source().connect(dbs[0])) {
            real.setAutoCommit(false); // as in the transaction that holds the exported snapshot
            Connection counted = (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(), new Class<?>[] {Connection.class},
                    (proxy, method, args) -> {
                        if (ROUND_TRIPS.contains(method.getName())) trips.incrementAndGet();
                        try {
                            return method.invoke(real, args);
                        } catch (InvocationTargetException e) {
                            throw e.getCause();
                        }
                    });
            Planner p = new Planner();
            List<TableInfo> tables = p.listTables(counted, run);
            p.readAhead(counted, run, tables);
            int chunks = 0;
            for (TableInfo t : tables) {
                List<Chunk> mine = p.chunksFor(counted, run, t);
                chunks += mine.size();
                if (t.name.equals("ev 5")) {
                    assertEquals("Event Time", t.timeColumn);
                    assertEquals("2025-01-02 01:00:00+00", t.highWater, "its newest time: the catch-up mark");
                }
                if (t.name.equals("dated")) assertEquals("2025-03-01", t.highWater);
                if (t.name.equals("no time")) assertEquals(null, t.timeColumn);
            }
            assertEquals(302, chunks, "one chunk per small table");
            assertTrue(trips.get() < 20, "statements for 302 tables: " + trips.get());
            real.rollback();
        }
    }
}
