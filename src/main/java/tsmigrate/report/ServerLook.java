package tsmigrate.report;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import tsmigrate.config.ConnInfo;
import tsmigrate.db.Pg;

/**
 * A look at a server every period, on a connection of its own, logging a line for each thing found: what runs there
 * out of the JVM's sight (ServerProgress) or waits there (LockWaits). A courtesy: an error turns it off and the step
 * goes on; so does a session shared with others (a pooler), where a look could land inside the watched transaction.
 */
abstract class ServerLook implements AutoCloseable {
    static final Logger LOG = LoggerFactory.getLogger("tsmigrate.progress");

    private final String side;
    private final ConnInfo server;
    private final ScheduledExecutorService timer;
    private volatile Connection conn;
    private volatile boolean off;

    /** Subclasses set their own fields before this starts the looks: their constructors call it last (see start). */
    ServerLook(String side, ConnInfo server, String timerName) {
        this.side = side;
        this.server = server;
        this.timer = tsmigrate.run.Background.timer(timerName);
    }

    /** The looks, the first one a period from now; called at the end of the subclass's constructor. */
    final void start(int periodSeconds) {
        timer.scheduleAtFixedRate(this::report, periodSeconds, periodSeconds, TimeUnit.SECONDS);
    }

    /** What one look finds, a line each. */
    abstract List<String> look(Connection c) throws SQLException;

    /** How a line found is logged. */
    abstract void log(String line);

    private void report() {
        if (off) return;
        try {
            for (String line : lines()) log(line);
        } catch (Exception e) {
            // e.g. a server before PostgreSQL 13, without the progress views
            off = true;
            LOG.debug("cannot look at the {}: {}", side, e.getMessage());
            Pg.closeQuietly(conn);
            conn = null;
        }
    }

    /** One look now. Visible to tests. */
    public List<String> lines() throws SQLException {
        if (conn == null) {
            conn = Pg.connect(side, server);
            if (!Pg.ownSession(conn)) {
                off = true;
                Pg.closeQuietly(conn);
                conn = null;
                return List.of();
            }
        }
        return look(conn);
    }

    @Override
    public void close() {
        timer.shutdownNow();
        boolean idle = false;
        try {
            idle = timer.awaitTermination(5, TimeUnit.SECONDS); // a look in progress ends before its connection goes back
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Connection c = conn;
        conn = null;
        if (c != null && !idle) {
            try {
                c.abort(Runnable::run); // a look still running (a stalled network): never back into the pool like that
            } catch (SQLException e) {
                // it is being dropped anyway
            }
        }
        Pg.closeQuietly(c);
    }
}
