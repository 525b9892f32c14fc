package tsmigrate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import tsmigrate.db.Pg;

/**
 * An extension of the source that the target offers but has not installed: pre-data's dump creates it, so preflight
 * must not send the user to create it by hand as if the migration needed that first (QA).
 */
class ExtensionWarningTest {
    @TempDir
    Path work;

    @Test
    void anExtensionTheTargetOffersIsCreatedByPreData() throws Exception {
        String[] dbs = Clusters.newPair("ext");
        Clusters.runSql(Clusters.source(), dbs[0], "CREATE EXTENSION btree_gist;"
                + " CREATE TABLE r (id int, during tstzrange, EXCLUDE USING gist (id WITH =, during WITH &&));"
                + " INSERT INTO r VALUES (1, '[2024-01-01, 2024-02-01)'), (1, '[2024-02-01, 2024-03-01)')");
        Cli.Result r = Cli.run("migrate", "--source", Clusters.source().uri(dbs[0]), "--target", Clusters.target().uri(dbs[1]),
                "--work-dir", work.toString());
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.all().contains("extension btree_gist 1.7 is installed on the source but not on the target; pre-data creates it if"
                + " the migrating role may"), r.all());
        try (Connection s = Clusters.source().connect(dbs[0]); Connection t = Clusters.target().connect(dbs[1])) {
            assertEquals(DbCompare.allRows(s), DbCompare.allRows(t));
            assertEquals("1", Pg.queryString(t, "SELECT count(*) FROM pg_extension WHERE extname = 'btree_gist'"));
        }
    }
}
