package tsmigrate.report;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import tsmigrate.config.ConnInfo;

/**
 * Says, every period, which of our sessions waits for a lock another session holds (a long ALTER TABLE, an open
 * transaction): what it waits for and who holds it. A step that waits is otherwise silent for as long as the lock is
 * held (QA: minutes without a line). The sessions are pg_dump's or pg_restore's (by application_name) or the run's
 * own (by backend pid); see ServerLook for the look itself. The holder's query is not shown: it may hold
 * values that are not ours to print.
 */
public final class LockWaits extends ServerLook {
    private static final String WAITS = """
            SELECT w.pid, coalesce(pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname), l.locktype), l.mode,
                   (extract(epoch FROM pg_catalog.now() - w.state_change))::bigint,
                   (SELECT pg_catalog.string_agg('pid ' || b.pid || coalesce(' (' || nullif(b.application_name, '') || ')', '')
                           || coalesce(', user ' || b.usename, '') || coalesce(', ' || b.state, '')
                           || coalesce(', in a transaction for ' || (extract(epoch FROM pg_catalog.now() - b.xact_start))::bigint || ' s', ''), '; ')
                    FROM pg_catalog.pg_stat_activity b WHERE b.pid = ANY (pg_catalog.pg_blocking_pids(w.pid)))
            FROM pg_catalog.pg_stat_activity w
            JOIN pg_catalog.pg_locks l ON l.pid = w.pid AND NOT l.granted
            LEFT JOIN pg_catalog.pg_class c ON c.oid = l.relation LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE w.wait_event_type = 'Lock' AND w.datname = pg_catalog.current_database()
              AND (w.application_name = ? OR w.pid = ANY (?))
            ORDER BY 1""";

    private final String what;
    private final String side;
    private final String appName;
    private final List<Integer> pids;

    private LockWaits(String what, String side, ConnInfo server, String appName, List<Integer> pids, int periodSeconds) {
        super(side, server, "lock-waits-" + side);
        this.what = what;
        this.side = side;
        this.appName = appName;
        this.pids = pids;
        start(periodSeconds);
    }

    /** The waits of the sessions whose application_name is appName (pg_dump's, pg_restore's). */
    public static LockWaits ofTool(String what, String side, ConnInfo server, String appName, int periodSeconds) {
        return new LockWaits(what, side, server, appName, List.of(), periodSeconds);
    }

    /** The waits of this connection's session (a pooled or proxied session may have another pid: then none are seen). */
    public static LockWaits ofSession(String what, String side, ConnInfo server, Connection c, int periodSeconds) {
        List<Integer> pids = new ArrayList<>();
        try {
            pids.add(c.unwrap(org.postgresql.PGConnection.class).getBackendPID());
        } catch (SQLException e) {
            // not PgJDBC's: nothing to watch
        }
        return new LockWaits(what, side, server, null, pids, periodSeconds);
    }

    @Override
    void log(String line) {
        LOG.warn("{}: {}", what, line);
    }

    /** One line per lock waited for. */
    @Override
    List<String> look(Connection conn) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = conn.prepareStatement(WAITS)) {
            ps.setString(1, appName);
            ps.setArray(2, conn.createArrayOf("int4", pids.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String holders = rs.getString(5);
                    // shown(): a newline in a name is written as \n, so that it cannot split or forge a log line (QA)
                    out.add("session " + rs.getInt(1) + " on the " + side + " waits for a lock on " + tsmigrate.plan.TableInfo.shown(rs.getString(2))
                            + " (" + rs.getString(3) + ") for " + rs.getLong(4) + " s, held by "
                            + (holders == null ? "a session that ended or is not visible (or a prepared transaction)" : tsmigrate.plan.TableInfo.shown(holders))
                            + "; it goes on once that lock is released");
                }
            }
        }
        return out;
    }
}
