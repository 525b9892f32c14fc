package tsmigrate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import tsmigrate.config.ConnInfo;
import tsmigrate.db.Pg;
import tsmigrate.state.StateStore;

/**
 * A worker's claim of its next chunk must not read every chunk of the plan: each claim read them all (twice, with the
 * look for dead instances), so a plan of n chunks cost n^2 row reads on the target (4,000 chunks: ~4 ms a claim, most
 * of a 2,000-table migration's data step; 50,000 chunks would take hours). Counted with the transaction's own
 * statistics (pg_stat_xact_user_tables), which no other session touches.
 */
class ClaimCostTest {
    @TempDir
    Path work;

    @Test
    void aClaimReadsOnlyTheChunksLeftToCopy() throws Exception {
        String[] dbs = Clusters.newPair("claimcost");
        ConnInfo target = ConnInfo.parse("target", Clusters.target().uri(dbs[1]));
        ConnInfo source = ConnInfo.parse("source", Clusters.source().uri(dbs[0]));
        StateStore state = new StateStore(target, "m-claimcost", work);
        try (Connection c = Clusters.target().connect(dbs[1])) {
            state.create(c, source, "1 day");
            Pg.exec(c, "INSERT INTO tsmigrate.source_table (migration, table_no, schema_name, table_name, columns, estimated_rows, bytes, split)"
                    + " SELECT 'm-claimcost', t, 'public', 't' || t, ARRAY['a'], 0, 0, 'whole' FROM generate_series(1, 100) t");
            // 20,000 chunks copied, 3 left, the ones a claim takes last (highest chunk_no)
            Pg.exec(c, "INSERT INTO tsmigrate.chunk (migration, table_no, chunk_no, range, state)"
                    + " SELECT 'm-claimcost', t, n, 'r', CASE WHEN n = 201 AND t <= 3 THEN 'planned' ELSE 'loaded' END"
                    + " FROM generate_series(1, 100) t, generate_series(1, 201) n WHERE n <= 200 OR t <= 3");
            Pg.exec(c, "ANALYZE tsmigrate.chunk");
            c.setAutoCommit(false);
            StateStore.Claim claim = state.claim(c, "60 seconds", state.deadInstancesOnThisHost(c), List.of());
            assertNotNull(claim);
            assertEquals(201, claim.chunkNo());
            long read = Long.parseLong(Pg.queryString(c, "SELECT seq_tup_read + coalesce(idx_tup_fetch, 0) FROM pg_stat_xact_user_tables"
                    + " WHERE relid = 'tsmigrate.chunk'::regclass"));
            c.rollback();
            assertTrue(read < 100, "rows of tsmigrate.chunk read for one claim and the dead-instance look: " + read);
        }
    }
}
