package tsmigrate.db;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import org.postgresql.core.Utils;

import tsmigrate.config.ConnInfo;
import tsmigrate.run.UserError;

/** Connections and SQL text, always built with the driver's own quoting. */
public final class Pg {
    /**
     * Session settings that make every text form unambiguous and identical on both sides:
     * ISO dates, UTC, exact floats, hex bytea.
     */
    private static final String SESSION = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres';"
            + " SET extra_float_digits = 3; SET bytea_output = 'hex'; SET client_encoding = 'UTF8';"
            // Row-level security must never quietly leave rows out of a read (an error instead: preflight names the
            // tables first); XML content, not only documents, as pg_dump sets it.
            + " SET row_security = off; SET xmloption = content";
    /**
     * Before a kept connection is used again: every setting back to what the session started with (its URI options
     * and role defaults included), session advisory locks released, then SESSION. Only connections with a server
     * session of their own are kept, so this resets nobody else's.
     */
    private static final String REUSE = "RESET ALL; SELECT pg_catalog.pg_advisory_unlock_all(); " + SESSION;

    private Pg() {
    }

    /** Connections being opened ahead of their first use, by key (see {@link #prewarm}). */
    private static final java.util.concurrent.ConcurrentMap<String, java.util.concurrent.CompletableFuture<Connection>> PREWARMED =
            new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * Starts opening a connection in the background, for the caller to do other work meanwhile (the engine starting).
     * The next {@link #connect} for the same database takes that connection, or its failure: one attempt either way,
     * so a wrong password or a host that does not answer is reported once, by that caller, in its usual words.
     */
    public static void prewarm(String side, ConnInfo ci) {
        PREWARMED.computeIfAbsent(key(ci), k -> {
            java.util.concurrent.CompletableFuture<Connection> f = new java.util.concurrent.CompletableFuture<>();
            tsmigrate.run.Background.threads(() -> "tsmigrate-connect-" + side).newThread(() -> {
                try {
                    f.complete(open(side, ci));
                } catch (Throwable e) {
                    f.completeExceptionally(e);
                }
            }).start();
            return f;
        });
    }

    /** A connection with the session settings; close() gives it back for reuse (see {@link Pool}). */
    public static Connection connect(String side, ConnInfo ci) {
        java.util.concurrent.CompletableFuture<Connection> early = PREWARMED.remove(key(ci));
        return early != null ? tsmigrate.run.Background.join(early) : open(side, ci);
    }

    /**
     * Whether the connection's server session is its own: not behind a pooler or a front that runs several clients'
     * statements in one session, where a side query could land inside another client's transaction.
     */
    public static boolean ownSession(Connection c) {
        return Pool.ownSession(c);
    }

    /** The pool's key: server, database, user and settings. In memory only: it holds the password. */
    private static String key(ConnInfo ci) {
        return ci.jdbcUrl() + '\n' + new java.util.TreeMap<>(ci.jdbcProperties("tsmigrate"));
    }

    private static Connection open(String side, ConnInfo ci) {
        java.util.Properties props = ci.jdbcProperties("tsmigrate");
        String key = key(ci);
        return Pool.borrow(key, REUSE, () -> {
            try {
                Connection c = DriverManager.getConnection(ci.jdbcUrl(), props);
                try (Statement st = c.createStatement()) {
                    st.execute(SESSION + "; SELECT pg_catalog.pg_backend_pid()");
                    return new Pool.Opened(c, ownSession(c, st));
                }
            } catch (SQLException e) {
                throw explain(side, ci, e);
            }
        });
    }

    /**
     * Whether the connection has a server session of its own: the backend pid the session reports is the one the
     * handshake gave (a pooler or a front that shares sessions gives its own). st: after SESSION; SELECT pid.
     */
    private static boolean ownSession(Connection c, Statement st) throws SQLException {
        int handshakePid = c.unwrap(org.postgresql.PGConnection.class).getBackendPID();
        while (true) {
            ResultSet rs = st.getResultSet();
            if (rs != null) {
                try (rs) {
                    return rs.next() && rs.getInt(1) == handshakePid;
                }
            }
            if (!st.getMoreResults() && st.getUpdateCount() == -1) return false;
        }
    }

    /** Closes the connections kept for reuse: a run's end. */
    public static void closeIdleConnections() {
        // a prewarmed connection nobody took (the run ended before its first step) is closed once it is open
        for (String k : new ArrayList<>(PREWARMED.keySet())) {
            java.util.concurrent.CompletableFuture<Connection> f = PREWARMED.remove(k);
            if (f != null) f.thenAccept(c -> {
                closeQuietly(c);
                Pool.closeIdle();
            });
        }
        Pool.closeIdle();
    }

    /**
     * A connection that could not be opened, in words. When a run's first connections fail, the URI or the server is
     * wrong: the user's to fix (exit 2). Once the run has connected, the same failure is most often the server
     * restarting; the data step then judges it by the driver's SQLSTATE, its cause (see Faults).
     */
    public static final class CannotConnect extends UserError {
        CannotConnect(String message, String hint, SQLException cause) {
            super(message, hint, cause);
        }
    }

    /** Turns a failed connection into words: what is wrong and what to do. */
    static CannotConnect explain(String side, ConnInfo ci, SQLException e) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        String where = side + " " + ci.masked();
        if ("08004".equals(state) && !ci.hasPassword() && String.valueOf(e.getMessage()).contains("password")) {
            // PgJDBC's "The server requested SCRAM-based authentication, but no password was provided": a connection-rejected state
            return new CannotConnect("The " + where + " asks for a password, and none was given.",
                    "Give it in the URI (postgresql://user:PASSWORD@host/db, percent-encoded), or in the job file as " + side
                            + ": {uri: ..., password: file:PATH} (or password: ${env:NAME}), or in the environment variable PGPASSWORD,"
                            + " or in ~/.pgpass (or the file PGPASSFILE names).", e);
        }
        if (String.valueOf(e.getMessage()).startsWith("Invalid ") && !(e.getCause() instanceof java.io.IOException)) {
            // PgJDBC refusing a URI parameter ("Invalid sslmode value: bogus"), before any network: with 08001, like a refused connection
            return new CannotConnect("The " + side + " URI " + ci.masked() + " has a parameter the driver refuses: " + firstLine(e),
                    "Fix the parameter in the URI (after the ?), e.g. sslmode=disable, prefer, require, verify-ca or verify-full.", e);
        }
        return switch (state) {
            case "28P01", "28000" -> new CannotConnect("The " + where + " refused the login of user '" + ci.user() + "': " + firstLine(e),
                    "Check the user name and password in the " + side + " URI, or its password reference in the job file, or PGPASSWORD"
                            + " (taken when neither gives one).", e);
            case "3D000" -> new CannotConnect("The " + where + " has no database '" + ci.database() + "'.",
                    "Create it first (CREATE DATABASE), or fix the database name at the end of the URI.", e);
            case "08001", "08004", "08006" -> new CannotConnect("Cannot reach the " + where + ": " + firstLine(e),
                    "Check host and port, that the server is running, and that it accepts connections from here.", e);
            default -> new CannotConnect("Cannot connect to the " + where + ": " + firstLine(e),
                    "Check the URI and the server's log.", e);
        };
    }

    private static String firstLine(Throwable e) {
        String m = String.valueOf(e.getMessage());
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }

    public static String ident(String name) {
        try {
            return Utils.escapeIdentifier(new StringBuilder(), name).toString();
        } catch (SQLException e) {
            throw new IllegalArgumentException("identifier cannot be quoted: " + e.getMessage(), e);
        }
    }

    public static String qualified(String schema, String name) {
        return ident(schema) + "." + ident(name);
    }

    /** Whether the relation (quoted, as qualified() gives it) exists. */
    public static boolean exists(Connection c, String qualifiedName) throws SQLException {
        return queryString(c, "SELECT pg_catalog.to_regclass(" + literal(qualifiedName) + ")") != null;
    }

    /**
     * Those of the relations (quoted names, as qualified() gives them) that the server does not have, in the order
     * given: one statement for all of them, not a round trip each.
     */
    public static List<String> missing(Connection c, List<String> qualifiedNames) throws SQLException {
        List<String> out = new java.util.ArrayList<>();
        if (qualifiedNames.isEmpty()) return out;
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT t FROM unnest(CAST(? AS text[])) WITH ORDINALITY u (t, o) WHERE pg_catalog.to_regclass(t) IS NULL ORDER BY o")) {
            ps.setArray(1, c.createArrayOf("text", qualifiedNames.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) out.add(rs.getString(1));
            }
        }
        return out;
    }

    /** Whether the table (quoted, as qualified() gives it) holds a row of its own (ONLY: not its partitions' or children's). */
    public static boolean hasRows(Connection c, String qualifiedName) throws SQLException {
        return "t".equals(queryString(c, "SELECT EXISTS (SELECT 1 FROM ONLY " + qualifiedName + ")"));
    }

    /** A string literal; standard_conforming_strings is on in every server we support (9.1+ default). */
    public static String literal(String value) {
        try {
            return Utils.escapeLiteral(new StringBuilder("'"), value, true).append('\'').toString();
        } catch (SQLException e) {
            throw new IllegalArgumentException("literal cannot be quoted: " + e.getMessage(), e);
        }
    }

    public static String quotedColumns(List<String> columns) {
        List<String> q = new ArrayList<>(columns.size());
        for (String c : columns) q.add(ident(c));
        return String.join(", ", q);
    }

    public static String queryString(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    public static void exec(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    public static int serverMajor(Connection c) throws SQLException {
        return Integer.parseInt(queryString(c, "SHOW server_version_num")) / 10000;
    }

    /** TimescaleDB's version when installed in this database, else null. */
    public static String timescaleVersion(Connection c) throws SQLException {
        return queryString(c, "SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'timescaledb'");
    }

    /** Schemas that belong to PostgreSQL or TimescaleDB internals, never user data. */
    public static final String SYSTEM_SCHEMA_FILTER =
            "n.nspname NOT IN ('pg_catalog', 'information_schema', 'timescaledb_information', 'timescaledb_experimental')"
            + " AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' AND n.nspname NOT LIKE '\\_timescaledb%'"
            + " AND n.nspname <> 'tsmigrate'";

    /** Not a member of an extension (pg_dump leaves those to CREATE EXTENSION). Needs pg_class as c. */
    public static final String NOT_EXTENSION_MEMBER = "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d"
            + " WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')";

    /** The user's relations of one kind ('r' tables, 'S' sequences), quoted, in name order. */
    public static List<String> userRelations(Connection c, char relkind) throws SQLException {
        List<String> out = new ArrayList<>();
        try (java.sql.PreparedStatement ps = c.prepareStatement("SELECT n.nspname, c.relname FROM pg_catalog.pg_class c"
                + " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = ? AND " + SYSTEM_SCHEMA_FILTER
                + " AND " + NOT_EXTENSION_MEMBER + " ORDER BY 1, 2")) {
            ps.setString(1, String.valueOf(relkind));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) out.add(qualified(rs.getString(1), rs.getString(2)));
            }
        }
        return out;
    }

    /**
     * Closes c for good, never keeping it for reuse: for a connection a failure left in doubt (a COPY cut short can
     * leave the driver's protocol state broken while the session looks idle).
     */
    public static void discard(Connection c) {
        if (c == null) return;
        try {
            c.abort(Runnable::run);
        } catch (Exception ignored) {
            // already gone
        }
    }

    /**
     * Asks the server to cancel what c is running now (a no-op when it runs nothing). From another thread: the
     * statement then fails with query_canceled on its own.
     */
    public static void cancelQuietly(Connection c) {
        try {
            c.unwrap(org.postgresql.core.BaseConnection.class).cancelQuery();
        } catch (SQLException | RuntimeException e) {
            org.slf4j.LoggerFactory.getLogger(Pg.class).debug("could not cancel a statement: {}", e.toString());
        }
    }

    public static void closeQuietly(AutoCloseable c) {
        if (c == null) return;
        try {
            c.close();
        } catch (Exception ignored) {
            // closing after a failure: the first error is the one worth reporting
        }
    }
}
