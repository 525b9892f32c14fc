package tsmigrate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The analyze step covers what a database-wide ANALYZE covers (tables, partitions through their parent,
 * inheritance children, materialized views, the catalogs), table by table on up to --workers sessions.
 */
class AnalyzeTest {
    @TempDir
    Path work;

    @Test
    void everyTableIsAnalyzedOnSeveralSessions() throws Exception {
        String[] dbs = Clusters.newPair("analyze");
        Clusters.runSql(Clusters.source(), dbs[0], """
                CREATE TABLE a (t timestamptz NOT NULL, v int);
                INSERT INTO a SELECT '2024-01-01'::timestamptz + i * interval '1 min', i FROM generate_series(1, 2000) i;
                CREATE TABLE "B c" (t timestamptz NOT NULL, v int);
                INSERT INTO "B c" SELECT '2024-01-01'::timestamptz + i * interval '1 min', i FROM generate_series(1, 500) i;
                CREATE TABLE p (t timestamptz NOT NULL, v int) PARTITION BY RANGE (t);
                CREATE TABLE p1 PARTITION OF p FOR VALUES FROM ('2024-01-01') TO ('2024-01-02');
                CREATE TABLE p2 PARTITION OF p FOR VALUES FROM ('2024-01-02') TO ('2024-01-03');
                INSERT INTO p SELECT '2024-01-01'::timestamptz + i * interval '1 min', i FROM generate_series(1, 2000) i;
                CREATE TABLE parent (t timestamptz NOT NULL, v int);
                CREATE TABLE child () INHERITS (parent);
                INSERT INTO parent SELECT '2024-01-01'::timestamptz + i * interval '1 h', i FROM generate_series(1, 30) i;
                INSERT INTO child SELECT '2024-01-01'::timestamptz + i * interval '1 h', i FROM generate_series(1, 30) i;
                CREATE MATERIALIZED VIEW mv AS SELECT v FROM a WHERE v % 2 = 0;
                """);
        Cli.Result r = Cli.run("migrate", "--source", Clusters.source().uri(dbs[0]), "--target", Clusters.target().uri(dbs[1]),
                "--work-dir", work.toString(), "--workers", "3");
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.all().contains("tables (catalogs included) on 3 sessions"), r.all());
        try (Connection t = Clusters.target().connect(dbs[1]); var st = t.createStatement();
             var rs = st.executeQuery("SELECT s.schemaname || '.' || s.relname, s.last_analyze IS NOT NULL FROM pg_stat_all_tables s"
                     + " JOIN pg_class c ON c.oid = s.relid WHERE c.relkind IN ('r', 'm') AND s.schemaname IN ('public', 'pg_catalog')"
                     // the one table ANALYZE never analyzes, database-wide or by name: where statistics are kept
                     + " AND s.relid <> 'pg_catalog.pg_statistic'::regclass"
                     + " ORDER BY 1")) {
            List<String> notAnalyzed = new ArrayList<>();
            int seen = 0;
            while (rs.next()) {
                seen++;
                if (!rs.getBoolean(2)) notAnalyzed.add(rs.getString(1));
            }
            assertTrue(seen > 40, "the catalogs and the 8 relations of public: " + seen);
            assertEquals(List.of(), notAnalyzed, "every table, partition, child, materialized view and catalog");
        }
    }

    /**
     * A database owner may analyze every table of its database, also in a schema it has no USAGE on: a
     * database-wide ANALYZE does, while ANALYZE by name fails there ("permission denied for schema"). Such a
     * target gets the database-wide ANALYZE.
     */
    @Test
    void aSchemaWithoutUsageIsStillAnalyzed() throws Exception {
        String[] dbs = Clusters.newPair("analyze_usage");
        String owner = dbs[1] + "_owner";
        String other = dbs[1] + "_other";
        Clusters.runSql(Clusters.source(), dbs[0], "CREATE TABLE a (t timestamptz NOT NULL, v int);"
                + " INSERT INTO a SELECT '2024-01-01'::timestamptz + i * interval '1 min', i FROM generate_series(1, 100) i");
        Clusters.runSql(Clusters.target(), dbs[1], "CREATE ROLE " + owner + " LOGIN PASSWORD 'pw'; CREATE ROLE " + other + ";"
                + " ALTER DATABASE " + dbs[1] + " OWNER TO " + owner + "; ALTER SCHEMA public OWNER TO " + owner + ";"
                + " CREATE SCHEMA priv AUTHORIZATION " + other + "; CREATE TABLE priv.t (a int); ALTER TABLE priv.t OWNER TO " + other + ";"
                + " CREATE TABLE public.b (a int); ALTER TABLE public.b OWNER TO " + owner + ";");
        String target = Clusters.target().uri(dbs[1]).replaceFirst("//[^@]*@", "//" + owner + ":pw@");
        Cli.Result r = Cli.run("migrate", "--source", Clusters.source().uri(dbs[0]), "--target", target,
                "--work-dir", work.toString(), "--workers", "3", "--steps", "analyze");
        assertEquals(0, r.exit(), r.all());
        try (Connection t = Clusters.target().connect(dbs[1]); var st = t.createStatement();
             var rs = st.executeQuery("SELECT string_agg(schemaname || '.' || relname, ', ' ORDER BY 1) FROM pg_stat_all_tables"
                     + " WHERE relname IN ('t', 'b') AND schemaname IN ('priv', 'public') AND last_analyze IS NOT NULL")) {
            rs.next();
            assertEquals("priv.t, public.b", rs.getString(1));
        }
    }

    /**
     * A table dropped on the target between the step's listing and its ANALYZE is skipped, as a database-wide
     * ANALYZE skips it. The drop is made exact with a lock: ANALYZE waits for it, and finds the table gone.
     */
    @Test
    void aTableDroppedMeanwhileIsSkipped() throws Exception {
        String[] dbs = Clusters.newPair("analyze_drop");
        Clusters.runSql(Clusters.source(), dbs[0], "CREATE TABLE a (t timestamptz NOT NULL, v int);"
                + " INSERT INTO a SELECT '2024-01-01'::timestamptz + i * interval '1 min', i FROM generate_series(1, 100) i");
        Clusters.runSql(Clusters.target(), dbs[1], "CREATE TABLE victim (a int); CREATE TABLE kept (a int)");
        try (Connection holder = Clusters.target().connect(dbs[1]); Connection watch = Clusters.target().connect(dbs[1])) {
            holder.setAutoCommit(false);
            tsmigrate.db.Pg.exec(holder, "LOCK TABLE victim IN ACCESS EXCLUSIVE MODE");
            java.util.concurrent.CompletableFuture<Cli.Result> run = java.util.concurrent.CompletableFuture.supplyAsync(() -> Cli.run(
                    "migrate", "--source", Clusters.source().uri(dbs[0]), "--target", Clusters.target().uri(dbs[1]),
                    "--work-dir", work.toString(), "--workers", "2", "--steps", "analyze"));
            long deadline = System.currentTimeMillis() + 60_000;
            while (!"1".equals(tsmigrate.db.Pg.queryString(watch, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    + " AND query LIKE 'ANALYZE %victim%'")) && System.currentTimeMillis() < deadline && !run.isDone()) {
                Thread.sleep(20);
            }
            tsmigrate.db.Pg.exec(holder, "DROP TABLE victim");
            holder.commit();
            Cli.Result r = run.get(2, java.util.concurrent.TimeUnit.MINUTES);
            assertEquals(0, r.exit(), r.all());
            assertTrue(tsmigrate.db.Pg.queryString(watch, "SELECT last_analyze IS NOT NULL FROM pg_stat_all_tables WHERE relname = 'kept'")
                    .equals("t"), "the other tables are analyzed");
        }
    }
}
