package tsmigrate.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.atomic.AtomicInteger;

import tsmigrate.embedded.EmbeddedCluster;

/**
 * Two real PostgreSQL 15 servers shared by every test in the JVM (started on first use, stopped at exit).
 * Each test takes fresh databases on them, so tests never see each other's data.
 */
public final class Clusters {
    private static EmbeddedCluster source;
    private static EmbeddedCluster target;
    private static final AtomicInteger SEQ = new AtomicInteger();

    private Clusters() {
    }

    public static synchronized EmbeddedCluster source() {
        if (source == null) source = start("src");
        return source;
    }

    public static synchronized EmbeddedCluster target() {
        if (target == null) target = start("tgt");
        return target;
    }

    private static EmbeddedCluster start(String name) {
        try {
            EmbeddedCluster c = EmbeddedCluster.start(name);
            Runtime.getRuntime().addShutdownHook(new Thread(c::close));
            return c;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A new database pair: {sourceDb, targetDb}, both empty. */
    public static String[] newPair(String prefix) throws SQLException {
        int n = SEQ.incrementAndGet();
        String s = prefix + "_src_" + n;
        String t = prefix + "_tgt_" + n;
        source().createDatabase(s);
        target().createDatabase(t);
        return new String[] {s, t};
    }

    public static void runSql(EmbeddedCluster c, String db, String sql) throws SQLException {
        try (Connection con = c.connect(db); var st = con.createStatement()) {
            st.execute(sql);
        }
    }

    /** A role of the whole cluster (so made once for all tests): with a password it can log in. */
    public static void ensureRole(EmbeddedCluster c, String role, String password) throws SQLException {
        runSql(c, "postgres", "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" + role + "') THEN CREATE ROLE " + role
                + (password == null ? "" : " LOGIN PASSWORD '" + password + "'") + "; END IF; END $$");
    }

    public static String resource(String path) {
        try (var in = Clusters.class.getResourceAsStream(path)) {
            if (in == null) throw new IllegalArgumentException("no resource " + path);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
