package tsmigrate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import tsmigrate.db.Pg;

/**
 * The schemas a migration leaves out (tsmigrate, _timescaledb*) are refused when they hold the user's own tables: a
 * source without TimescaleDB lost them without a word (QA: exit 0, neither schema on the target).
 */
class LeftOutSchemasTest {
    @TempDir
    Path work;

    @Test
    void userTablesInLeftOutSchemasAreRefusedBeforeAnythingIsWritten() throws Exception {
        String[] dbs = Clusters.newPair("leftout");
        Clusters.runSql(Clusters.source(), dbs[0], """
                CREATE TABLE kept (id int); INSERT INTO kept VALUES (1);
                CREATE SCHEMA _timescaledb_mine; CREATE TABLE _timescaledb_mine.t (id int); INSERT INTO _timescaledb_mine.t VALUES (5);
                """);
        Cli.Result r = migrate(dbs);
        assertEquals(2, r.exit(), r.all());
        assertTrue(r.err().contains("\"_timescaledb_mine\".\"t\"") && r.err().contains("ALTER SCHEMA"), r.err());
        try (Connection t = Clusters.target().connect(dbs[1])) {
            assertEquals(null, Pg.queryString(t, "SELECT to_regclass('tsmigrate.migration')"), "nothing written");
        }
        Clusters.runSql(Clusters.source(), dbs[0], "ALTER SCHEMA _timescaledb_mine RENAME TO mine");
        assertEquals(0, migrate(dbs).exit());
    }

    @Test
    void aSourceThatWasOnceATargetKeepsItsStateToItself() throws Exception {
        String[] dbs = Clusters.newPair("wastarget");
        Clusters.runSql(Clusters.source(), dbs[0], """
                CREATE TABLE kept (id int); INSERT INTO kept VALUES (1);
                CREATE SCHEMA tsmigrate; CREATE TABLE tsmigrate.migration (id text); CREATE TABLE tsmigrate.chunk (id text);
                """);
        Cli.Result r = migrate(dbs);
        assertEquals(0, r.exit(), r.all());
        // but a table of the user's own there would be lost
        String[] again = Clusters.newPair("wastarget");
        Clusters.runSql(Clusters.source(), again[0], "CREATE SCHEMA tsmigrate; CREATE TABLE tsmigrate.mine (id int); INSERT INTO tsmigrate.mine VALUES (1)");
        Cli.Result mine = migrate(again);
        assertEquals(2, mine.exit(), mine.all());
        assertTrue(mine.err().contains("\"tsmigrate\".\"mine\""), mine.err());
    }

    private Cli.Result migrate(String[] dbs) {
        return Cli.run("migrate", "--source", Clusters.source().uri(dbs[0]), "--target", Clusters.target().uri(dbs[1]),
                "--work-dir", work.resolve(dbs[1]).toString());
    }
}
