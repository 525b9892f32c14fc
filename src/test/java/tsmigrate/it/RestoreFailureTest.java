package tsmigrate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import tsmigrate.cli.TsMigrate;

/** An error pg_restore reports that the procedure does not call harmless fails the step, in pg_restore's own words. */
class RestoreFailureTest {
    @TempDir
    Path work;

    @Test
    void conflictingObjectOnTargetFailsPreData() throws Exception {
        String[] dbs = Clusters.newPair("conflict");
        Clusters.runSql(Clusters.source(), dbs[0], "CREATE TYPE mood AS ENUM ('sad', 'ok'); CREATE TABLE t (m mood)");
        // an empty target (no rows anywhere) that already has a type of that name
        Clusters.runSql(Clusters.target(), dbs[1], "CREATE TYPE mood AS ENUM ('happy')");
        Cli.Result r = Cli.run("migrate", "--source", Clusters.source().uri(dbs[0]), "--target", Clusters.target().uri(dbs[1]),
                "--work-dir", work.toString());
        assertEquals(TsMigrate.FAILED, r.exit(), r.all());
        assertTrue(r.err().contains("step pre-data failed"), r.err());
        assertTrue(r.err().contains("type \"mood\" already exists"), "pg_restore's own message is shown:\n" + r.err());
    }
}
