package tsmigrate.run;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import tsmigrate.config.JobConfig;
import tsmigrate.plan.Chunk;
import tsmigrate.plan.TableInfo;

/**
 * The state of one migration while it runs: travels through the routes as the exchange property "run".
 */
public final class MigrationRun {
    private static final Logger LOG = LoggerFactory.getLogger("tsmigrate");

    public final JobConfig cfg;
    public final WorkDir workDir;
    /** Where chunk and step state lives (schema tsmigrate on the target), shared with other instances. */
    public final tsmigrate.state.StateStore state;
    /** This run continues a migration found in the state store. */
    public volatile boolean resumed;
    /** Set on SIGTERM (see requestStop): workers take no new chunk, finish the ones in flight, and the run ends resumable. */
    public volatile boolean stopping;
    /**
     * Connections whose running statement a stop cancels (see cancelOnStop), with how many registrations each has open:
     * they nest, and an inner one's end keeps the outer.
     */
    private final java.util.concurrent.ConcurrentHashMap<Connection, Integer> cancelledOnStop = new java.util.concurrent.ConcurrentHashMap<>();
    /** Source connection holding the exported snapshot open for the whole copy; null when snapshots are off. */
    public Connection snapshotHolder;
    public String snapshotId;
    /**
     * The dump of both schema sections that this process's pre-data step made (null when it did not run here):
     * post-data restores from it instead of running pg_dump again. Only ever this process's own, never a file
     * found in the work dir, which could be from an earlier migration between the same databases.
     */
    public java.nio.file.Path schemaDump;
    /** This run's hold on the work dir (taken by preflight): no other migration writes there meanwhile. */
    public WorkDirLease workDirLease;
    /** pg_dump and pg_restore being found while Camel starts; preflight takes the results (null: it looks itself). */
    public java.util.concurrent.CompletableFuture<tsmigrate.schema.PgTool> pgDumpLookup, pgRestoreLookup;
    /** pg_dump and pg_restore as preflight found and checked them (set when a schema step will run). */
    public tsmigrate.schema.PgTool pgDump;
    public tsmigrate.schema.PgTool pgRestore;
    public int sourceMajor;
    public int targetMajor;

    /** Retries after a lost connection or a restarting server: each is logged, and the run's report counts them. */
    public final java.util.concurrent.atomic.AtomicInteger retries = new java.util.concurrent.atomic.AtomicInteger();

    /** Chunks that failed after their retries, with on-chunk-error=continue. */
    public final List<Chunk> failedChunks = Collections.synchronizedList(new ArrayList<>());
    private final List<TableInfo> tables = new ArrayList<>();
    private final List<Chunk> chunks = new ArrayList<>();
    private final List<String> warnings = Collections.synchronizedList(new ArrayList<>());
    /** step -> [start ms, end ms]; insertion order is run order. */
    private final Map<String, long[]> stepTimes = Collections.synchronizedMap(new LinkedHashMap<>());
    private final Map<String, String> stepCounts = Collections.synchronizedMap(new LinkedHashMap<>());
    private volatile String currentStep;

    public MigrationRun(JobConfig cfg) {
        this.cfg = cfg;
        this.workDir = new WorkDir(cfg.workDir);
        this.state = new tsmigrate.state.StateStore(cfg.target, tsmigrate.state.StateStore.migrationId(cfg.source, cfg.target),
                workDir.root());
        this.state.stopRequested = () -> stopping;
    }

    /** Whether the step is among those asked for (--steps); all are by default. */
    public boolean runs(String step) {
        return cfg.runs(step);
    }

    /** One token per worker: the data step's splitter starts a worker loop for each. */
    public List<Integer> getWorkerSlots() {
        List<Integer> slots = new ArrayList<>();
        for (int i = 1; i <= cfg.workers; i++) slots.add(i);
        return slots;
    }

    private final Map<Long, Chunk> chunkIndex = new java.util.HashMap<>();

    public synchronized Chunk chunk(int tableNo, int chunkNo) {
        if (chunkIndex.size() != chunks.size()) {
            chunkIndex.clear();
            for (Chunk ch : chunks) chunkIndex.put(((long) ch.table.number << 32) | ch.number, ch);
        }
        Chunk ch = chunkIndex.get(((long) tableNo << 32) | chunkNo);
        if (ch == null) throw new IllegalStateException("no chunk " + tableNo + "/" + chunkNo + " in the plan");
        return ch;
    }

    /**
     * SIGTERM: workers take no new chunk, and the reads of preflight and the plan that are running are cancelled (on a
     * big table, or behind a lock, they could keep the stop waiting for minutes; their step is redone on resume).
     */
    public void requestStop() {
        stopping = true;
        for (Connection c : cancelledOnStop.keySet()) tsmigrate.db.Pg.cancelQuietly(c);
    }

    /** A connection's registration for cancelling on stop; closing it ends that. */
    public interface OnStop extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Until closed, a stop cancels the statement c is running, so only for reads whose step can simply be redone.
     * Throws Interrupted when the stop came first.
     */
    public OnStop cancelOnStop(Connection c) {
        cancelledOnStop.merge(c, 1, Integer::sum);
        OnStop registration = () -> cancelledOnStop.computeIfPresent(c, (k, n) -> n == 1 ? null : n - 1);
        // stopping is set before requestStop looks at the set: either it sees c, or this sees stopping
        if (stopping) {
            registration.close();
            throw new Migration.Interrupted();
        }
        return registration;
    }

    /** Ends the source transaction that holds the exported snapshot; its readers are done with it. */
    public synchronized void releaseSnapshot() {
        if (snapshotHolder != null) {
            tsmigrate.db.Pg.closeQuietly(snapshotHolder);
            snapshotHolder = null;
        }
    }

    /**
     * Makes c's transaction (repeatable read, not yet used) see the exported snapshot. When the snapshot died with
     * its holder (e.g. the source restarted), forgets it and throws a transient error: a retry reads without it.
     */
    public void joinSnapshot(Connection c) throws java.sql.SQLException {
        try {
            tsmigrate.db.Pg.exec(c, "SET TRANSACTION SNAPSHOT " + tsmigrate.db.Pg.literal(snapshotId));
        } catch (java.sql.SQLException e) {
            if (!"22023".equals(e.getSQLState())) throw e;
            warn("the source snapshot " + snapshotId + " is gone; later reads are made without it");
            snapshotId = null;
            releaseSnapshot(); // its holder died with it: whoever reads the source next opens a connection of its own
            throw new java.sql.SQLTransientException("snapshot lost, retry without it", "08000", e);
        }
    }

    public List<TableInfo> getTables() {
        return tables;
    }

    public List<Chunk> getChunks() {
        return chunks;
    }

    public Path path(String name) {
        return workDir.root().resolve(name);
    }

    public void warn(String text) {
        String message = tsmigrate.plan.TableInfo.printable(text);
        warnings.add(message);
        LOG.warn(message);
    }

    public List<String> warnings() {
        return List.copyOf(warnings);
    }

    public void stepStarted(String step) {
        currentStep = step;
        stepTimes.put(step, new long[] {System.currentTimeMillis(), 0});
        LOG.info("step {}: started", step);
    }

    /** Counts are what the step reports at its end, e.g. "12 tables, 40 chunks". */
    public void counts(String step, String counts) {
        stepCounts.put(step, counts);
    }

    public void stepEnded(String step) {
        long[] t = stepTimes.get(step);
        t[1] = System.currentTimeMillis();
        String counts = stepCounts.getOrDefault(step, "");
        LOG.info("step {}: done in {}{}", step, Durations.format(t[1] - t[0]), counts.isEmpty() ? "" : " (" + counts + ")");
        currentStep = null;
    }

    /** The step that was running when the migration failed, or null. */
    public String currentStep() {
        return currentStep;
    }

    public Map<String, long[]> stepTimes() {
        return stepTimes;
    }

    public Map<String, String> stepCounts() {
        return stepCounts;
    }
}
