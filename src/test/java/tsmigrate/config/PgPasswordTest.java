package tsmigrate.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import tsmigrate.db.Pg;
import tsmigrate.embedded.EmbeddedCluster;
import tsmigrate.it.Clusters;
import tsmigrate.schema.PgTool;

/** libpq's PGPASSWORD: the password of a connection given none otherwise, as libpq tools take it. */
class PgPasswordTest {
    private static JobConfig config(String source, String target) {
        JobConfig cfg = new JobConfig();
        cfg.source = ConnInfo.parse("source", source);
        cfg.target = ConnInfo.parse("target", target);
        return cfg;
    }

    @Test
    void givesAPasswordToConnectionsWithoutOne() {
        JobConfig cfg = config("postgresql://alice@src/shop", "postgresql://bob@dst/tsdb");
        cfg.usePgPassword(Map.of("PGPASSWORD", "fromEnv"));
        assertEquals("fromEnv", cfg.source.password());
        assertEquals("fromEnv", cfg.target.password());
        assertFalse(cfg.source.masked().contains("fromEnv"), cfg.source.masked());
        assertFalse(cfg.source.uriWithoutPassword().contains("fromEnv"));
    }

    @Test
    void aPasswordGivenOtherwiseWins() {
        JobConfig cfg = config("postgresql://alice:inUri@src/shop", "postgresql://bob@dst/tsdb");
        cfg.target = cfg.target.withPassword("fromJobFile");
        cfg.usePgPassword(Map.of("PGPASSWORD", "fromEnv"));
        assertEquals("inUri", cfg.source.password());
        assertEquals("fromJobFile", cfg.target.password());
    }

    @Test
    void anEmptyOrMissingPgPasswordGivesNone() {
        JobConfig cfg = config("postgresql://alice@src/shop", "postgresql://bob@dst/tsdb");
        cfg.usePgPassword(Map.of("PGPASSWORD", ""));
        assertNull(cfg.source.password());
        cfg.usePgPassword(Map.of());
        assertNull(cfg.target.password());
    }

    @Test
    void noConnectionsYetIsNoError() {
        new JobConfig().usePgPassword(Map.of("PGPASSWORD", "fromEnv"));
        assertTrue(true);
    }

    /** End to end on a real server: the JDBC login, and pg_dump's (through its passfile). */
    @Test
    void aPgPasswordLogsInToARealServerAndPgDump(@TempDir Path scratch) throws Exception {
        EmbeddedCluster src = Clusters.source();
        String[] dbs = Clusters.newPair("pgpassword");
        JobConfig cfg = config("postgresql://" + src.user() + "@" + src.uri(dbs[0]).replaceFirst("^.*@", ""), "postgresql://x@dst/tsdb");
        cfg.usePgPassword(Map.of("PGPASSWORD", src.password()));
        try (Connection c = Pg.connect("source", cfg.source)) {
            assertEquals("1", Pg.queryString(c, "SELECT 1"));
        }
        PgTool.Result r = PgTool.locate("pg_dump", "pg_dump").run(cfg.source, scratch, List.of("--schema-only", "--file=" + scratch.resolve("s.sql")));
        assertEquals(0, r.exitCode(), r.stderr());
    }
}
