package tsmigrate.analyze;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import tsmigrate.db.Pg;
import tsmigrate.report.ServerProgress;
import tsmigrate.run.Background;
import tsmigrate.run.MigrationRun;

/**
 * The analyze step: fresh planner statistics on the target, as the procedure's last step asks. ANALYZE works on one
 * table at a time in one session, so with many tables it runs on up to --workers sessions, largest tables first,
 * covering what a database-wide ANALYZE covers (catalogs included; a partitioned table's ANALYZE covers its
 * partitions). It stays one database-wide ANALYZE on a TimescaleDB target, which then visits every chunk once
 * (TimescaleDB may take a hypertable's chunks into an ANALYZE of the hypertable, so a table-by-table list could
 * analyze them twice), and where a schema cannot be used by name (no USAGE on it: ANALYZE by name would fail there,
 * while the database's owner analyzes its tables database-wide).
 */
public class Analyze {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Analyze.class);
    /**
     * Everything a database-wide ANALYZE visits, largest first; partitions come with their parent. The second
     * column: whether it can be named here (ANALYZE by name needs USAGE on the schema, a database-wide one not).
     */
    private static final String TABLES = """
            SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname),
                   pg_catalog.has_schema_privilege(n.oid, 'USAGE')
            FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'm', 'p') AND NOT c.relispartition AND c.relpersistence <> 't'
              AND n.nspname <> 'pg_toast'
            ORDER BY c.relpages DESC, 1""";

    public void run(MigrationRun run) throws Exception {
        String[] counts = {"already done"};
        run.state.once("analyze", redo -> {
            counts[0] = analyze(run);
            return counts[0];
        });
        run.counts("analyze", counts[0]);
    }

    private static String analyze(MigrationRun run) throws Exception {
        List<String> tables = new ArrayList<>();
        try (Connection tgt = Pg.connect("target", run.cfg.target)) {
            if (Pg.timescaleVersion(tgt) == null) {
                boolean allNamed = true;
                try (Statement st = tgt.createStatement(); ResultSet rs = st.executeQuery(TABLES)) {
                    while (rs.next()) {
                        tables.add(rs.getString(1));
                        allNamed &= rs.getBoolean(2);
                    }
                }
                // a table that cannot be named here is still analyzed by a database-wide ANALYZE: that one, then
                if (!allNamed) tables.clear();
            }
            int sessions = Math.min(run.cfg.workers, tables.size());
            if (sessions <= 1) {
                try (ServerProgress progress = ServerProgress.analyze("analyze", run.cfg.target, List.of(pid(tgt)), run.cfg.progressSeconds)) {
                    Pg.exec(tgt, "ANALYZE");
                }
                return "target analyzed";
            }
            return parallel(run, tables, sessions);
        }
    }

    /**
     * ANALYZE table by table on several sessions, each taking the next table from one queue. A session that fails
     * empties the queue, so the others stop after their current table.
     */
    private static String parallel(MigrationRun run, List<String> tables, int sessions) throws Exception {
        ConcurrentLinkedQueue<String> queue = new ConcurrentLinkedQueue<>(tables);
        List<Integer> pids = new CopyOnWriteArrayList<>(); // the sessions' backends, as they connect: the progress follows them
        AtomicInteger n = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(sessions, Background.threads(() -> "analyze-" + n.incrementAndGet()));
        try (ServerProgress progress = ServerProgress.analyze("analyze", run.cfg.target, pids, run.cfg.progressSeconds)) {
            List<Future<?>> done = new ArrayList<>();
            for (int i = 0; i < sessions; i++) {
                done.add(pool.submit(() -> {
                    try (Connection c = Pg.connect("target", run.cfg.target)) {
                        pids.add(pid(c));
                        for (String table = queue.poll(); table != null; table = queue.poll()) analyzeOne(c, table);
                    } catch (Exception e) {
                        queue.clear();
                        throw e;
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof Exception cause) throw cause;
                    throw e;
                }
            }
        } finally {
            pool.shutdownNow();
        }
        return "target analyzed: " + tables.size() + " tables (catalogs included) on " + sessions + " sessions";
    }

    private static void analyzeOne(Connection c, String table) throws SQLException {
        try {
            Pg.exec(c, "ANALYZE " + table);
        } catch (SQLException e) {
            // dropped since the listing: a database-wide ANALYZE skips such a table too
            if (!"42P01".equals(e.getSQLState())) throw e;
            LOG.info("analyze: {} is gone from the target; skipped", table);
        }
    }

    private static int pid(Connection c) throws SQLException {
        return c.unwrap(org.postgresql.PGConnection.class).getBackendPID();
    }
}
