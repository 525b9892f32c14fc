package tsmigrate.copy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import tsmigrate.config.ConnInfo;
import tsmigrate.config.JobConfig;
import tsmigrate.db.Pg;
import tsmigrate.it.Clusters;
import tsmigrate.plan.TableInfo;
import tsmigrate.run.MigrationRun;

/**
 * Autovacuum is paused on the tables big enough for it to start during their load, not on small ones: each pause
 * and its reset cost about eight round trips to the target, 16,000 for 2,000 small tables, for nothing (an
 * autovacuum of a small table ends in moments, so an index build waits for it no longer than that).
 */
class AutovacuumTest {
    @TempDir
    Path work;

    @Test
    void onlyTablesAboveTheSmallTableSizeArePaused() throws Exception {
        String[] dbs = Clusters.newPair("autovac");
        Clusters.runSql(Clusters.target(), dbs[1], "CREATE TABLE \"Big Log\" (id int); CREATE TABLE small (id int); CREATE TABLE owned (id int) WITH (autovacuum_enabled = true)");
        JobConfig cfg = new JobConfig();
        cfg.source = ConnInfo.parse("source", Clusters.source().uri(dbs[0]));
        cfg.target = ConnInfo.parse("target", Clusters.target().uri(dbs[1]));
        cfg.workDir = work;
        MigrationRun run = new MigrationRun(cfg);
        try (Connection c = run.state.connect()) {
            run.state.create(c, cfg.source, "1 day"); // where a pause is recorded
        }
        run.getTables().addAll(List.of(
                new TableInfo("public", "Big Log", 1, List.of("id"), 1_000_000, 100L << 20),
                new TableInfo("public", "small", 2, List.of("id"), 100, 8192),
                new TableInfo("public", "owned", 3, List.of("id"), 1_000_000, 100L << 20)));
        Autovacuum.pause(run);
        try (Connection t = Clusters.target().connect(dbs[1])) {
            assertEquals("{autovacuum_enabled=off}", Pg.queryString(t, "SELECT reloptions::text FROM pg_class WHERE oid = '\"Big Log\"'::regclass"));
            assertEquals(null, Pg.queryString(t, "SELECT reloptions::text FROM pg_class WHERE oid = 'small'::regclass"), "small: left alone");
            assertEquals("{autovacuum_enabled=true}", Pg.queryString(t, "SELECT reloptions::text FROM pg_class WHERE oid = 'owned'::regclass"),
                    "the owner's own setting: left alone");
        }
    }
}
