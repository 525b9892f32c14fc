package tsmigrate.report;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import tsmigrate.config.ConnInfo;
import tsmigrate.run.Durations;

/**
 * Progress of work that runs inside the target server, where the JVM sees no rows go by: post-data's index
 * builds and the ANALYZE step. Every period it reads the server's own account (pg_stat_progress_create_index,
 * pg_stat_progress_analyze) on a connection of its own and logs one line per command in flight: what, which
 * phase, how far (blocks or tuples of the phase, as a percentage), the phase's rate and ETA, and the elapsed time.
 */
public final class ServerProgress extends ServerLook {
    /** The index builds of the sessions named appName (pg_restore's). The index name is in the statement: an
     * index being built is not committed, so other sessions see only its number. */
    private static final String INDEX_BUILDS = """
            SELECT p.pid, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname), p.phase, p.blocks_done,
                   p.blocks_total, p.tuples_done, p.tuples_total,
                   pg_catalog.left(pg_catalog.rtrim(pg_catalog.regexp_replace(a.query, '\\s+', ' ', 'g'), '; '), 100)
            FROM pg_catalog.pg_stat_progress_create_index p JOIN pg_catalog.pg_stat_activity a ON a.pid = p.pid
            JOIN pg_catalog.pg_class c ON c.oid = p.relid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE a.application_name = ? AND p.datname = pg_catalog.current_database()
            ORDER BY p.pid""";
    /** The ANALYZE of the analyze step's sessions, table by table. */
    private static final String ANALYZE = """
            SELECT p.pid, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname), p.phase,
                   p.sample_blks_scanned, p.sample_blks_total, p.child_tables_done, p.child_tables_total, NULL
            FROM pg_catalog.pg_stat_progress_analyze p
            JOIN pg_catalog.pg_class c ON c.oid = p.relid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE p.pid = ANY (?)
            ORDER BY p.pid""";

    private final String step;
    private final String sql;
    private final Object param;
    private final long startMs = System.currentTimeMillis();
    /** Per command (pid/phase): {units done, ms} at the previous look, for the phase's rate. */
    private final Map<String, long[]> last = new HashMap<>();

    private ServerProgress(String step, ConnInfo target, String sql, Object param, int periodSeconds) {
        super("target", target, "progress-" + step);
        this.step = step;
        this.sql = sql;
        this.param = param;
        start(periodSeconds);
    }

    /** The index builds of the target sessions whose application_name is appName, while they run. */
    public static ServerProgress indexBuilds(String step, ConnInfo target, String appName, int periodSeconds) {
        return new ServerProgress(step, target, INDEX_BUILDS, appName, periodSeconds);
    }

    /** The ANALYZE running in the target sessions with these backend pids (read at every look: it may grow). */
    public static ServerProgress analyze(String step, ConnInfo target, List<Integer> backendPids, int periodSeconds) {
        return new ServerProgress(step, target, ANALYZE, backendPids, periodSeconds);
    }

    @Override
    void log(String line) {
        LOG.info("{}: {}", step, line);
    }

    /** One line per command in flight. */
    @Override
    List<String> look(Connection conn) throws SQLException {
        List<String> out = new ArrayList<>();
        long now = System.currentTimeMillis();
        try (PreparedStatement ps = conn.prepareStatement(sql)) {
            if (param instanceof List<?> pids) ps.setArray(1, conn.createArrayOf("int4", pids.toArray()));
            else ps.setString(1, (String) param);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) out.add(line(rs, now));
            }
        }
        return out;
    }

    private String line(ResultSet rs, long now) throws SQLException {
        String phase = rs.getString(3);
        long blocksDone = rs.getLong(4), blocksTotal = rs.getLong(5), tuplesDone = rs.getLong(6), tuplesTotal = rs.getLong(7);
        String what = rs.getString(8) != null ? rs.getString(8) : rs.getString(2);
        boolean analyze = rs.getString(8) == null;
        StringBuilder b = new StringBuilder(analyze ? "ANALYZE " + what : what + " (on " + rs.getString(2) + ")");
        b.append(": ").append(phase);
        // The phase's own measure: table blocks while scanning, tuples while sorting or loading (index builds);
        // sampled blocks, then tables (ANALYZE of a parent). pg_stat_progress_* leaves the unused ones at 0.
        long done;
        long total;
        String unit;
        if (blocksTotal > 0) {
            done = blocksDone;
            total = blocksTotal;
            unit = "blocks";
        } else if (tuplesTotal > 0) {
            done = tuplesDone;
            total = tuplesTotal;
            unit = analyze ? "tables" : "tuples";
        } else {
            done = total = 0;
            unit = null;
        }
        if (unit != null) {
            b.append(String.format(Locale.ROOT, " %d%% (%,d of %,d %s", Math.min(100, done * 100 / total), done, total, unit));
            if (unit.equals("blocks")) b.append(", ").append(Durations.bytes(done * 8192L));
            long[] prev = last.get(rs.getInt(1) + "/" + phase);
            if (prev != null && now > prev[1] && done > prev[0]) {
                double perSecond = (done - prev[0]) * 1000.0 / (now - prev[1]);
                b.append(String.format(Locale.ROOT, ", %,.0f %s/s, phase ETA ~%s", perSecond, unit,
                        Durations.format((long) ((total - done) / perSecond * 1000))));
            }
            b.append(')');
            last.put(rs.getInt(1) + "/" + phase, new long[] {done, now});
        }
        b.append(", ").append(Durations.format(now - startMs)).append(" into the step");
        return b.toString();
    }
}
