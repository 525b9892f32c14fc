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
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import tsmigrate.db.Pg;
import tsmigrate.plan.Chunk;
import tsmigrate.run.MigrationRun;
import tsmigrate.run.UserError;
import tsmigrate.run.WorkDir;

/**
 * The export and load steps. Rows stream between PostgreSQL and a CSV file through PgJDBC's CopyManager;
 * the JVM never holds more than a buffer of a chunk. Each worker thread keeps one connection per side for
 * the whole step, so a chunk costs no new connection.
 */
public class CopyStep {
    private static final Logger LOG = LoggerFactory.getLogger(CopyStep.class);
    static final int BUFFER = 1 << 20;

    private final Connections connections = new Connections();
    private volatile Progress progress;

    /** Connections per worker thread, closed when the step ends. */
    static final class Connections {
        final ConcurrentHashMap<Thread, Connection> byThread = new ConcurrentHashMap<>();
        final ConcurrentLinkedQueue<Connection> all = new ConcurrentLinkedQueue<>();

        void closeAll() {
            Connection c;
            while ((c = all.poll()) != null) Pg.closeQuietly(c);
            byThread.clear();
        }
    }

    // ---- export ----

    public void beginExport(MigrationRun run) {
        long est = run.getTables().stream().mapToLong(t -> t.bytes).sum();
        progress = new Progress("export", run.getChunks().size(), est, false, run.cfg.progressSeconds);
    }

    public void export(MigrationRun run, Chunk chunk) throws SQLException, IOException {
        Connection c = connections.byThread.computeIfAbsent(Thread.currentThread(), th -> openExportConnection(run));
        chunk.worker = Thread.currentThread().getName();
        chunk.exportStartMs = System.currentTimeMillis();
        Path tmp = chunk.file.resolveSibling(chunk.file.getFileName() + ".part");
        WorkDir.createPrivateFile(tmp);
        long rows;
        try (FileOutputStream fos = new FileOutputStream(tmp.toFile());
             OutputStream out = new BufferedOutputStream(progress.counting(fos), BUFFER)) {
            rows = copyManager(c).copyOut(chunk.copyOutSql(), out);
            out.flush();
            fos.getFD().sync(); // the file is durable before it gets its final name
        } catch (IOException e) {
            Files.deleteIfExists(tmp);
            throw diskError(run, e);
        }
        Files.move(tmp, chunk.file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        chunk.exportedRows = rows;
        chunk.bytes = Files.size(chunk.file);
        chunk.exportEndMs = System.currentTimeMillis();
        progress.chunkDone(rows);
        LOG.debug("exported {}: {} rows, {} bytes", chunk, rows, chunk.bytes);
    }

    private Connection openExportConnection(MigrationRun run) {
        Connection c = Pg.connect("source", run.cfg.source);
        connections.all.add(c);
        try {
            if (run.snapshotId != null) {
                // Every worker reads the same exported snapshot: one consistent view of the whole source.
                c.setAutoCommit(false);
                Pg.exec(c, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
                Pg.exec(c, "SET TRANSACTION SNAPSHOT " + Pg.literal(run.snapshotId));
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot join the source snapshot " + run.snapshotId + ": " + e.getMessage(), e);
        }
        return c;
    }

    public void endExport(MigrationRun run) {
        finish(run, "export");
    }

    // ---- load ----

    public void beginLoad(MigrationRun run) {
        long total = run.getChunks().stream().mapToLong(ch -> Math.max(0, ch.bytes)).sum();
        progress = new Progress("load", run.getChunks().size(), total, true, run.cfg.progressSeconds);
    }

    public void load(MigrationRun run, Chunk chunk) throws SQLException, IOException {
        Connection c = connections.byThread.computeIfAbsent(Thread.currentThread(), th -> {
            Connection t = Pg.connect("target", run.cfg.target);
            connections.all.add(t);
            return t;
        });
        chunk.worker = Thread.currentThread().getName();
        chunk.loadStartMs = System.currentTimeMillis();
        long rows;
        try (InputStream in = new BufferedInputStream(progress.counting(Files.newInputStream(chunk.file)), BUFFER)) {
            rows = copyManager(c).copyIn(chunk.copyInSql(), in, BUFFER);
        }
        if (rows != chunk.exportedRows) {
            throw new IllegalStateException("chunk " + chunk + ": exported " + chunk.exportedRows + " rows but loaded " + rows);
        }
        chunk.loadedRows = rows;
        chunk.loadEndMs = System.currentTimeMillis();
        progress.chunkDone(rows);
    }

    public void endLoad(MigrationRun run) {
        finish(run, "load");
    }

    private void finish(MigrationRun run, String step) {
        Progress p = progress;
        if (p != null) {
            run.counts(step, p.totals());
            p.close();
        }
        connections.closeAll();
    }

    /** Closes what a failed step left open; called by the migration on any failure. */
    public void abort() {
        if (progress != null) progress.close();
        connections.closeAll();
    }

    private static CopyManager copyManager(Connection c) throws SQLException {
        return c.unwrap(PGConnection.class).getCopyAPI();
    }

    private static IOException diskError(MigrationRun run, IOException e) {
        String m = String.valueOf(e.getMessage());
        if (m.contains("No space left")) {
            throw new UserError("The work dir " + run.workDir.root() + " is full: " + m,
                    "Free space there, or pass --work-dir on a larger disk, then run again.", e);
        }
        return e;
    }
}
