package tsmigrate.schema;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import tsmigrate.config.ConnInfo;
import tsmigrate.run.UserError;
import tsmigrate.run.WorkDir;

/**
 * pg_dump and pg_restore as child processes. The password travels in a private passfile named by
 * PGPASSFILE, never in argv, where any local user could read it with ps. The passfile is deleted when the tool
 * ends; one a killed JVM left is deleted by the next run ({@link #removeLeftovers}).
 */
public final class PgTool {
    private static final Pattern VERSION = Pattern.compile("\\(PostgreSQL\\) (\\d+)(?:\\.(\\d+))?");

    private final String name;
    private final String path;
    private final int major;

    private PgTool(String name, String path, int major) {
        this.name = name;
        this.path = path;
        this.major = major;
    }

    /** {@link #locate} in the background, for a caller with other work to do meanwhile; {@link #await} gives the result. */
    public static java.util.concurrent.CompletableFuture<PgTool> locateAsync(String name, String configured) {
        return java.util.concurrent.CompletableFuture.supplyAsync(() -> locate(name, configured));
    }

    /** The tool found by {@link #locateAsync}, or the same failure {@link #locate} would have thrown. */
    public static PgTool await(java.util.concurrent.CompletableFuture<PgTool> lookup) {
        return tsmigrate.run.Background.join(lookup);
    }

    /**
     * A run of a tool that connects nowhere (--version, --list): still without PGPASSWORD, which the README promises
     * no child process gets.
     */
    public static ProcessBuilder local(String... cmd) {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().remove("PGPASSWORD");
        return pb;
    }

    /** Finds the tool (a path, or a name looked up on PATH) and reads its major version. */
    public static PgTool locate(String name, String configured) {
        String path = resolve(configured);
        if (path == null) {
            throw new UserError(name + " was not found" + (configured.contains("/") ? " at " + configured : " on PATH") + ".",
                    "Install the PostgreSQL client tools (Debian: apt-get install postgresql-client), or set its path with --"
                            + (name.equals("pg_dump") ? "pg-dump" : "pg-restore") + ".");
        }
        try {
            Process p = local(path, "--version").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(30, TimeUnit.SECONDS);
            Matcher m = VERSION.matcher(out);
            if (!m.find()) throw new IOException("unexpected --version output: " + out.strip());
            return new PgTool(name, path, Integer.parseInt(m.group(1)));
        } catch (IOException e) {
            throw new UserError("Cannot run " + path + ": " + e.getMessage(), "Check that it is a working " + name + ".", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static String resolve(String configured) {
        if (configured.contains("/")) return Files.isExecutable(Path.of(configured)) ? configured : null;
        String pathEnv = System.getenv("PATH");
        if (pathEnv == null) return null;
        for (String dir : pathEnv.split(File.pathSeparator)) {
            Path p = Path.of(dir.isEmpty() ? "." : dir, configured);
            if (Files.isExecutable(p)) return p.toString();
        }
        return null;
    }

    public int major() {
        return major;
    }

    public String path() {
        return path;
    }

    /** The outcome of one run: exit code and everything it wrote to stderr. */
    public record Result(int exitCode, String stderr) {
    }

    /**
     * Runs the tool against one database. {@code args} must not contain connection details: the database
     * goes in --dbname as a URI without password, the password in a passfile.
     */
    public Result run(ConnInfo conn, Path scratchDir, List<String> args) throws IOException, InterruptedException {
        return run(conn, scratchDir, args, null);
    }

    /** @param appName application_name for the tool's sessions (PGAPPNAME), or null. */
    public Result run(ConnInfo conn, Path scratchDir, List<String> args, String appName) throws IOException, InterruptedException {
        return run(conn, scratchDir, args, appName, Map.of());
    }

    /** @param extraEnv more environment for the tool, e.g. PGOPTIONS with session settings */
    public Result run(ConnInfo conn, Path scratchDir, List<String> args, String appName, Map<String, String> extraEnv)
            throws IOException, InterruptedException {
        return run(conn, scratchDir, args, appName, extraEnv, () -> false);
    }

    /**
     * @param stopRequested polled while the tool runs: once true, the tool gets SIGTERM (pg_dump and pg_restore then
     *                      cancel their statements and exit) and this throws {@link tsmigrate.run.Migration.Interrupted}
     */
    public Result run(ConnInfo conn, Path scratchDir, List<String> args, String appName, Map<String, String> extraEnv,
            java.util.function.BooleanSupplier stopRequested) throws IOException, InterruptedException {
        List<String> cmd = command(conn, args);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        Map<String, String> env = pb.environment();
        env.remove("PGPASSWORD");
        if (appName != null) env.put("PGAPPNAME", appName);
        env.putAll(extraEnv);
        List<Path> scratch = new ArrayList<>(); // deleted when the tool ends, or by the next run if the JVM is killed
        try {
            if (conn.hasPassword()) {
                Path passfile = scratchFile(scratchDir, "pgpass", "", scratch);
                Files.writeString(passfile, "*:*:*:*:" + escapePassfile(conn.password()) + "\n");
                env.put("PGPASSFILE", passfile.toString());
            }
            if (conn.sslPassword() != null) {
                // libpq has no environment variable for it: a private service file holds it (see command())
                Path serviceFile = scratchFile(scratchDir, "pgservice", "", scratch);
                Files.writeString(serviceFile, "[" + SERVICE + "]\nsslpassword=" + conn.sslPassword().replace("\n", "") + "\n");
                env.put("PGSERVICEFILE", serviceFile.toString());
            }
            Path errFile = scratchFile(scratchDir, name, ".stderr", scratch);
            pb.redirectErrorStream(false).redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(errFile.toFile());
            Process p = pb.start();
            while (!p.waitFor(200, TimeUnit.MILLISECONDS)) {
                if (stopRequested.getAsBoolean()) {
                    p.destroy();
                    if (!p.waitFor(10, TimeUnit.SECONDS)) p.destroyForcibly().waitFor();
                    throw new tsmigrate.run.Migration.Interrupted();
                }
            }
            // Ctrl-C at a terminal reaches the tool as well as the JVM, and the tool may exit before the JVM has
            // marked the stop: a failure is a failure only if no stop request follows it within a moment.
            for (int i = 0; p.exitValue() != 0 && i < 20; i++) {
                if (stopRequested.getAsBoolean()) throw new tsmigrate.run.Migration.Interrupted();
                Thread.sleep(50);
            }
            return new Result(p.exitValue(), Files.readString(errFile, StandardCharsets.UTF_8));
        } finally {
            for (Path f : scratch) Files.deleteIfExists(f);
        }
    }

    /** A new private (0600) file in dir named for this JVM (see {@link #removeLeftovers}), added to made. */
    private static Path scratchFile(Path dir, String what, String suffix, List<Path> made) throws IOException {
        Path f = Files.createTempFile(dir, scratchPrefix(what), suffix, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(WorkDir.FILE));
        made.add(f);
        return f;
    }

    /** The argv: tool, the caller's arguments, --dbname URI without password. Visible to tests. */
    public List<String> command(ConnInfo conn, List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(path);
        cmd.addAll(args);
        String uri = conn.uriWithoutPassword();
        if (conn.sslPassword() != null) uri += (uri.contains("?") ? "&" : "?") + "service=" + SERVICE;
        cmd.add("--dbname=" + uri);
        return cmd;
    }

    /** The section of the private service file that carries the sslpassword. */
    private static final String SERVICE = "tsmigrate";

    /** ".<what>-<pid>-": scratch files name the JVM that made them, for {@link #removeLeftovers}. */
    static String scratchPrefix(String what) {
        return "." + what + "-" + ProcessHandle.current().pid() + "-";
    }

    /** Passfiles, stderr files and schema dumps in the work dir, by the pid of the JVM that made them. */
    private static final Pattern LEFTOVER = Pattern.compile("\\.(?:pgpass|pgservice|pg_dump|pg_restore)-(\\d+)-.*|(?:pre|post)-data-(\\d+)\\.dump");

    /**
     * Removes what a killed JVM left in the work dir while pg_dump or pg_restore ran: above all the passfile, the
     * password in clear (0600, but not to be kept). Only files of processes that are gone: several instances of a
     * migration may share the dir.
     */
    public static void removeLeftovers(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return;
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                java.util.regex.Matcher m = LEFTOVER.matcher(f.getFileName().toString());
                if (!m.matches()) continue;
                long pid = Long.parseLong(m.group(1) != null ? m.group(1) : m.group(2));
                if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) continue;
                Files.deleteIfExists(f);
            }
        }
    }

    /** .pgpass fields escape ':' and '\' with a backslash. */
    static String escapePassfile(String s) {
        return s.replace("\\", "\\\\").replace(":", "\\:");
    }
}
