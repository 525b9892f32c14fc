package tsmigrate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import tsmigrate.db.Pg;

/**
 * A migration opens few connections: each costs a handshake, SCRAM and a new server backend (15-20 ms here, far
 * more to a cloud service), and steps and state updates used to open one per use, ~40 on the target per run.
 */
class ConnectionReuseTest {
    @TempDir
    Path work;

    private static long sessions(tsmigrate.embedded.EmbeddedCluster cluster, String db) throws Exception {
        try (Connection c = cluster.connect("postgres")) {
            Pg.exec(c, "SELECT pg_stat_clear_snapshot()");
            return Long.parseLong(Pg.queryString(c, "SELECT sessions FROM pg_stat_database WHERE datname = " + Pg.literal(db)));
        }
    }

    @Test
    void aMigrationReusesItsConnections() throws Exception {
        String[] dbs = Clusters.newPair("reuse");
        Clusters.runSql(Clusters.source(), dbs[0], "CREATE TABLE m (time timestamptz NOT NULL, v int);"
                + " INSERT INTO m SELECT timestamptz '2025-01-01' + i * interval '1 hour', i FROM generate_series(0, 47) i;"
                + " CREATE INDEX ON m (time);");
        long src0 = sessions(Clusters.source(), dbs[0]);
        long tgt0 = sessions(Clusters.target(), dbs[1]);
        Cli.Result r = Cli.run("migrate", "--source", Clusters.source().uri(dbs[0]), "--target", Clusters.target().uri(dbs[1]),
                "--work-dir", work.toString(), "--workers", "2", "--chunk-interval", "6 hours");
        assertEquals(0, r.exit(), r.all());
        Thread.sleep(1500); // the backends' last statistics reach the shared counters as they exit
        long src = sessions(Clusters.source(), dbs[0]) - src0;
        long tgt = sessions(Clusters.target(), dbs[1]) - tgt0;
        System.out.println("sessions opened by one migration: source " + src + ", target " + tgt);
        assertTrue(src <= 8 && tgt <= 12, "source " + src + ", target " + tgt + " sessions");
    }

    /** Opened while Camel starts: the first connect takes that very connection, and no second one is opened. */
    @Test
    void aPrewarmedConnectionIsTheFirstOneHandedOut() throws Exception {
        String[] dbs = Clusters.newPair("prewarm");
        tsmigrate.config.ConnInfo ci = targetOf(dbs);
        long before = sessions(Clusters.target(), dbs[1]);
        Pg.prewarm("target", ci);
        Pg.prewarm("target", ci); // the same database again: still one
        long pid;
        try (Connection c = Pg.connect("target", ci)) {
            pid = pid(c);
            assertEquals("UTC", Pg.queryString(c, "SHOW TimeZone"), "the session settings are in force");
        }
        try (Connection c = Pg.connect("target", ci)) {
            assertEquals(pid, pid(c), "given back to the pool like any other");
        }
        Pg.closeIdleConnections();
        Thread.sleep(1500); // the backends' last statistics reach the shared counters as they exit
        assertEquals(1, sessions(Clusters.target(), dbs[1]) - before, "one session for the prewarm and both connects");
    }

    /** A prewarm that fails is reported by the first connect, in its usual words, after one attempt only. */
    @Test
    void aPrewarmFailureIsReportedOnceByTheFirstConnect() throws Exception {
        try (java.net.ServerSocket server = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            java.util.concurrent.atomic.AtomicInteger attempts = new java.util.concurrent.atomic.AtomicInteger();
            Thread acceptor = new Thread(() -> {
                while (!server.isClosed()) {
                    try (java.net.Socket s = server.accept()) {
                        attempts.incrementAndGet(); // and hang up: not a PostgreSQL server
                    } catch (java.io.IOException e) {
                        return;
                    }
                }
            });
            acceptor.setDaemon(true);
            acceptor.start();
            tsmigrate.config.ConnInfo ci = tsmigrate.config.ConnInfo.parse("source",
                    "postgresql://nobody:secret@127.0.0.1:" + server.getLocalPort() + "/nothing?connectTimeout=5");
            Pg.prewarm("source", ci);
            tsmigrate.run.UserError e = org.junit.jupiter.api.Assertions.assertThrows(tsmigrate.run.UserError.class,
                    () -> Pg.connect("source", ci));
            assertTrue(e.getMessage().contains("source"), e.getMessage());
            assertTrue(!e.getMessage().contains("secret"), "no password in the message: " + e.getMessage());
            assertEquals(1, attempts.get(), "one attempt for the prewarm and the connect together");
            org.junit.jupiter.api.Assertions.assertThrows(tsmigrate.run.UserError.class, () -> Pg.connect("source", ci));
            assertEquals(2, attempts.get(), "a later connect tries again");
        }
    }

    private static tsmigrate.config.ConnInfo targetOf(String[] dbs) {
        return tsmigrate.config.ConnInfo.parse("target", Clusters.target().uri(dbs[1]));
    }

    private static long pid(Connection c) throws Exception {
        return Long.parseLong(Pg.queryString(c, "SELECT pg_backend_pid()"));
    }

    /** A connection comes back as new: its settings reset, advisory locks released, the session settings in force. */
    @Test
    void aReusedConnectionIsReset() throws Exception {
        String[] dbs = Clusters.newPair("reset");
        tsmigrate.config.ConnInfo ci = targetOf(dbs);
        long first;
        try (Connection c = Pg.connect("target", ci)) {
            first = pid(c);
            // what tsmigrate itself sets on its sessions (workers, the snapshot holder), and any other setting
            Pg.exec(c, "SET synchronous_commit = off; SET idle_in_transaction_session_timeout = 0; SET work_mem = '1MB';"
                    + " SET TimeZone = 'Asia/Tokyo'; SELECT pg_advisory_lock(4242)");
        }
        try (Connection c = Pg.connect("target", ci); Connection other = Clusters.target().connect(dbs[1])) {
            assertEquals(first, pid(c), "the same server session");
            for (String setting : new String[] {"synchronous_commit", "idle_in_transaction_session_timeout", "work_mem"}) {
                assertEquals(Pg.queryString(other, "SHOW " + setting), Pg.queryString(c, "SHOW " + setting), setting);
            }
            assertEquals("UTC", Pg.queryString(c, "SHOW TimeZone"));
            assertEquals("t", Pg.queryString(other, "SELECT pg_try_advisory_lock(4242)"), "the lock was released");
        }
    }

    /** Closed inside a transaction: the transaction ends (rolled back) with the session, which is not reused. */
    @Test
    void aConnectionClosedInATransactionIsNotReused() throws Exception {
        String[] dbs = Clusters.newPair("intx");
        Clusters.runSql(Clusters.target(), dbs[1], "CREATE TABLE t (v int)");
        tsmigrate.config.ConnInfo ci = targetOf(dbs);
        long first;
        try (Connection c = Pg.connect("target", ci)) {
            first = pid(c);
            c.setAutoCommit(false);
            Pg.exec(c, "INSERT INTO t VALUES (1)");
        }
        try (Connection c = Pg.connect("target", ci)) {
            assertTrue(first != pid(c), "a new session");
            assertEquals("0", Pg.queryString(c, "SELECT count(*) FROM t"));
            assertTrue(c.getAutoCommit());
        }
    }

    /** A kept connection whose server session ended meanwhile is replaced, not handed out. */
    @Test
    void aDeadKeptConnectionIsReplaced() throws Exception {
        String[] dbs = Clusters.newPair("dead");
        tsmigrate.config.ConnInfo ci = targetOf(dbs);
        long first;
        try (Connection c = Pg.connect("target", ci)) {
            first = pid(c);
        }
        try (Connection admin = Clusters.target().connect(dbs[1])) {
            Pg.exec(admin, "SELECT pg_terminate_backend(" + first + ")");
        }
        Thread.sleep(200);
        try (Connection c = Pg.connect("target", ci)) {
            assertTrue(first != pid(c));
            assertEquals("1", Pg.queryString(c, "SELECT 1"));
        }
    }

    @Test
    void aClosedLeaseCannotBeUsed() throws Exception {
        String[] dbs = Clusters.newPair("lease");
        tsmigrate.config.ConnInfo ci = targetOf(dbs);
        Connection c = Pg.connect("target", ci);
        c.close();
        assertTrue(c.isClosed());
        java.sql.SQLException e = org.junit.jupiter.api.Assertions.assertThrows(java.sql.SQLException.class, c::createStatement);
        assertEquals("08003", e.getSQLState());
        c.close(); // twice is fine
    }

    /**
     * Where connections share server sessions (a pooler, or here the PGlite front), another client can change
     * the session between our uses: such connections are closed, never kept. Seen by the handshake's backend pid,
     * which the front numbers per connection.
     */
    @Test
    void connectionsThatShareAServerSessionAreNotKept() throws Exception {
        try (PgliteFront front = PgliteFront.start()) {
            tsmigrate.config.ConnInfo ci = tsmigrate.config.ConnInfo.parse("target", front.uri());
            int first;
            try (Connection c = Pg.connect("target", ci)) {
                first = c.unwrap(org.postgresql.PGConnection.class).getBackendPID();
            }
            try (Connection c = Pg.connect("target", ci)) {
                assertTrue(first != c.unwrap(org.postgresql.PGConnection.class).getBackendPID(), "a new connection");
            }
        }
    }

    /**
     * The server-progress look (index builds, ANALYZE) runs beside pg_restore: from a shared session it could land
     * inside pg_restore's transaction, so it stays off there; on a session of its own it runs.
     */
    @Test
    void serverProgressLooksOnlyFromASessionOfItsOwn() throws Exception {
        String[] dbs = Clusters.newPair("srvprog");
        try (Connection c = Pg.connect("target", targetOf(dbs))) {
            assertTrue(Pg.ownSession(c));
        }
        try (tsmigrate.report.ServerProgress p = tsmigrate.report.ServerProgress.indexBuilds("post-data", targetOf(dbs), "nobody", 3600)) {
            assertEquals(List.of(), p.lines(), "no builds of that application");
        }
        try (PgliteFront front = PgliteFront.start()) {
            tsmigrate.config.ConnInfo ci = tsmigrate.config.ConnInfo.parse("target", front.uri());
            try (Connection c = Pg.connect("target", ci)) {
                assertTrue(!Pg.ownSession(c), "the front shares one session");
            }
            try (tsmigrate.report.ServerProgress p = tsmigrate.report.ServerProgress.indexBuilds("post-data", ci, "nobody", 3600)) {
                assertEquals(List.of(), p.lines());
            }
        }
    }
}
