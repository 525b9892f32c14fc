package tsmigrate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The packaged jar, run as users run it: java -jar target/tsmigrate.jar ... */
class CliJarIT {
    @TempDir
    Path work;

    record Run(int exit, String out) {
    }

    static Run jar(Map<String, String> env, String... args) throws IOException, InterruptedException {
        String jar = System.getProperty("tsmigrate.jar", "target/tsmigrate.jar");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", jar));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().putAll(env);
        return run(pb, 10);
    }

    /** Runs the process to its end (stderr merged into stdout), within the given minutes. */
    static Run run(ProcessBuilder pb, int minutes) throws IOException, InterruptedException {
        Process p = pb.redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(minutes, TimeUnit.MINUTES));
        System.out.println(out);
        return new Run(p.exitValue(), out);
    }

    @Test
    void helpListsTheVerbs() throws Exception {
        Run r = jar(Map.of(), "--help");
        assertEquals(0, r.exit());
        assertTrue(r.out().contains("migrate") && r.out().contains("demo"), r.out());
    }

    /** bin/tsmigrate --version with -Xshare:on added: the JVM refuses to start when it is told to use an archive it cannot. */
    private static Run launcher(Path jar) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("bin/tsmigrate", "--version");
        pb.environment().put("TSMIGRATE_JAR", jar.toString());
        pb.environment().put("TSMIGRATE_JAVA_OPTS", "-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:on");
        return run(pb, 2);
    }

    /** The build's class-data-sharing archive fits the jar and the launcher's JVM options, and the launcher uses it. */
    @Test
    void theLauncherStartsFromTheBuildsClassArchive() throws Exception {
        Path jar = Path.of(System.getProperty("tsmigrate.jar", "target/tsmigrate.jar")).toAbsolutePath();
        Path archive = jar.resolveSibling("tsmigrate.jsa");
        assertTrue(Files.isRegularFile(archive), "the build makes " + archive);
        // The build trains with Maven's JVM, the launcher runs the java on PATH: the archive fits only when they are one.
        Process which = new ProcessBuilder("sh", "-c", "command -v java").start();
        String onPath = new String(which.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        org.junit.jupiter.api.Assumptions.assumeTrue(which.waitFor() == 0 && !onPath.isEmpty()
                && Path.of(onPath).toRealPath().equals(Path.of(System.getProperty("java.home"), "bin", "java").toRealPath()),
                "the java on PATH (" + onPath + ") is not the build's; the launcher ignores the archive there");
        assertTrue(Files.getLastModifiedTime(archive).compareTo(Files.getLastModifiedTime(jar)) > 0, "made after the jar");
        Run r = launcher(jar);
        assertEquals(0, r.exit(), "-Xshare:on with the archive: " + r.out());
        assertTrue(r.out().startsWith("tsmigrate "), r.out());

        // A jar newer than its archive (rebuilt without one): the archive no longer fits and is not passed.
        Path copy = work.resolve("tsmigrate.jar");
        Files.copy(archive, work.resolve("tsmigrate.jsa"));
        Files.copy(jar, copy);
        Files.setLastModifiedTime(copy, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 60_000));
        Run stale = launcher(copy);
        assertEquals(0, stale.exit(), "the stale archive was passed to the JVM: " + stale.out());
        // ... while passing it would have failed: the test can tell the two apart.
        Files.setLastModifiedTime(work.resolve("tsmigrate.jsa"), java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 120_000));
        assertEquals(1, launcher(copy).exit(), "an archive made for another jar file, forced on with -Xshare:on");
    }

    @Test
    void noArgumentsIsUsageError() throws Exception {
        assertEquals(2, jar(Map.of()).exit());
    }

    /**
     * A job file whose passwords come from the environment; pg_dump and pg_restore are wrapped by a script
     * that records their argv and environment, to show the passwords never reach argv.
     */
    /**
     * bin/tsmigrate from a folder without routes/: the launcher's JVM settings apply (a heap of at most 256 MiB)
     * and the routes come from inside the jar, named one by one.
     */
    @Test
    void launcherRunsTheJarWithItsSettingsFromAnyFolder() throws Exception {
        String[] dbs = Clusters.newPair("launch");
        Clusters.runSql(Clusters.source(), dbs[0], """
                CREATE TABLE m (time timestamptz NOT NULL, v int, j jsonb);
                INSERT INTO m SELECT timestamptz '2025-01-01' + i * interval '10 minutes', i, jsonb_build_object('i', i)
                FROM generate_series(1, 5000) i;
                CREATE INDEX ON m (time);
                """);
        Path launcher = Path.of("bin", "tsmigrate").toAbsolutePath();
        Path jar = Path.of(System.getProperty("tsmigrate.jar", "target/tsmigrate.jar")).toAbsolutePath();
        Path elsewhere = Files.createDirectories(work.resolve("elsewhere"));
        ProcessBuilder pb = new ProcessBuilder(launcher.toString(), "migrate", "--source", Clusters.source().uri(dbs[0]),
                "--target", Clusters.target().uri(dbs[1]), "--work-dir", "wd", "--chunk-interval", "6 hours", "--keep-files")
                .directory(elsewhere.toFile());
        pb.environment().put("TSMIGRATE_JAR", jar.toString());
        pb.environment().remove("TSMIGRATE_JAVA_OPTS");
        Run r = run(pb, 10);
        String out = r.out();
        assertEquals(0, r.exit(), out);
        java.util.regex.Matcher heap = java.util.regex.Pattern.compile("JVM peak heap: \\d+ MiB \\(max (\\d+) MiB\\); live after full GC, peak: \\d+ MiB")
                .matcher(out);
        assertTrue(heap.find(), out);
        assertTrue(Integer.parseInt(heap.group(1)) <= 256, "-Xmx256m applies: " + heap.group());
        assertTrue(Files.exists(elsewhere.resolve("wd").resolve("public.m").resolve("000001.bin")), "binary chunk files: " + out);
        try (Connection s = Clusters.source().connect(dbs[0]); Connection t = Clusters.target().connect(dbs[1])) {
            assertEquals(DbCompare.allRows(s), DbCompare.allRows(t));
        }

        ProcessBuilder missing = new ProcessBuilder(launcher.toString(), "--version");
        missing.environment().put("TSMIGRATE_JAR", work.resolve("no-such.jar").toString());
        Run m = run(missing, 1);
        assertEquals(2, m.exit(), m.out());
        assertTrue(m.out().contains("not found") && m.out().contains("mvn -B -DskipTests package"), m.out());
    }

    @Test
    void jobFileMigrationKeepsPasswordsOutOfArgv() throws Exception {
        String[] dbs = Clusters.newPair("jar");
        Clusters.runSql(Clusters.source(), dbs[0], """
                CREATE TABLE m (time timestamptz NOT NULL, v int);
                INSERT INTO m SELECT timestamptz '2025-01-01' + i * interval '10 minutes', i FROM generate_series(1, 5000) i;
                CREATE INDEX ON m (time);
                """);
        Path log = work.resolve("argv.log");
        Path wrapper = work.resolve("wrap.sh");
        Files.writeString(wrapper, "#!/bin/sh\n"
                + "tool=$(basename \"$0\" | sed 's/^wrap-//')\n"
                + "printf '%s\\n' \"ARGV: $*\" \"PGPASSWORD=${PGPASSWORD:-unset}\" \"PGPASSFILE=${PGPASSFILE:+set}\" >> " + log + "\n"
                + "exec /usr/bin/env \"$tool\" \"$@\"\n");
        for (String tool : List.of("pg_dump", "pg_restore")) {
            Path w = work.resolve("wrap-" + tool);
            Files.copy(wrapper, w);
            Files.setPosixFilePermissions(w, PosixFilePermissions.fromString("rwx------"));
        }
        String src = Clusters.source().uri(dbs[0]).replace(":" + Clusters.source().password() + "@", "@");
        String tgt = Clusters.target().uri(dbs[1]).replace(":" + Clusters.target().password() + "@", "@");
        Path job = work.resolve("job.yaml");
        Files.writeString(job, "name: jar-test\n"
                + "source:\n  uri: " + src + "\n  password: ${env:TSM_SRC_PW}\n"
                + "target:\n  uri: " + tgt + "\n  password: ${env:TSM_TGT_PW}\n"
                + "workDir: wd\nworkers: 2\nchunkInterval: 6 hours\n"
                + "pgDump: " + work.resolve("wrap-pg_dump") + "\npgRestore: " + work.resolve("wrap-pg_restore") + "\n");
        // PGPASSWORD in tsmigrate's environment reaches no child, not even pg_dump --version or pg_restore --list (QA)
        Run r = jar(Map.of("TSM_SRC_PW", Clusters.source().password(), "TSM_TGT_PW", Clusters.target().password(),
                "PGPASSWORD", "pw-in-the-environment"), "migrate", "--job", job.toString());
        assertEquals(0, r.exit(), r.out());
        String argv = Files.readString(log);
        assertTrue(argv.contains("--section=pre-data") && argv.contains("--section=post-data"), argv);
        assertFalse(argv.contains(Clusters.source().password()), argv);
        assertFalse(argv.contains(Clusters.target().password()), argv);
        assertTrue(argv.contains("PGPASSFILE=set") && !argv.contains("PGPASSWORD=" + Clusters.source().password()), argv);
        assertTrue(argv.contains("ARGV: --version") && argv.contains("--list"), argv);
        assertFalse(argv.contains("pw-in-the-environment"), argv);
        assertFalse(r.out().contains(Clusters.source().password()));
        assertTrue(Files.exists(work.resolve("wd").resolve("plan.yaml")), "workDir is relative to the job file");
        try (Connection s = Clusters.source().connect(dbs[0]); Connection t = Clusters.target().connect(dbs[1])) {
            assertEquals(DbCompare.allRows(s), DbCompare.allRows(t));
        }
    }

    @Test
    void demoRunsFromTheJar() throws Exception {
        Run r = jar(Map.of(), "demo", "--rows", "20000", "--work-dir", work.resolve("demo").toString());
        assertEquals(0, r.exit(), r.out());
        assertTrue(r.out().contains("All tables are equal, row for row."), r.out());
        assertTrue(r.out().contains("public.daily_device_stats"), r.out());
    }
}
