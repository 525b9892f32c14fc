package tsmigrate.copy;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import tsmigrate.db.Pg;
import tsmigrate.plan.Chunk;
import tsmigrate.run.MigrationRun;
import tsmigrate.run.StepFailure;
import tsmigrate.run.UserError;
import tsmigrate.run.WorkDir;
import tsmigrate.state.StateStore;

/**
 * The data step. Each worker claims a chunk from the state store, exports it to its file (CSV or binary COPY), loads the file,
 * and marks the chunk loaded in the same target transaction as its rows: a chunk's rows land exactly once,
 * whatever dies when. Rows stream through PgJDBC's CopyManager; the JVM holds a buffer, never a chunk.
 */
public class CopyStep {
    private static final Logger LOG = LoggerFactory.getLogger(CopyStep.class);
    static final int BUFFER = 1 << 20;
    /** --stream's writes to the target: rows arrive one small array each. */
    private static final int STREAM_BATCH = 1 << 16;

    /** Each worker thread keeps one connection per side for the whole step; a failed one is dropped. */
    private final ConcurrentHashMap<Thread, Connection> sourceConns = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Thread, Connection> targetConns = new ConcurrentHashMap<>();
    private volatile Progress progress;
    private volatile ScheduledExecutorService heartbeat;

    public void beginData(MigrationRun run) {
        List<Chunk> todo = run.getChunks().stream().filter(ch -> ch.state.equals("planned") || ch.state.equals("exported")).toList();
        todoAtStart = todo.size();
        progress = Progress.forChunks("data", todo, run);
        try (Connection c = run.state.connect()) {
            requireTargetTables(c, todo);
            run.state.stepRunning(c, "data");
            if (!todo.isEmpty()) Autovacuum.pause(run);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot record the data step: " + e.getMessage(), e);
        }
        // Renew our claims while chunks are in flight, so no other instance takes them over.
        heartbeat = tsmigrate.run.Background.timer("lease-heartbeat");
        long every = Math.max(1, run.cfg.leaseSeconds / 3);
        heartbeat.scheduleWithFixedDelay(() -> renewLeases(run), every, every, TimeUnit.SECONDS);
    }

    /**
     * The tables the chunks go into must be on the target: pre-data makes them. Without, each chunk would fail on its
     * own with the server's words ('schema ... does not exist'), after its export.
     */
    private static void requireTargetTables(Connection target, List<Chunk> todo) throws SQLException {
        List<String> tables = todo.stream().map(ch -> ch.table.qualified()).distinct().toList();
        if (tables.isEmpty()) return;
        List<String> missing = Pg.missing(target, tables);
        if (missing.isEmpty()) return;
        throw new UserError("The target has no table " + UserError.someOf(missing) + (missing.size() > 5 ? ", ..." : "")
                + (missing.size() > 1 ? " (" + missing.size() + " tables)" : "") + " for the rows to go into.",
                "pre-data creates the tables: run without --steps, or with pre-data among them (or create them yourself).");
    }

    /** The chunks left to copy when this run's data step began. */
    private volatile int todoAtStart;

    private volatile Connection heartbeatConn;

    private void renewLeases(MigrationRun run) {
        try {
            if (heartbeatConn == null || heartbeatConn.isClosed()) heartbeatConn = run.state.connect();
            run.state.renew(heartbeatConn, run.cfg.leaseSeconds + " seconds");
        } catch (Exception e) {
            Pg.closeQuietly(heartbeatConn);
            heartbeatConn = null;
            LOG.debug("lease renewal failed: {}", e.getMessage());
        }
    }

    /**
     * The next chunk for this worker, or null when there is nothing left for it to do. While other instances
     * still hold chunks, waits for them: their chunks come back to the pool if they die.
     */
    public Chunk claimNext(MigrationRun run) throws SQLException, InterruptedException {
        int failures = 0; // in a row
        while (!run.stopping) {
            long pauseMs = 1000;
            try {
                Connection c = target(run); // in the try: a reconnect to a restarting server is refused for a while
                // chunks that failed in this run are not claimed again by it (onChunkError: continue)
                StateStore.Claim claim = run.state.claim(c, run.cfg.leaseSeconds + " seconds", run.state.deadInstancesOnThisHost(c),
                        run.failedChunks);
                if (claim != null) {
                    Chunk ch = run.chunk(claim.tableNo(), claim.chunkNo());
                    // A sibling worker may have failed it between our reading the skip list and the claim:
                    // it lists the chunk before releasing it, so the list is complete by now.
                    if (run.failedChunks.contains(ch)) {
                        run.state.release(c, ch);
                        continue;
                    }
                    ch.state = claim.state();
                    ch.bytes = claim.bytes();
                    ch.exportedRows = claim.rows();
                    ch.sourceFingerprint = claim.sourceFingerprint();
                    progress.chunkStarted(ch.table.key());
                    // An export made elsewhere, or whose file is gone, is redone here.
                    if (ch.state.equals("exported") && !(run.state.location.equals(claim.exportLocation())
                            && StateStore.localFileMatches(dataFile(run, ch), ch.bytes))) {
                        ch.state = "planned";
                    }
                    return ch;
                }
                long[] left = run.state.remainingForWorker(c, run.failedChunks);
                // Nothing left, or the rest is in flight in this instance's other workers, which finish it:
                // waiting here would only delay the step's end. Only other instances' chunks are worth waiting for.
                if (left[0] == 0 || left[1] == 0) return null;
                failures = 0;
            } catch (SQLException | Pg.CannotConnect e) {
                dropConnection(targetConns);
                // as export and load: retried with backoff, a bounded number of times (a server gone for good ends the run)
                if (!Faults.isTransient(e) || ++failures > run.cfg.retries) throw e;
                pauseMs = RetryTransient.delayMs(run.cfg, failures);
                run.retries.incrementAndGet();
                LOG.warn("cannot reach the state store on the target ({}); retrying in {} ({} of {})", Faults.firstLine(e),
                        tsmigrate.run.Durations.format(pauseMs), failures, run.cfg.retries);
            }
            Thread.sleep(pauseMs);
        }
        return null;
    }

    public void export(MigrationRun run, Chunk chunk) throws Exception {
        if (run.cfg.stream) return; // streamed by load(), source to target, no file
        if (chunk.state.equals("exported")) return; // this instance's file from an earlier run is complete
        try {
            doExport(run, chunk);
        } catch (StateStore.LostClaim lost) {
            dropLost(run, chunk, lost, "its export here was dropped");
        } catch (Exception e) {
            dropConnection(sourceConns);
            dropConnection(targetConns);
            throw diskError(run, e);
        }
    }

    private void doExport(MigrationRun run, Chunk chunk) throws Exception {
        Connection c = source(run);
        chunk.worker = Thread.currentThread().getName();
        chunk.exportStartMs = System.currentTimeMillis();
        Path file = dataFile(run, chunk); // settles the format before the snapshot transaction begins
        String fmt = format(run, chunk);
        Path tmp = file.resolveSibling(file.getFileName() + ".part");
        WorkDir.createPrivateFile(tmp);
        long rows;
        IOException[] writeFailure = {null};
        try {
            rows = inSourceTransaction(run, c, chunk, () -> {
                try (FileOutputStream fos = new FileOutputStream(tmp.toFile())) {
                    OutputStream out = new BufferedOutputStream(remembering(fos, writeFailure), BUFFER);
                    if (gzip(run)) out = new java.util.zip.GZIPOutputStream(out, BUFFER) { { def.setLevel(1); } }; // speed over ratio
                    long n = copyOut(run, c, chunk, fmt, out);
                    if (out instanceof java.util.zip.GZIPOutputStream g) g.finish(); // the gzip trailer
                    out.flush();
                    fos.getFD().sync(); // durable before it gets its final name
                    return n;
                }
            });
        } catch (Exception e) {
            Files.deleteIfExists(tmp);
            // A write that failed (a full disk) cuts the COPY short, and the driver, cleaning up, may throw an error
            // of its own (even NoSuchElementException) that hides it: the write's error is the one that counts.
            IOException write = writeFailure[0];
            if (write != null && !causedBy(e, write)) {
                write.addSuppressed(e);
                throw write;
            }
            throw e;
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        chunk.exportedRows = rows;
        chunk.bytes = Files.size(file);
        chunk.exportEndMs = System.currentTimeMillis();
        run.state.markExported(target(run), chunk);
        chunk.state = "exported";
        tsmigrate.run.RunMetrics.chunkExported(run);
    }

    /** out, keeping the first IOException a write or flush threw in failure[0]. */
    private static OutputStream remembering(OutputStream out, IOException[] failure) {
        return new java.io.FilterOutputStream(out) {
            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                try {
                    out.write(b, off, len);
                } catch (IOException e) {
                    if (failure[0] == null) failure[0] = e;
                    throw e;
                }
            }

            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void flush() throws IOException {
                try {
                    out.flush();
                } catch (IOException e) {
                    if (failure[0] == null) failure[0] = e;
                    throw e;
                }
            }
        };
    }

    private static boolean causedBy(Throwable e, Throwable cause) {
        for (Throwable t = e; t != null; t = t.getCause()) if (t == cause) return true;
        return false;
    }

    /** Work that reads a chunk on the source and returns the rows it read. */
    @FunctionalInterface
    private interface SourceRead {
        long run() throws Exception;
    }

    /** Runs the read in one repeatable-read transaction on the source, inside the exported snapshot when there is one. */
    private static long inSourceTransaction(MigrationRun run, Connection c, Chunk chunk, SourceRead read) throws Exception {
        c.setAutoCommit(false);
        try {
            Pg.exec(c, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
            if (run.snapshotId != null) run.joinSnapshot(c);
            chunk.sourceFingerprint = null;
            long rows = read.run();
            c.commit();
            c.setAutoCommit(true);
            return rows;
        } catch (Exception e) {
            try {
                c.rollback();
                c.setAutoCommit(true);
            } catch (SQLException | RuntimeException broken) {
                // A COPY cut short (e.g. by a full disk) can leave the driver's protocol state broken, and then even
                // unchecked exceptions come out of it: the connection is not used again, and e is what went wrong.
                Pg.discard(c);
            }
            throw e;
        }
    }

    /**
     * COPY TO into out. With verify on, the chunk's fingerprint is taken from the very bytes exported, in the JVM:
     * no second read of the chunk on the source.
     */
    private static long copyOut(MigrationRun run, Connection c, Chunk chunk, String fmt, OutputStream out) throws SQLException, IOException {
        if (!run.cfg.verify) return copyManager(c).copyOut(chunk.copyOutSql(fmt), out);
        String fpFormat = chunk.table.fingerprintFormat;
        if (!fmt.equals(fpFormat)) {
            // forced binary on columns whose binary bytes are not comparable: hash a CSV read of the same rows
            // (same transaction, same snapshot)
            long n = copyManager(c).copyOut(chunk.copyOutSql(fmt), out);
            chunk.sourceFingerprint = tsmigrate.verify.Fingerprint.copyOut(c, chunk.copyOutSql(fpFormat), fpFormat, null).toString();
            return n;
        }
        tsmigrate.verify.Fingerprint fp = tsmigrate.verify.Fingerprint.copyOut(c, chunk.copyOutSql(fmt), fmt, out);
        chunk.sourceFingerprint = fp.toString();
        return fp.rows();
    }

    public void load(MigrationRun run, Chunk chunk) throws Exception {
        if (chunk.state.equals("lost")) return; // dropped by export(): another instance has it
        Connection c = target(run);
        chunk.worker = Thread.currentThread().getName();
        chunk.loadStartMs = System.currentTimeMillis();
        long rows;
        c.setAutoCommit(false);
        try {
            if (run.cfg.stream) {
                rows = stream(run, chunk, c);
            } else {
                try (InputStream in = open(run, chunk)) {
                    rows = copyManager(c).copyIn(chunk.copyInSql(format(run, chunk)), in, BUFFER);
                }
            }
            if (rows != chunk.exportedRows) {
                throw new IllegalStateException("chunk " + chunk + ": exported " + chunk.exportedRows + " rows but loaded " + rows);
            }
            run.state.markLoaded(c, chunk); // same transaction as the rows
            c.commit();
        } catch (StateStore.LostClaim lost) {
            c.rollback();
            c.setAutoCommit(true);
            dropLost(run, chunk, lost, "its rows here were rolled back and its file dropped");
            return;
        } catch (Exception e) {
            dropConnection(targetConns);
            throw e;
        }
        c.setAutoCommit(true);
        // The rows are on the target and the state says so: the file has no further use (resume, verify).
        if (!run.cfg.stream && !run.cfg.keepFiles) deleteFile(run, chunk);
        chunk.loadedRows = rows;
        chunk.loadEndMs = System.currentTimeMillis();
        chunk.state = "loaded";
        progress.chunkDone(chunk, rows);
        progress.chunkEnded(chunk.table.key(), chunk.bytes, true);
        tsmigrate.run.RunMetrics.chunkLoaded(run, chunk.table.key(), rows, chunk.bytes);
    }

    /**
     * Another instance took the chunk over (this one's lease ran out): this one's work on it is dropped, file
     * included, whatever --keep-files says, since it is of no use to anyone; load() then skips the chunk.
     */
    private void dropLost(MigrationRun run, Chunk chunk, StateStore.LostClaim lost, String what) {
        chunk.state = "lost";
        if (!run.cfg.stream) deleteFile(run, chunk);
        progress.chunkEnded(chunk.table.key(), 0, false);
        LOG.warn("{}; {}", lost.getMessage(), what);
    }

    private static final java.util.regex.Pattern CHUNK_FILE = java.util.regex.Pattern.compile("(\\d{6})\\.(csv|bin)(\\.gz)?(\\.part)?");

    /**
     * Files of chunks that are copied, whatever their format: left by a run killed between its commit and the file's
     * removal, or exported in another format before a resume with another --format. Each chunk's own is removed after
     * its load; these would stay for good, and make the dir look like an unfinished migration's to the next one.
     */
    private static void removeFilesOfCopiedChunks(MigrationRun run, java.util.Set<Long> copied) {
        for (tsmigrate.plan.TableInfo t : run.getTables()) {
            Path dir = run.workDir.root().resolve(t.dirName());
            if (!Files.isDirectory(dir)) continue;
            try (var files = Files.list(dir)) {
                for (Path f : (Iterable<Path>) files::iterator) {
                    java.util.regex.Matcher m = CHUNK_FILE.matcher(f.getFileName().toString());
                    if (m.matches() && copied.contains(((long) t.number << 32) | Integer.parseInt(m.group(1)))) Files.deleteIfExists(f);
                }
            } catch (IOException e) {
                LOG.debug("cannot clear the files of {}: {}", t, e.getMessage());
            }
        }
    }

    private void deleteFile(MigrationRun run, Chunk chunk) {
        try {
            Files.deleteIfExists(dataFile(run, chunk));
        } catch (IOException | SQLException e) {
            LOG.debug("cannot delete the file of {}: {}", chunk, e.getMessage());
        }
    }

    private InputStream open(MigrationRun run, Chunk chunk) throws IOException, SQLException {
        InputStream in = new BufferedInputStream(progress.counting(Files.newInputStream(dataFile(run, chunk))), BUFFER);
        return gzip(run) ? new java.util.zip.GZIPInputStream(in, BUFFER) : in;
    }

    private static boolean gzip(MigrationRun run) {
        return run.cfg.compressFiles.equals("gzip");
    }

    Path dataFile(MigrationRun run, Chunk chunk) throws SQLException {
        return chunk.dataFile(format(run, chunk), run.cfg.compressFiles);
    }

    /** The chunk's table's COPY format, settled once per table (auto asks the source's catalog). */
    private String format(MigrationRun run, Chunk chunk) throws SQLException {
        tsmigrate.plan.TableInfo t = chunk.table;
        String f = t.copyFormat;
        if (f != null) return f;
        synchronized (t) {
            if (t.copyFormat == null) {
                String warning = CopyFormat.resolve(run.cfg.copyFormat, run.sourceMajor, run.targetMajor, source(run), t);
                if (warning != null) run.warn(warning);
                LOG.debug("{}: COPY format {}, fingerprint format {}", t.qualified(), t.copyFormat, t.fingerprintFormat);
            }
            return t.copyFormat;
        }
    }

    /**
     * --stream: COPY TO on the source feeds COPY FROM on the target, in the caller's target transaction, on this
     * worker's thread: rows are gathered into 64 KiB writes to the target as they arrive (no pipe and no second
     * thread: 0.2 CPU-s less per 5M rows, measured). The source side is one repeatable-read transaction (in the
     * snapshot) that also takes the chunk's fingerprint. Returns the rows loaded; exportedRows is what the source sent.
     */
    private long stream(MigrationRun run, Chunk chunk, Connection tgt) throws Exception {
        Connection src = source(run);
        String fmt = format(run, chunk);
        chunk.exportStartMs = System.currentTimeMillis();
        long[] loaded = new long[1];
        long[] streamed = new long[1]; // what a file of the chunk would hold: shown per table, as for files
        try {
            chunk.exportedRows = inSourceTransaction(run, src, chunk, () -> {
                org.postgresql.copy.CopyIn in = copyManager(tgt).copyIn(chunk.copyInSql(fmt));
                try {
                    OutputStream toTarget = new OutputStream() {
                        @Override
                        public void write(byte[] b, int off, int len) throws IOException {
                            try {
                                in.writeToCopy(b, off, len);
                                streamed[0] += len;
                            } catch (SQLException e) {
                                throw new IOException(e.getMessage(), e);
                            }
                        }

                        @Override
                        public void write(int b) throws IOException {
                            write(new byte[] {(byte) b}, 0, 1);
                        }
                    };
                    long sent;
                    try (OutputStream o = new BufferedOutputStream(progress.counting(toTarget), STREAM_BATCH)) {
                        sent = copyOut(run, src, chunk, fmt, o);
                    }
                    loaded[0] = in.endCopy();
                    return sent;
                } finally {
                    if (in.isActive()) {
                        try {
                            in.cancelCopy();
                        } catch (SQLException | RuntimeException ignored) {
                            // the target connection is broken; the caller drops it
                        }
                    }
                }
            });
        } catch (Exception e) {
            dropConnection(sourceConns);
            throw e;
        }
        chunk.exportEndMs = System.currentTimeMillis();
        chunk.bytes = streamed[0];
        return loaded[0];
    }

    /**
     * A chunk failed after its retries: recorded with its error and released; the migration stops unless
     * configured to go on with the other chunks.
     */
    public void chunkFailed(MigrationRun run, Chunk chunk, Exception error) throws Exception {
        // which side said it: a server's message names neither the table nor the server (QA: "invalid byte sequence")
        String where = chunk + ", " + (run.cfg.stream ? "streaming it from the source into the target"
                : chunk.loadStartMs > 0 && chunk.loadStartMs >= chunk.exportStartMs ? "loading it into the target"
                : "exporting it from the source");
        String msg = where + ": " + Faults.firstLine(error);
        tsmigrate.run.RunMetrics.error(run, "data");
        progress.chunkEnded(chunk.table.key(), 0, false);
        boolean goOn = run.cfg.continueOnChunkError && !(error instanceof UserError);
        // listed before its claim is released, or a sibling worker could claim it and fail it again
        if (goOn) run.failedChunks.add(chunk);
        try (Connection c = run.state.connect()) {
            run.state.markFailed(c, chunk, msg);
        } catch (Exception e) {
            LOG.debug("cannot record the failure of {}: {}", chunk, e.getMessage());
        }
        if (!goOn) throw error instanceof SQLException ? new StepFailure(where + ": " + error.getMessage(), error) : error;
        run.warn("chunk failed and was skipped (on-chunk-error=continue): " + msg);
    }

    public void endData(MigrationRun run) throws SQLException {
        Progress p = progress;
        if (p != null) run.counts("data", p.totals());
        close();
        if (run.stopping) throw new tsmigrate.run.Migration.Interrupted();
        if (!run.failedChunks.isEmpty()) {
            throw new StepFailure(run.failedChunks.size() + " chunk(s) failed; run the same command again to retry them:\n  "
                    + String.join("\n  ", run.failedChunks.stream().limit(10).map(Chunk::toString).toList()));
        }
        try (Connection c = run.state.connect()) {
            long left = run.state.remaining(c);
            // Every worker waits for other instances' chunks, so none is left unless something went wrong: say so
            // rather than go on to the indexes and report a migration without those rows.
            if (left > 0) {
                throw new StepFailure(left + " chunk(s) are neither copied nor failed at the end of the data step;"
                        + " run the same command again to copy them");
            }
            if (!run.cfg.keepFiles) removeFilesOfCopiedChunks(run, run.state.copiedChunks(c)); // --stream too: an earlier run's
            // a run with nothing left to copy keeps the counts of the run that copied (status showed '0/0 chunks')
            run.state.stepDone(c, "data", todoAtStart == 0 ? null : run.stepCounts().get("data"));
        }
        if (!run.runs("post-data")) Autovacuum.resume(run); // otherwise post-data resumes it after the index builds
    }

    /** Closes connections, timers and the lease heartbeat; also called by the migration on any failure. */
    public void close() {
        if (progress != null) progress.close();
        if (heartbeat != null) heartbeat.shutdownNow();
        Pg.closeQuietly(heartbeatConn);
        for (Connection c : List.copyOf(sourceConns.values())) Pg.closeQuietly(c);
        for (Connection c : List.copyOf(targetConns.values())) Pg.closeQuietly(c);
        sourceConns.clear();
        targetConns.clear();
    }

    private Connection source(MigrationRun run) {
        return connection(sourceConns, "source", run.cfg.source);
    }

    private Connection target(MigrationRun run) throws SQLException {
        Connection c = targetConns.get(Thread.currentThread());
        Connection t = connection(targetConns, "target", run.cfg.target);
        if (t != c) {
            // A worker goes by what its commits here said: the chunk's claim, its export mark, its rows with the
            // 'loaded' mark. A commit the target acknowledged but lost in a crash (synchronous_commit off) leaves the
            // worker, once the target is back, on a chunk the state no longer gives it (a sibling worker claims it
            // too), or a chunk it believes loaded claimed and unloaded. So commits are flushed at least locally, even
            // where the server's default is off.
            try {
                Pg.exec(t, "SELECT pg_catalog.set_config('synchronous_commit', 'local', false)"
                        + " WHERE pg_catalog.current_setting('synchronous_commit') = 'off'");
            } catch (SQLException e) {
                dropConnection(targetConns);
                throw e;
            }
        }
        return t;
    }

    /** This worker thread's connection to one side, opened on first use or after a failure dropped it. */
    private static Connection connection(ConcurrentHashMap<Thread, Connection> conns, String side, tsmigrate.config.ConnInfo ci) {
        Connection c = conns.get(Thread.currentThread());
        try {
            if (c != null && !c.isClosed()) return c;
        } catch (SQLException e) {
            // treat as closed
        }
        c = Pg.connect(side, ci);
        conns.put(Thread.currentThread(), c);
        return c;
    }

    /** After a failure: the worker's connection is closed for good, not kept for reuse by another worker. */
    private static void dropConnection(ConcurrentHashMap<Thread, Connection> conns) {
        Pg.discard(conns.remove(Thread.currentThread()));
    }

    private static CopyManager copyManager(Connection c) throws SQLException {
        return c.unwrap(PGConnection.class).getCopyAPI();
    }

    /** A full work dir is the user's to fix, not a fault to retry; PgJDBC may wrap the IOException. */
    private static Exception diskError(MigrationRun run, Exception e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof IOException && String.valueOf(t.getMessage()).contains("No space left")) {
                return new UserError("The work dir " + run.workDir.root() + " is full: " + t.getMessage(),
                        "Free space there (or pass --work-dir on a larger disk), then run the same command again: it resumes.", e);
            }
        }
        return e;
    }
}
