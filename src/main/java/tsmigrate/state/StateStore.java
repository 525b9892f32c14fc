package tsmigrate.state;

import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import tsmigrate.config.ConnInfo;
import tsmigrate.db.Pg;
import tsmigrate.plan.Chunk;
import tsmigrate.plan.TableInfo;

/**
 * The migration's state, kept in the schema {@code tsmigrate} on the target so that it survives the process
 * and is shared by every instance working on the same migration. A chunk moves
 * planned -> exported -> loaded -> verified (or failed / mismatch); a worker owns a chunk while its claim
 * (claimed_by, claimed_until) is live. All statements are short; none holds a lock across a chunk's copy.
 */
public final class StateStore implements AutoCloseable {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger("tsmigrate");
    public static final String SCHEMA = "tsmigrate";
    /** host:pid:JVM start: this process, as the other processes of this host can check it is still alive. */
    private static final String PROCESS = hostName() + ":" + ProcessHandle.current().pid() + ":"
            + Long.toString(ManagementFactory.getRuntimeMXBean().getStartTime(), 36);
    private static final java.util.concurrent.atomic.AtomicInteger RUNS = new java.util.concurrent.atomic.AtomicInteger();
    /** The instance ids of this process's runs that have not ended: their claims are live. */
    private static final java.util.Set<String> LIVE = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private static final String DDL = """
            CREATE SCHEMA IF NOT EXISTS tsmigrate;
            COMMENT ON SCHEMA tsmigrate IS 'tsmigrate bookkeeping: drop it once the migration is over';
            CREATE TABLE IF NOT EXISTS tsmigrate.migration (
                id text PRIMARY KEY,
                source text NOT NULL,
                target text NOT NULL,
                chunk_interval text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE TABLE IF NOT EXISTS tsmigrate.step (
                migration text NOT NULL REFERENCES tsmigrate.migration ON DELETE CASCADE,
                step text NOT NULL,
                status text NOT NULL,
                instance text,
                started_at timestamptz,
                ended_at timestamptz,
                counts text,
                error text,
                PRIMARY KEY (migration, step)
            );
            CREATE TABLE IF NOT EXISTS tsmigrate.source_table (
                migration text NOT NULL REFERENCES tsmigrate.migration ON DELETE CASCADE,
                table_no int NOT NULL,
                schema_name text NOT NULL,
                table_name text NOT NULL,
                columns text[] NOT NULL,
                estimated_rows bigint NOT NULL,
                bytes bigint NOT NULL,
                split text NOT NULL,
                time_column text,
                time_type text,
                high_water text,
                PRIMARY KEY (migration, table_no)
            );
            ALTER TABLE tsmigrate.source_table ADD COLUMN IF NOT EXISTS autovacuum_paused boolean NOT NULL DEFAULT false;
            ALTER TABLE tsmigrate.migration ADD COLUMN IF NOT EXISTS caught_up boolean NOT NULL DEFAULT false;
            CREATE TABLE IF NOT EXISTS tsmigrate.chunk (
                migration text NOT NULL,
                table_no int NOT NULL,
                chunk_no int NOT NULL,
                predicate text,
                range text NOT NULL,
                state text NOT NULL DEFAULT 'planned',
                rows bigint,
                bytes bigint,
                source_fingerprint text,
                target_fingerprint text,
                claimed_by text,
                claimed_until timestamptz,
                exported_by text,
                export_location text,
                loaded_by text,
                attempts int NOT NULL DEFAULT 0,
                last_error text,
                export_ms bigint,
                load_ms bigint,
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (migration, table_no, chunk_no),
                FOREIGN KEY (migration, table_no) REFERENCES tsmigrate.source_table ON DELETE CASCADE
            );
            -- a claim reads the chunks left to copy and those claimed, not the whole plan (it did: n^2 reads for n chunks)
            CREATE INDEX IF NOT EXISTS chunk_to_copy ON tsmigrate.chunk (migration, chunk_no, table_no) WHERE state IN ('planned', 'exported');
            CREATE INDEX IF NOT EXISTS chunk_claimed ON tsmigrate.chunk (migration, claimed_by) WHERE claimed_by IS NOT NULL;
            CREATE TABLE IF NOT EXISTS tsmigrate.large_object (
                migration text NOT NULL REFERENCES tsmigrate.migration ON DELETE CASCADE,
                lo_oid oid NOT NULL,
                bytes bigint NOT NULL,
                state text NOT NULL DEFAULT 'loaded',
                source_fingerprint text NOT NULL,
                target_fingerprint text,
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (migration, lo_oid)
            );
            """;

    private final ConnInfo target;
    public final String migrationId;
    /**
     * host:pid:start:run, unique per run: a chunk's claim and its history name it. Runs in one process (serve, the
     * tests) are instances of their own, so one never takes another's live claims for its own.
     */
    public final String instance;
    /** host:workdir, where this instance's chunk files are. */
    public final String location;

    public StateStore(ConnInfo target, String migrationId, Path workDir) {
        this.target = target;
        this.migrationId = migrationId;
        this.instance = PROCESS + ":" + RUNS.incrementAndGet();
        this.location = hostName() + ":" + workDir.toAbsolutePath().normalize();
        LIVE.add(instance);
    }

    /** The run has ended: the claims it still holds are a dead instance's, which this process's other runs take back. */
    @Override
    public void close() {
        LIVE.remove(instance);
    }

    public static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            return "localhost";
        }
    }

    /** The same source and target databases make the same migration, whatever the credentials. */
    public static String migrationId(ConnInfo source, ConnInfo target) {
        String key = source.host() + ":" + source.port() + "/" + source.database() + " -> " + target.host() + ":" + target.port() + "/"
                + target.database();
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(h, 0, 8);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public Connection connect() {
        return Pg.connect("target", target);
    }

    // ---- setup ----

    /** True when the target already holds state for this migration: a resume. Never writes. */
    public boolean exists(Connection c) throws SQLException {
        if (Pg.queryString(c, "SELECT to_regclass('tsmigrate.migration')") == null) return false;
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM tsmigrate.migration WHERE id = ?")) {
            ps.setString(1, migrationId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    public void create(Connection c, ConnInfo source, String chunkInterval) throws SQLException {
        // Two instances starting together must not both run the DDL.
        Pg.exec(c, "SELECT pg_advisory_lock(hashtext('tsmigrate-ddl'))");
        try {
            try {
                Pg.exec(c, DDL);
            } catch (SQLException e) {
                if (!"42501".equals(e.getSQLState())) throw e; // insufficient_privilege
                String db = Pg.ident(Pg.queryString(c, "SELECT current_database()"));
                String role = Pg.ident(Pg.queryString(c, "SELECT current_user"));
                throw new tsmigrate.run.UserError("The target role " + role + " cannot create the schema " + SCHEMA + " in the database "
                        + db + ", where the migration keeps its state (" + e.getMessage().lines().findFirst().orElse("") + ").",
                        "Run GRANT CREATE ON DATABASE " + db + " TO " + role + " on the target (pre-data needs it too, for the source's"
                                + " schemas), or migrate as the database's owner.", e);
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO tsmigrate.migration (id, source, target, chunk_interval)"
                    + " VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING")) {
                ps.setString(1, migrationId);
                ps.setString(2, source.masked());
                ps.setString(3, target.masked());
                ps.setString(4, chunkInterval);
                ps.executeUpdate();
            }
        } finally {
            Pg.exec(c, "SELECT pg_advisory_unlock(hashtext('tsmigrate-ddl'))");
        }
    }

    /** One table of the plan and how far its chunks got (copied: loaded or verified). */
    public record TableProgress(String table, String split, long done, long chunks, long rows, long bytes, long instances, long mismatch,
            String lastError, long gone) {
    }

    /** Each planned table's progress, in plan order: for status, and for the plan verb on a migration it would resume. */
    public List<TableProgress> tableProgress(Connection c) throws SQLException {
        List<TableProgress> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT t.schema_name, t.table_name, t.split,"
                + " count(*) FILTER (WHERE ch.state IN ('loaded', 'verified')), count(*),"
                + " coalesce(sum(ch.rows) FILTER (WHERE ch.state IN ('loaded', 'verified')), 0),"
                + " coalesce(sum(ch.bytes) FILTER (WHERE ch.state IN ('loaded', 'verified')), 0),"
                + " count(DISTINCT ch.loaded_by), count(*) FILTER (WHERE ch.state = 'mismatch'),"
                + " (array_agg(ch.last_error ORDER BY ch.updated_at DESC) FILTER (WHERE ch.last_error IS NOT NULL))[1],"
                + " count(*) FILTER (WHERE ch.state = 'gone')"
                + " FROM tsmigrate.source_table t JOIN tsmigrate.chunk ch USING (migration, table_no)"
                + " WHERE t.migration = ? GROUP BY t.table_no, 1, 2, 3 ORDER BY t.table_no")) {
            ps.setString(1, migrationId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new TableProgress(tsmigrate.plan.TableInfo.shown(Pg.qualified(rs.getString(1), rs.getString(2))), rs.getString(3), rs.getLong(4), rs.getLong(5),
                            rs.getLong(6), rs.getLong(7), rs.getLong(8), rs.getLong(9), rs.getString(10), rs.getLong(11)));
                }
            }
        }
        return out;
    }

    /** The chunk interval this migration's plan was made with. */
    public String chunkInterval(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT chunk_interval FROM tsmigrate.migration WHERE id = ?")) {
            ps.setString(1, migrationId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    public void setChunkInterval(Connection c, String chunkInterval) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE tsmigrate.migration SET chunk_interval = ? WHERE id = ?")) {
            ps.setString(1, chunkInterval);
            ps.setString(2, migrationId);
            ps.executeUpdate();
        }
    }

    /** Forgets this migration's progress (--restart). */
    public void forget(Connection c) throws SQLException {
        if (Pg.queryString(c, "SELECT to_regclass('tsmigrate.migration')") == null) return;
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM tsmigrate.migration WHERE id = ?")) {
            ps.setString(1, migrationId);
            ps.executeUpdate();
        }
    }

    // ---- steps ----

    /**
     * Whether the data step finished once: it is 'done', or a catch-up, which forgets it while its new chunks are
     * copied, has begun (another catch-up may be running, or one was cut short). Read before the DDL has run on a
     * state made by an older version: to_jsonb leaves out a column it lacks.
     */
    public boolean dataFinishedOnce(Connection c) throws SQLException {
        if ("done".equals(stepStatus(c, "data"))) return true;
        try (PreparedStatement ps = c.prepareStatement("SELECT coalesce((pg_catalog.to_jsonb(m) ->> 'caught_up')::boolean, false)"
                + " FROM tsmigrate.migration m WHERE id = ?")) {
            ps.setString(1, migrationId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }

    public String stepStatus(Connection c, String step) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT status FROM tsmigrate.step WHERE migration = ? AND step = ?")) {
            ps.setString(1, migrationId);
            ps.setString(2, step);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    public void stepRunning(Connection c, String step) throws SQLException {
        upsertStep(c, step, "running", null, null);
    }

    public void stepDone(Connection c, String step, String counts) throws SQLException {
        upsertStep(c, step, "done", counts, null);
    }

    public void stepFailed(Connection c, String step, String error) throws SQLException {
        upsertStep(c, step, "failed", null, error);
    }

    private void upsertStep(Connection c, String step, String status, String counts, String error) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO tsmigrate.step (migration, step, status, instance, started_at, ended_at, counts, error)"
                + " VALUES (?, ?, ?, ?, now(), CASE WHEN ? <> 'running' THEN now() END, ?, ?)"
                + " ON CONFLICT (migration, step) DO UPDATE SET status = EXCLUDED.status, instance = EXCLUDED.instance,"
                + " started_at = CASE WHEN EXCLUDED.status = 'running' THEN now() ELSE tsmigrate.step.started_at END,"
                + " ended_at = EXCLUDED.ended_at, counts = coalesce(EXCLUDED.counts, tsmigrate.step.counts), error = EXCLUDED.error")) {
            ps.setString(1, migrationId);
            ps.setString(2, step);
            ps.setString(3, status);
            ps.setString(4, instance);
            ps.setString(5, status);
            ps.setString(6, counts);
            ps.setString(7, error);
            ps.executeUpdate();
        }
    }

    /** Whether this run was asked to stop: set by the run, polled while waiting for another instance's step. */
    public volatile java.util.function.BooleanSupplier stopRequested = () -> false;

    /**
     * Runs body once across all instances: under an advisory lock per step, and only if the step is not done.
     * Returns false when the step was already done (by this run earlier, or by another instance).
     */
    public boolean once(String step, StepBody body) throws Exception {
        return locked(step, true, body);
    }

    /**
     * Runs body under the step's advisory lock (one instance at a time) even when the step is done already: for
     * steps that keep finer state of their own and skip what they did before (large objects).
     */
    public void exclusive(String step, StepBody body) throws Exception {
        locked(step, false, body);
    }

    /** Takes this migration's advisory lock of that name on c, waiting while another instance holds it, but not past a stop. */
    private void lock(Connection c, String name, String waiting) throws SQLException, InterruptedException {
        String lock = "SELECT pg_try_advisory_lock(hashtext(" + Pg.literal(migrationId + "/" + name) + "))";
        if ("t".equals(Pg.queryString(c, lock))) return;
        LOG.info(waiting);
        do {
            if (stopRequested.getAsBoolean()) throw new tsmigrate.run.Migration.Interrupted();
            Thread.sleep(200);
        } while (!"t".equals(Pg.queryString(c, lock)));
    }

    private void unlock(Connection c, String name) throws SQLException {
        Pg.exec(c, "SELECT pg_advisory_unlock(hashtext(" + Pg.literal(migrationId + "/" + name) + "))");
    }

    /** Runs body under this migration's advisory lock of that name (one instance at a time); no step is recorded. */
    public <T> T withLock(String name, java.util.concurrent.Callable<T> body) throws Exception {
        try (Connection c = connect()) {
            lock(c, name, name + ": another instance holds it; waiting");
            try {
                return body.call();
            } finally {
                unlock(c, name);
            }
        }
    }

    private boolean locked(String step, boolean skipWhenDone, StepBody body) throws Exception {
        try (Connection c = connect()) {
            // Another instance runs the step (a restore, say, for many minutes): wait for it, but not past a stop.
            lock(c, step, "step " + step + ": another instance is running it; waiting for it to end");
            try {
                String status = stepStatus(c, step);
                if (skipWhenDone && "done".equals(status)) return false;
                stepRunning(c, step);
                try {
                    String counts = body.run("running".equals(status) || "failed".equals(status));
                    stepDone(c, step, counts);
                    return true;
                } catch (Exception e) {
                    try {
                        stepFailed(c, step, String.valueOf(e.getMessage()));
                    } catch (SQLException ignored) {
                        // the target may be what failed; the step stays 'running' and is redone next time
                    }
                    throw e;
                }
            } finally {
                unlock(c, step);
            }
        }
    }

    /** A step's work; {@code redo} tells it an earlier attempt may have been partly applied. Returns its counts. */
    @FunctionalInterface
    public interface StepBody {
        String run(boolean redo) throws Exception;
    }

    // ---- large objects ----

    /** Of oids, those whose contents an earlier run already copied. */
    public java.util.Set<Long> largeObjectsCopied(Connection c, List<Long> oids) throws SQLException {
        java.util.Set<Long> done = new java.util.HashSet<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT lo_oid::bigint FROM tsmigrate.large_object"
                + " WHERE migration = ? AND lo_oid = ANY (CAST(? AS bigint[])::oid[])")) {
            ps.setString(1, migrationId);
            ps.setArray(2, c.createArrayOf("bigint", oids.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) done.add(rs.getLong(1));
            }
        }
        return done;
    }

    /** In the transaction that wrote the contents: they are there, with the source's fingerprint. */
    public void largeObjectCopied(Connection tx, long oid, long bytes, String sourceFingerprint) throws SQLException {
        try (PreparedStatement ps = tx.prepareStatement("INSERT INTO tsmigrate.large_object (migration, lo_oid, bytes, source_fingerprint)"
                + " VALUES (?, CAST(? AS bigint)::oid, ?, ?) ON CONFLICT (migration, lo_oid) DO UPDATE SET bytes = EXCLUDED.bytes,"
                + " state = 'loaded', source_fingerprint = EXCLUDED.source_fingerprint, target_fingerprint = NULL, updated_at = now()")) {
            ps.setString(1, migrationId);
            ps.setLong(2, oid);
            ps.setLong(3, bytes);
            ps.setString(4, sourceFingerprint);
            ps.executeUpdate();
        }
    }

    /** A copied large object: its oid, state and source fingerprint. */
    public record LargeObjectRow(long oid, String state, String sourceFingerprint) {
    }

    /** Up to limit copied large objects after oid {@code after}, in oid order; unless {@code all}, only those not verified. */
    public List<LargeObjectRow> largeObjects(Connection c, long after, int limit, boolean all) throws SQLException {
        List<LargeObjectRow> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT lo_oid::bigint, state, source_fingerprint FROM tsmigrate.large_object"
                + " WHERE migration = ? AND lo_oid::bigint > ?" + (all ? "" : " AND state <> 'verified'") + " ORDER BY lo_oid LIMIT ?")) {
            ps.setString(1, migrationId);
            ps.setLong(2, after);
            ps.setInt(3, limit);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) out.add(new LargeObjectRow(rs.getLong(1), rs.getString(2), rs.getString(3)));
            }
        }
        return out;
    }

    /** The source fingerprint stays the one the copy took: a verify against the source as it is now must not replace it. */
    public void largeObjectVerified(Connection c, long oid, String targetFingerprint, boolean ok) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE tsmigrate.large_object SET state = ?,"
                + " target_fingerprint = ?, updated_at = now() WHERE migration = ? AND lo_oid = CAST(? AS bigint)::oid")) {
            ps.setString(1, ok ? "verified" : "mismatch");
            ps.setString(2, targetFingerprint);
            ps.setString(3, migrationId);
            ps.setLong(4, oid);
            ps.executeUpdate();
        }
    }

    // ---- plan ----

    public void savePlan(Connection c, List<TableInfo> tables, List<Chunk> chunks) throws SQLException {
        inTransaction(c, () -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO tsmigrate.source_table (migration, table_no, schema_name, table_name,"
                    + " columns, estimated_rows, bytes, split, time_column, time_type, high_water) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                for (TableInfo t : tables) {
                    ps.setString(1, migrationId);
                    ps.setInt(2, t.number);
                    ps.setString(3, t.schema);
                    ps.setString(4, t.name);
                    ps.setArray(5, c.createArrayOf("text", t.columns.toArray()));
                    ps.setLong(6, t.estimatedRows);
                    ps.setLong(7, t.bytes);
                    ps.setString(8, t.split);
                    ps.setString(9, t.timeColumn);
                    ps.setString(10, t.timeType);
                    ps.setString(11, t.highWater);
                    ps.addBatch();
                }
                ps.executeBatch();
            }
            insertChunks(c, chunks);
        });
    }

    @FunctionalInterface
    private interface SqlWork {
        void run() throws SQLException;
    }

    /** body in one transaction on c, whatever c's autocommit was (and is again after). */
    private static void inTransaction(Connection c, SqlWork body) throws SQLException {
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(false);
        try {
            body.run();
            c.commit();
        } catch (SQLException e) {
            c.rollback();
            throw e;
        } finally {
            c.setAutoCommit(auto);
        }
    }

    /** The plan's tables as {schema, table}, in plan order. */
    public List<String[]> plannedTables(Connection c) throws SQLException {
        List<String[]> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT schema_name, table_name FROM tsmigrate.source_table WHERE migration = ?"
                + " ORDER BY table_no")) {
            ps.setString(1, migrationId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) out.add(new String[] {rs.getString(1), rs.getString(2)});
            }
        }
        return out;
    }

    /** The chunks that are copied (loaded or verified), or never will be (gone), as table_no << 32 | chunk_no: their files are of no use. */
    public java.util.Set<Long> copiedChunks(Connection c) throws SQLException {
        java.util.Set<Long> out = new java.util.HashSet<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT table_no, chunk_no FROM tsmigrate.chunk WHERE migration = ?"
                + " AND state IN ('loaded', 'verified', 'mismatch', 'gone')")) {
            ps.setString(1, migrationId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) out.add(((long) rs.getInt(1) << 32) | rs.getInt(2));
            }
        }
        return out;
    }

    /** Forgets that a step ran, so that it runs again (analyze, once tables were added to the plan). */
    public void forgetStep(Connection c, String step) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM tsmigrate.step WHERE migration = ? AND step = ?")) {
            ps.setString(1, migrationId);
            ps.setString(2, step);
            ps.executeUpdate();
        }
    }

    /**
     * The chunks of a table dropped on the source not copied yet: state 'gone', which no worker claims and verify
     * skips. Returns how many. Exported ones too: their load needs the source's column types (the format).
     */
    public int markGone(Connection c, int tableNo) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE tsmigrate.chunk SET state = 'gone', claimed_by = NULL, updated_at = now()"
                + " WHERE migration = ? AND table_no = ? AND state IN ('planned', 'exported')")) {
            ps.setString(1, migrationId);
            ps.setInt(2, tableNo);
            return ps.executeUpdate();
        }
    }

    /** Drops a half-saved plan before planning again. */
    public void forgetPlan(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM tsmigrate.source_table WHERE migration = ?")) {
            ps.setString(1, migrationId);
            ps.executeUpdate();
        }
    }

    public void insertChunks(Connection c, List<Chunk> chunks) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO tsmigrate.chunk (migration, table_no, chunk_no, predicate, range)"
                + " VALUES (?, ?, ?, ?, ?)")) {
            for (Chunk ch : chunks) {
                ps.setString(1, migrationId);
                ps.setInt(2, ch.table.number);
                ps.setInt(3, ch.number);
                ps.setString(4, ch.predicate);
                ps.setString(5, ch.range);
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    public void setHighWater(Connection c, TableInfo t) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE tsmigrate.source_table SET high_water = ? WHERE migration = ? AND table_no = ?")) {
            ps.setString(1, t.highWater);
            ps.setString(2, migrationId);
            ps.setInt(3, t.number);
            ps.executeUpdate();
        }
    }

    /**
     * The columns a table of the plan is copied with, from now on: its chunks exported with the old ones (files no
     * worker holds) are exported again, and those loaded are verified on both sides anew. One transaction.
     */
    public void setColumns(Connection c, TableInfo t, List<String> columns) throws SQLException {
        inTransaction(c, () -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE tsmigrate.source_table SET columns = ? WHERE migration = ? AND table_no = ?")) {
                ps.setArray(1, c.createArrayOf("text", columns.toArray()));
                ps.setString(2, migrationId);
                ps.setInt(3, t.number);
                ps.executeUpdate();
            }
            try (PreparedStatement ps = c.prepareStatement("UPDATE tsmigrate.chunk SET state = 'planned', rows = NULL, bytes = NULL,"
                    + " source_fingerprint = NULL, exported_by = NULL, export_location = NULL, export_ms = NULL, updated_at = now()"
                    + " WHERE migration = ? AND table_no = ? AND state = 'exported' AND (claimed_by IS NULL OR claimed_until < now())")) {
                ps.setString(1, migrationId);
                ps.setInt(2, t.number);
                ps.executeUpdate();
            }
            // loaded ones not verified yet: their source hash is of the old columns, so verify reads both sides again
            try (PreparedStatement ps = c.prepareStatement("UPDATE tsmigrate.chunk SET source_fingerprint = NULL, updated_at = now()"
                    + " WHERE migration = ? AND table_no = ? AND state = 'loaded'")) {
                ps.setString(1, migrationId);
                ps.setInt(2, t.number);
                ps.executeUpdate();
            }
        });
    }

    /** Tables and chunks as planned (and progressed) so far, for a resumed run. */
    public void loadPlan(Connection c, Path workDir, List<TableInfo> tables, List<Chunk> chunks) throws SQLException {
        Map<Integer, TableInfo> byNo = new LinkedHashMap<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT table_no, schema_name, table_name, columns, estimated_rows, bytes, split,"
                + " time_column, time_type, high_water FROM tsmigrate.source_table WHERE migration = ? ORDER BY table_no")) {
            ps.setString(1, migrationId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Array a = rs.getArray(4);
                    List<String> cols = List.of((String[]) a.getArray());
                    TableInfo t = new TableInfo(rs.getString(2), rs.getString(3), 0, cols, rs.getLong(5), rs.getLong(6));
                    t.number = rs.getInt(1);
                    t.split = rs.getString(7);
                    t.timeColumn = rs.getString(8);
                    t.timeType = rs.getString(9);
                    t.highWater = rs.getString(10);
                    byNo.put(t.number, t);
                }
            }
        }
        tables.addAll(byNo.values());
        try (PreparedStatement ps = c.prepareStatement("SELECT table_no, chunk_no, predicate, range, state, rows, bytes, source_fingerprint"
                + " FROM tsmigrate.chunk WHERE migration = ? ORDER BY table_no, chunk_no")) {
            ps.setString(1, migrationId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    TableInfo t = byNo.get(rs.getInt(1));
                    Chunk ch = new Chunk(t, rs.getInt(2), rs.getString(3), rs.getString(4),
                            workDir.resolve(t.dirName()).resolve(String.format("%06d.csv", rs.getInt(2))));
                    readProgress(ch, rs, 5);
                    chunks.add(ch);
                }
            }
        }
    }

    /**
     * Brings the chunks' states (and what the load recorded with them) up to date from the store: other instances
     * of the same migration have loaded chunks this one still knows as planned or claimed.
     */
    public void refreshChunks(Connection c, List<Chunk> chunks) throws SQLException {
        Map<String, Chunk> byKey = new java.util.HashMap<>();
        for (Chunk ch : chunks) byKey.put(ch.table.number + "/" + ch.number, ch);
        try (PreparedStatement ps = c.prepareStatement("SELECT table_no, chunk_no, state, rows, bytes, source_fingerprint"
                + " FROM tsmigrate.chunk WHERE migration = ?")) {
            ps.setString(1, migrationId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Chunk ch = byKey.get(rs.getInt(1) + "/" + rs.getInt(2));
                    if (ch != null && !ch.state.equals(rs.getString(3))) readProgress(ch, rs, 3);
                }
            }
        }
    }

    /** A chunk's state and what its export and load recorded: columns state, rows, bytes, source_fingerprint from col on. */
    private static void readProgress(Chunk ch, ResultSet rs, int col) throws SQLException {
        ch.state = rs.getString(col);
        ch.exportedRows = rs.getObject(col + 1) == null ? -1 : rs.getLong(col + 1);
        ch.loadedRows = ch.state.equals("loaded") || ch.state.equals("verified") ? ch.exportedRows : -1;
        ch.bytes = rs.getObject(col + 2) == null ? -1 : rs.getLong(col + 2);
        ch.sourceFingerprint = rs.getString(col + 3);
    }

    // ---- chunks ----

    /**
     * Claims the next chunk that needs export or load. Claims of instances whose lease ran out are taken over,
     * and so are those of dead processes on this host (they cannot renew). {@code skip}: the chunks that already
     * failed in this run, which it does not take again.
     */
    public Claim claim(Connection c, String leaseInterval, List<String> deadInstances, Collection<Chunk> skip) throws SQLException {
        // MATERIALIZED: the locking subquery runs once. As a plain subquery in UPDATE ... FROM, a nested loop may
        // rescan it, and SKIP LOCKED then hands out a different row each time: one claim would take many chunks.
        String sql = "WITH next AS MATERIALIZED (SELECT table_no, chunk_no FROM tsmigrate.chunk WHERE migration = ?"
                + " AND state IN ('planned', 'exported') AND (claimed_by IS NULL OR claimed_until < now() OR claimed_by = ANY (?))"
                + SKIP
                + " ORDER BY chunk_no, table_no LIMIT 1 FOR UPDATE SKIP LOCKED)"
                + " UPDATE tsmigrate.chunk c SET claimed_by = ?, claimed_until = now() + CAST(? AS interval), attempts = c.attempts + 1,"
                + " updated_at = now() FROM next WHERE c.migration = ? AND c.table_no = next.table_no AND c.chunk_no = next.chunk_no"
                + " RETURNING c.table_no, c.chunk_no, c.state, c.export_location, c.rows, c.bytes, c.source_fingerprint";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, migrationId);
            ps.setArray(2, c.createArrayOf("text", deadInstances.toArray()));
            setSkip(c, ps, 3, skip);
            ps.setString(5, instance);
            ps.setString(6, leaseInterval);
            ps.setString(7, migrationId);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) return null;
                return new Claim(rs.getInt(1), rs.getInt(2), rs.getString(3), rs.getString(4),
                        rs.getObject(5) == null ? -1 : rs.getLong(5), rs.getObject(6) == null ? -1 : rs.getLong(6), rs.getString(7));
            }
        }
    }

    public record Claim(int tableNo, int chunkNo, String state, String exportLocation, long rows, long bytes, String sourceFingerprint) {
    }

    /** Instances that claim chunks from this host but whose process is gone, or which are runs of this process that ended. */
    public List<String> deadInstancesOnThisHost(Connection c) throws SQLException {
        List<String> dead = new ArrayList<>();
        String prefix = hostName() + ":";
        try (PreparedStatement ps = c.prepareStatement("SELECT DISTINCT claimed_by FROM tsmigrate.chunk WHERE migration = ?"
                + " AND claimed_by IS NOT NULL AND claimed_until >= now()")) {
            ps.setString(1, migrationId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String who = rs.getString(1);
                    if (!who.startsWith(prefix) || who.equals(instance)) continue;
                    if (who.equals(PROCESS) || who.startsWith(PROCESS + ":")) {
                        if (!LIVE.contains(who)) dead.add(who); // an earlier run of this process (ids without a run: older builds)
                        continue;
                    }
                    if (processGone(who)) dead.add(who);
                }
            }
        }
        return dead;
    }

    /**
     * Whether the instance id names a process of this host that is gone (killed, or ended without recording its end):
     * false for other hosts, and for ids that are not ours.
     */
    public static boolean processGone(String who) {
        String prefix = hostName() + ":";
        if (who == null || !who.startsWith(prefix)) return false;
        String[] parts = who.substring(prefix.length()).split(":");
        try {
            long pid = Long.parseLong(parts[0]);
            if (pid == ProcessHandle.current().pid()) return false;
            boolean alive = ProcessHandle.of(pid).map(ph -> ph.isAlive()
                    && ph.info().startInstant().map(i -> parts.length < 2
                            || Long.toString(i.toEpochMilli(), 36).equals(parts[1])
                            || Math.abs(i.toEpochMilli() - Long.parseLong(parts[1], 36)) < 2000).orElse(true))
                    .orElse(false);
            return !alive;
        } catch (NumberFormatException e) {
            return false; // not one of ours
        }
    }

    /** Extends the lease of the chunks this instance holds. */
    public void renew(Connection c, String leaseInterval) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE tsmigrate.chunk SET claimed_until = now() + CAST(? AS interval)"
                + " WHERE migration = ? AND claimed_by = ?")) {
            ps.setString(1, leaseInterval);
            ps.setString(2, migrationId);
            ps.setString(3, instance);
            ps.executeUpdate();
        }
    }

    public void markExported(Connection c, Chunk ch) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE tsmigrate.chunk SET state = 'exported', rows = ?, bytes = ?,"
                + " source_fingerprint = ?, exported_by = ?, export_location = ?, export_ms = ?, updated_at = now()"
                + " WHERE migration = ? AND table_no = ? AND chunk_no = ? AND claimed_by = ?")) {
            ps.setLong(1, ch.exportedRows);
            ps.setLong(2, ch.bytes);
            ps.setString(3, ch.sourceFingerprint);
            ps.setString(4, instance);
            ps.setString(5, location);
            ps.setLong(6, ch.exportEndMs - ch.exportStartMs);
            ps.setString(7, migrationId);
            ps.setInt(8, ch.table.number);
            ps.setInt(9, ch.number);
            ps.setString(10, instance);
            if (ps.executeUpdate() != 1) throw new LostClaim(ch);
        }
    }

    /**
     * Marks the chunk loaded inside the caller's load transaction, only while this instance still holds the
     * claim; otherwise throws, and the caller rolls the rows back: another instance owns the chunk now.
     */
    public void markLoaded(Connection loadTx, Chunk ch) throws SQLException {
        try (PreparedStatement ps = loadTx.prepareStatement("UPDATE tsmigrate.chunk SET state = 'loaded', loaded_by = ?, claimed_by = NULL,"
                + " claimed_until = NULL, last_error = NULL, load_ms = ?, rows = ?, source_fingerprint = coalesce(?, source_fingerprint),"
                // a streamed chunk's bytes (a file's were recorded by its export)
                + " bytes = coalesce(bytes, ?),"
                + " updated_at = now() WHERE migration = ? AND table_no = ? AND chunk_no = ? AND claimed_by = ? AND state IN ('planned', 'exported')")) {
            ps.setString(1, instance);
            ps.setLong(2, System.currentTimeMillis() - ch.loadStartMs);
            ps.setLong(3, ch.exportedRows);
            ps.setString(4, ch.sourceFingerprint);
            if (ch.bytes >= 0) ps.setLong(5, ch.bytes);
            else ps.setNull(5, java.sql.Types.BIGINT);
            ps.setString(6, migrationId);
            ps.setInt(7, ch.table.number);
            ps.setInt(8, ch.number);
            ps.setString(9, instance);
            if (ps.executeUpdate() != 1) throw new LostClaim(ch);
        }
    }

    public void markFailed(Connection c, Chunk ch, String error) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE tsmigrate.chunk SET last_error = ?, claimed_by = NULL, claimed_until = NULL,"
                + " updated_at = now() WHERE migration = ? AND table_no = ? AND chunk_no = ? AND claimed_by = ?")) {
            ps.setString(1, error);
            ps.setString(2, migrationId);
            ps.setInt(3, ch.table.number);
            ps.setInt(4, ch.number);
            ps.setString(5, instance);
            ps.executeUpdate();
        }
    }

    /** Gives back a claim taken by mistake (a chunk this run already gave up on), as if never made. */
    public void release(Connection c, Chunk ch) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE tsmigrate.chunk SET claimed_by = NULL, claimed_until = NULL,"
                + " attempts = attempts - 1 WHERE migration = ? AND table_no = ? AND chunk_no = ? AND claimed_by = ?")) {
            ps.setString(1, migrationId);
            ps.setInt(2, ch.table.number);
            ps.setInt(3, ch.number);
            ps.setString(4, instance);
            ps.executeUpdate();
        }
    }

    public void markVerified(Connection c, Chunk ch, String targetFingerprint, boolean ok) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE tsmigrate.chunk SET state = ?, target_fingerprint = ?, updated_at = now()"
                + " WHERE migration = ? AND table_no = ? AND chunk_no = ?")) {
            ps.setString(1, ok ? "verified" : "mismatch");
            ps.setString(2, targetFingerprint);
            ps.setString(3, migrationId);
            ps.setInt(4, ch.table.number);
            ps.setInt(5, ch.number);
            ps.executeUpdate();
        }
    }

    /** How many chunks are not loaded yet (planned, exported, or claimed). */
    public long remaining(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM tsmigrate.chunk WHERE migration = ? AND state IN ('planned', 'exported')")) {
            ps.setString(1, migrationId);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    /** Leaves out the chunks given as two parallel arrays (table numbers, chunk numbers). */
    private static final String SKIP = " AND (table_no, chunk_no) NOT IN (SELECT * FROM unnest(CAST(? AS int[]), CAST(? AS int[])))";

    private static void setSkip(Connection c, PreparedStatement ps, int first, Collection<Chunk> skip) throws SQLException {
        List<Chunk> chunks;
        synchronized (skip) {
            chunks = List.copyOf(skip);
        }
        ps.setArray(first, c.createArrayOf("int4", chunks.stream().map(ch -> ch.table.number).toArray()));
        ps.setArray(first + 1, c.createArrayOf("int4", chunks.stream().map(ch -> ch.number).toArray()));
    }

    /**
     * For an idle worker: {still to copy, of which not claimed by this instance}, leaving out {@code skip} (this
     * run's failed chunks). Nothing left means done; nothing left that is not ours means the rest is in flight in
     * this instance's other workers, so there is nothing to wait for either.
     */
    public long[] remainingForWorker(Connection c, Collection<Chunk> skip) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT count(*), count(*) FILTER (WHERE claimed_by IS DISTINCT FROM ?)"
                + " FROM tsmigrate.chunk WHERE migration = ? AND state IN ('planned', 'exported')" + SKIP)) {
            ps.setString(1, instance);
            ps.setString(2, migrationId);
            setSkip(c, ps, 3, skip);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return new long[] {rs.getLong(1), rs.getLong(2)};
            }
        }
    }

    /** The chunk's claim went to another instance (our lease ran out): its work here must be dropped. */
    public static final class LostClaim extends SQLException {
        public LostClaim(Chunk ch) {
            super("lost the claim on " + ch + " to another instance");
        }
    }

    public static boolean localFileMatches(Path file, long bytes) {
        try {
            return bytes >= 0 && Files.isRegularFile(file) && Files.size(file) == bytes;
        } catch (Exception e) {
            return false;
        }
    }
}
