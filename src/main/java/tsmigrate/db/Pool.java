package tsmigrate.db;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

import org.postgresql.core.BaseConnection;
import org.postgresql.core.TransactionState;

/**
 * Connections kept open between uses, within this process. Opening one costs a TCP (and TLS) handshake, SCRAM and
 * a new server backend: 15-20 ms on one machine, several round trips to a cloud service; a migration's steps and
 * state updates used to open one per use, ~40 per run on the target.
 * <p>
 * A connection is given back on close() only when no transaction is open in it (else it is closed for real, which
 * ends the transaction). Before it is handed out again, one round trip resets it and proves it alive
 * ({@code resetSql}: RESET ALL, session advisory locks released, the session settings set again). A dead
 * connection is closed and the next one tried.
 */
final class Pool {
    /** More than the workers of a step need at once (source and target each), so a step's end keeps them all. */
    private static final int MAX_IDLE_PER_KEY = 16;
    /** Across all servers (serve's jobs, tests), so idle ones never crowd a server's max_connections. */
    private static final int MAX_IDLE = 32;
    private static final int RESET_TIMEOUT_MS = 10_000;
    private static final Map<String, Deque<Connection>> IDLE = new HashMap<>();

    static {
        // idle connections end with a Terminate message, not a dropped socket the server would log as an error
        try {
            Runtime.getRuntime().addShutdownHook(new Thread(Pool::closeIdle, "tsmigrate-close-connections"));
        } catch (IllegalStateException shuttingDown) {
            // first used while the JVM is already stopping: the sockets close with it
        }
    }

    private Pool() {
    }

    /**
     * A new connection; reusable when its server session is its own. Behind a pooler (PgBouncer) or the tests'
     * PGlite front, connections share server sessions, whose state another client may change between our uses.
     */
    record Opened(Connection connection, boolean reusable) {
    }

    /** A kept connection for key (which names the server, database, user and settings), or a new one. */
    static Connection borrow(String key, String resetSql, Supplier<Opened> open) {
        while (true) {
            Connection real;
            synchronized (IDLE) {
                Deque<Connection> idle = IDLE.get(key);
                real = idle == null ? null : idle.pollFirst();
            }
            if (real == null) {
                Opened o = open.get();
                return wrap(o.reusable() ? key : null, o.connection());
            }
            if (reset(real, resetSql)) return wrap(key, real);
            Pg.closeQuietly(real);
        }
    }

    /** Closes every idle connection (the end of a run or of the process). */
    static void closeIdle() {
        java.util.List<Connection> all = new java.util.ArrayList<>();
        synchronized (IDLE) {
            IDLE.values().forEach(all::addAll);
            IDLE.clear();
        }
        all.forEach(Pg::closeQuietly);
    }

    private static boolean reset(Connection real, String resetSql) {
        try {
            if (real.isClosed()) return false;
            int prior = real.getNetworkTimeout();
            real.setNetworkTimeout(Runnable::run, RESET_TIMEOUT_MS); // a server gone silent fails here, not hangs
            try (Statement st = real.createStatement()) {
                st.execute(resetSql);
            } finally {
                real.setNetworkTimeout(Runnable::run, prior);
            }
            return true;
        } catch (SQLException | RuntimeException e) { // a broken driver state can throw unchecked exceptions too
            return false;
        }
    }

    /** key null: not to be kept. */
    private static void giveBack(String key, Connection real) {
        try {
            if (key != null && !real.isClosed() && real.unwrap(BaseConnection.class).getTransactionState() == TransactionState.IDLE) {
                real.setAutoCommit(true); // no transaction is open: no round trip
                synchronized (IDLE) {
                    Deque<Connection> idle = IDLE.computeIfAbsent(key, k -> new ArrayDeque<>());
                    if (idle.size() < MAX_IDLE_PER_KEY && IDLE.values().stream().mapToInt(Deque::size).sum() < MAX_IDLE) {
                        idle.addFirst(real);
                        return;
                    }
                }
            }
        } catch (SQLException | RuntimeException e) {
            // not reusable: closed below
        }
        Pg.closeQuietly(real);
    }

    /** Whether this connection (from {@link #borrow}) has a server session of its own, not shared with other clients. */
    static boolean ownSession(Connection c) {
        return Proxy.isProxyClass(c.getClass()) && Proxy.getInvocationHandler(c) instanceof Lease l && l.key != null;
    }

    private static Connection wrap(String key, Connection real) {
        return (Connection) Proxy.newProxyInstance(Pool.class.getClassLoader(), new Class<?>[] {Connection.class}, new Lease(key, real));
    }

    /** One use of a pooled connection: close() gives it back, and the lease is over. */
    private static final class Lease implements InvocationHandler {
        private final String key;
        private final Connection real;
        private volatile boolean closed;

        Lease(String key, Connection real) {
            this.key = key;
            this.real = real;
        }

        @Override
        public Object invoke(Object proxy, Method m, Object[] args) throws Throwable {
            switch (m.getName()) {
                case "close":
                    synchronized (this) {
                        if (closed) return null;
                        closed = true;
                    }
                    giveBack(key, real);
                    return null;
                case "abort":
                    // never given back: after a failure its protocol state is not to be trusted (see Pg.discard)
                    synchronized (this) {
                        closed = true;
                    }
                    Pg.closeQuietly(real);
                    return null;
                case "isClosed":
                    return closed || real.isClosed();
                case "equals":
                    return proxy == args[0];
                case "hashCode":
                    return System.identityHashCode(proxy);
                case "toString":
                    return "pooled " + real;
                default:
                    break;
            }
            if (closed) throw new SQLException("This connection has been closed.", "08003");
            try {
                return m.invoke(real, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        }
    }
}
