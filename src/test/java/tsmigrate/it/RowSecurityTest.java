package tsmigrate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import tsmigrate.db.Pg;

/**
 * Session settings that change what is read or accepted: row-level security filtered the export down to the rows
 * the migrating role may see (verify then agreed, since it read the same way); xmloption = document on the target
 * refused XML content fragments.
 */
class RowSecurityTest {
    @TempDir
    Path work;

    @Test
    void rowsHiddenByRowLevelSecurityAreNeverSilentlyLeftOut() throws Exception {
        String[] dbs = Clusters.newPair("rls");
        Clusters.ensureRole(Clusters.source(), "rls_app", "rls-pw");
        Clusters.ensureRole(Clusters.target(), "rls_app", null); // the dump grants to it
        Clusters.runSql(Clusters.source(), dbs[0], """
                GRANT ALL ON DATABASE %s TO rls_app;
                GRANT ALL ON SCHEMA public TO rls_app;
                SET ROLE rls_app;
                CREATE TABLE rls (id int, owner text);
                INSERT INTO rls SELECT g, 'u' || g %% 3 FROM generate_series(1, 30) g;
                ALTER TABLE rls ENABLE ROW LEVEL SECURITY;
                ALTER TABLE rls FORCE ROW LEVEL SECURITY;
                CREATE POLICY p ON rls USING (owner = 'u1');
                RESET ROLE;
                """.formatted(dbs[0]));
        String source = "postgresql://rls_app:rls-pw@127.0.0.1:" + Clusters.source().port() + "/" + dbs[0];
        Cli.Result r = Cli.run("migrate", "--source", source, "--target", Clusters.target().uri(dbs[1]), "--work-dir", work.toString());
        assertEquals(2, r.exit(), r.all());
        assertTrue(r.err().contains("Row-level security hides rows") && r.err().contains("\"public\".\"rls\""), r.err());
        // a role that bypasses it copies every row
        Cli.Result all = Cli.run("migrate", "--source", Clusters.source().uri(dbs[0]), "--target", Clusters.target().uri(dbs[1]),
                "--work-dir", work.resolve("2").toString());
        assertEquals(0, all.exit(), all.all());
        try (Connection t = Clusters.target().connect(dbs[1])) {
            assertEquals("30", Pg.queryString(t, "SELECT count(*) FROM rls"));
        }
    }

    /**
     * FORCE ROW LEVEL SECURITY comes with pre-data, ENABLE and the policies with post-data: the load goes in, but the
     * verify step after post-data cannot read the table back as a target role that does not bypass it.
     */
    @Test
    void aTargetRoleThatCannotReadForcedTablesBackIsToldFirst() throws Exception {
        String[] dbs = Clusters.newPair("rlstgt");
        Clusters.ensureRole(Clusters.target(), "rls_tgt", "tgt-pw");
        Clusters.runSql(Clusters.target(), "postgres", "ALTER DATABASE " + dbs[1] + " OWNER TO rls_tgt");
        Clusters.runSql(Clusters.source(), dbs[0], """
                CREATE TABLE f (id int, owner text);
                INSERT INTO f SELECT g, 'u' || g % 3 FROM generate_series(1, 30) g;
                ALTER TABLE f ENABLE ROW LEVEL SECURITY;
                ALTER TABLE f FORCE ROW LEVEL SECURITY;
                CREATE POLICY p ON f USING (owner = 'u1');
                """);
        String target = "postgresql://rls_tgt:tgt-pw@127.0.0.1:" + Clusters.target().port() + "/" + dbs[1];
        Cli.Result r = Cli.run("migrate", "--source", Clusters.source().uri(dbs[0]), "--target", target, "--work-dir", work.toString());
        assertEquals(2, r.exit(), r.all());
        assertTrue(r.err().contains("\"public\".\"f\"") && r.err().contains("--no-verify"), r.err());
        Cli.Result unverified = Cli.run("migrate", "--source", Clusters.source().uri(dbs[0]), "--target", target,
                "--work-dir", work.resolve("2").toString(), "--no-verify");
        assertEquals(0, unverified.exit(), unverified.all());
        try (Connection t = Clusters.target().connect(dbs[1])) { // as the superuser
            assertEquals("30", Pg.queryString(t, "SELECT count(*) FROM f"));
        }
    }

    @Test
    void xmlContentLoadsIntoATargetWhoseDefaultIsXmlDocuments() throws Exception {
        String[] dbs = Clusters.newPair("xmlopt");
        Clusters.runSql(Clusters.source(), dbs[0], "CREATE TABLE x (id int, d xml); INSERT INTO x VALUES (1, 'plain text'), (2, '<a/><b/>');");
        Clusters.runSql(Clusters.target(), dbs[1], "ALTER DATABASE " + dbs[1] + " SET xmloption = document");
        Cli.Result r = Cli.run("migrate", "--source", Clusters.source().uri(dbs[0]), "--target", Clusters.target().uri(dbs[1]),
                "--work-dir", work.toString());
        assertEquals(0, r.exit(), r.all());
        try (Connection s = Clusters.source().connect(dbs[0]); Connection t = Clusters.target().connect(dbs[1])) {
            assertEquals(DbCompare.allRows(s), DbCompare.allRows(t));
        }
    }
}
