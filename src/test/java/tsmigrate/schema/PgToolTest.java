package tsmigrate.schema;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import tsmigrate.config.ConnInfo;
import tsmigrate.run.UserError;

class PgToolTest {
    private static final String SECRET = "p@ss:w\\rd%'\"$ x";

    @TempDir
    Path dir;

    private static ConnInfo conn(String password) {
        String enc = URLEncoder.encode(password, StandardCharsets.UTF_8).replace("+", "%20");
        return ConnInfo.parse("source", "postgresql://alice:" + enc + "@db.example.com:5433/shop?sslmode=require");
    }

    /** A shell script that answers --version with the given line and otherwise runs body. */
    private Path fakeTool(String versionLine, String body) throws IOException {
        Path script = dir.resolve("bin").resolve("pg_dump");
        Files.createDirectories(script.getParent());
        Files.writeString(script, "#!/bin/sh\n"
                + "if [ \"$1\" = --version ]; then echo '" + versionLine + "'; exit 0; fi\n"
                + body + "\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
        return script;
    }

    private PgTool pgDump15() throws IOException {
        return PgTool.locate("pg_dump", fakeTool("pg_dump (PostgreSQL) 15.19", "exit 0").toString());
    }

    @Test
    void commandNeverContainsThePassword() throws IOException {
        List<String> cmd = pgDump15().command(conn(SECRET), List.of("--schema-only", "--format=custom"));
        String enc = URLEncoder.encode(SECRET, StandardCharsets.UTF_8);
        for (String arg : cmd) {
            assertFalse(arg.contains(SECRET), arg);
            assertFalse(arg.contains(enc), arg);
            assertFalse(arg.contains("p@ss"), arg);
            assertFalse(arg.contains("password"), arg);
        }
    }

    @Test
    void commandIsToolThenArgsThenDbname() throws IOException {
        PgTool tool = pgDump15();
        List<String> cmd = tool.command(conn(SECRET), List.of("--schema-only"));
        assertEquals(3, cmd.size(), cmd::toString);
        assertEquals(tool.path(), cmd.get(0));
        assertEquals("--schema-only", cmd.get(1));
        assertEquals("--dbname=postgresql://alice@db.example.com:5433/shop?sslmode=require", cmd.get(2));
    }

    @Test
    void escapePassfileEscapesColonAndBackslash() {
        assertEquals("a\\:b\\\\c", PgTool.escapePassfile("a:b\\c"));
        assertEquals("\\\\\\:", PgTool.escapePassfile("\\:"));
        assertEquals("p@ss%word", PgTool.escapePassfile("p@ss%word"));
    }

    @Test
    void locateRefusesAMissingPath() {
        UserError e = assertThrows(UserError.class, () -> PgTool.locate("pg_dump", "/nonexistent/pg_dump"));
        assertTrue(e.getMessage().contains("/nonexistent/pg_dump"), e.getMessage());
    }

    @Test
    void locateRefusesANameNotOnPath() {
        assertThrows(UserError.class, () -> PgTool.locate("pg_dump", "pg_dump_tsmigrate_test_no_such_tool"));
    }

    @Test
    void locateRefusesAToolWithUnexpectedVersionOutput() throws IOException {
        Path script = fakeTool("mysqldump  Ver 8.0.36", "exit 0");
        UserError e = assertThrows(UserError.class, () -> PgTool.locate("pg_dump", script.toString()));
        assertTrue(e.getMessage().contains("mysqldump"), e.getMessage());
    }

    @Test
    void locateReadsMajorOfAModernVersion() throws IOException {
        Path script = fakeTool("pg_dump (PostgreSQL) 16.2 (Ubuntu 16.2-1.pgdg22.04+1)", "exit 0");
        PgTool tool = PgTool.locate("pg_dump", script.toString());
        assertEquals(16, tool.major());
        assertEquals(script.toString(), tool.path());
    }

    /** Before PostgreSQL 10 the major version was two numbers (9.6); PgTool keeps only the first. */
    @Test
    void locateReadsMajorOfA9xVersionAsItsFirstNumber() throws IOException {
        Path script = fakeTool("pg_dump (PostgreSQL) 9.6.24", "exit 0");
        assertEquals(9, PgTool.locate("pg_dump", script.toString()).major());
    }

    @Test
    void locateReadsMajorOfABetaVersion() throws IOException {
        Path script = fakeTool("pg_dump (PostgreSQL) 17beta1", "exit 0");
        assertEquals(17, PgTool.locate("pg_dump", script.toString()).major());
    }

    @Test
    void runPassesThePasswordOnlyInAPrivatePassfile() throws Exception {
        Path report = dir.resolve("report.txt");
        Path scratch = Files.createDirectories(dir.resolve("scratch"));
        String body = "out='" + report + "'\n"
                + "for a in \"$@\"; do printf 'ARG %s\\n' \"$a\"; done > \"$out\"\n"
                + "printf 'PGPASSWORD %s\\n' \"${PGPASSWORD-<unset>}\" >> \"$out\"\n"
                + "printf 'PGPASSFILE %s\\n' \"$PGPASSFILE\" >> \"$out\"\n"
                + "printf 'MODE %s\\n' \"$(stat -c %A \"$PGPASSFILE\")\" >> \"$out\"\n"
                + "printf 'CONTENT %s\\n' \"$(cat \"$PGPASSFILE\")\" >> \"$out\"\n"
                + "exit 0";
        PgTool tool = PgTool.locate("pg_dump", fakeTool("pg_dump (PostgreSQL) 15.19", body).toString());

        PgTool.Result r = tool.run(conn(SECRET), scratch, List.of("--schema-only"));

        assertEquals(0, r.exitCode(), r.stderr());
        List<String> lines = Files.readAllLines(report);
        String passfile = value(lines, "PGPASSFILE ");
        assertEquals(List.of("--schema-only", "--dbname=postgresql://alice@db.example.com:5433/shop?sslmode=require"),
                lines.stream().filter(l -> l.startsWith("ARG ")).map(l -> l.substring(4)).toList());
        assertTrue(lines.stream().filter(l -> l.startsWith("ARG ")).noneMatch(l -> l.contains("p@ss")), lines::toString);
        assertEquals("<unset>", value(lines, "PGPASSWORD "));
        assertEquals("*:*:*:*:p@ss\\:w\\\\rd%'\"$ x", value(lines, "CONTENT "));
        assertEquals("-rw-------", value(lines, "MODE "));
        assertTrue(Path.of(passfile).startsWith(scratch), passfile);
        assertFalse(Files.exists(Path.of(passfile)), "passfile still there after run()");
    }

    /** The client key's sslpassword is a secret too: in a private service file (PGSERVICEFILE), never in argv. */
    @Test
    void runPassesTheSslPasswordOnlyInAPrivateServiceFile() throws Exception {
        Path report = dir.resolve("report-ssl.txt");
        Path scratch = Files.createDirectories(dir.resolve("scratch-ssl"));
        String body = "out='" + report + "'\n"
                + "for a in \"$@\"; do printf 'ARG %s\\n' \"$a\"; done > \"$out\"\n"
                + "printf 'SERVICEFILE %s\\n' \"$PGSERVICEFILE\" >> \"$out\"\n"
                + "printf 'MODE %s\\n' \"$(stat -c %A \"$PGSERVICEFILE\")\" >> \"$out\"\n"
                + "printf 'CONTENT %s\\n' \"$(tr '\\n' '|' < \"$PGSERVICEFILE\")\" >> \"$out\"\n"
                + "exit 0";
        PgTool tool = PgTool.locate("pg_dump", fakeTool("pg_dump (PostgreSQL) 15.19", body).toString());
        ConnInfo c = ConnInfo.parse("source", "postgresql://alice@db.example.com:5433/shop?sslmode=verify-full&sslkey=%2Fk.pem&sslpassword=k3y%20S3cret");

        PgTool.Result r = tool.run(c, scratch, List.of("--schema-only"));

        assertEquals(0, r.exitCode(), r.stderr());
        List<String> lines = Files.readAllLines(report);
        assertEquals(List.of("--schema-only", "--dbname=postgresql://alice@db.example.com:5433/shop?sslmode=verify-full&sslkey=%2Fk.pem&service=tsmigrate"),
                lines.stream().filter(l -> l.startsWith("ARG ")).map(l -> l.substring(4)).toList());
        assertEquals("[tsmigrate]|sslpassword=k3y S3cret|", value(lines, "CONTENT "));
        assertEquals("-rw-------", value(lines, "MODE "));
        assertFalse(Files.exists(Path.of(value(lines, "SERVICEFILE "))), "service file still there after run()");
    }

    /** PGPASSWORD reaches the tools as any other password: in the passfile, never in argv or their environment. */
    @Test
    void runPassesAPgPasswordInThePassfile() throws Exception {
        Path report = dir.resolve("report.txt");
        Path scratch = Files.createDirectories(dir.resolve("scratch"));
        String body = "for a in \"$@\"; do printf 'ARG %s\\n' \"$a\"; done > '" + report + "'\n"
                + "printf 'PGPASSWORD %s\\n' \"${PGPASSWORD-<unset>}\" >> '" + report + "'\n"
                + "printf 'CONTENT %s\\n' \"$(cat \"$PGPASSFILE\")\" >> '" + report + "'\n";
        PgTool tool = PgTool.locate("pg_dump", fakeTool("pg_dump (PostgreSQL) 15.19", body).toString());
        tsmigrate.config.JobConfig cfg = new tsmigrate.config.JobConfig();
        cfg.source = ConnInfo.parse("source", "postgresql://alice@db.example.com/shop");
        cfg.usePgPassword(java.util.Map.of("PGPASSWORD", "fromEnv:1"));

        assertEquals(0, tool.run(cfg.source, scratch, List.of("--schema-only")).exitCode());

        List<String> lines = Files.readAllLines(report);
        assertEquals("*:*:*:*:fromEnv\\:1", value(lines, "CONTENT "));
        assertEquals("<unset>", value(lines, "PGPASSWORD "));
        assertTrue(lines.stream().noneMatch(l -> l.startsWith("ARG ") && l.contains("fromEnv")), lines::toString);
    }

    @Test
    void runLeavesNoFilesInTheScratchDir() throws Exception {
        Path scratch = Files.createDirectories(dir.resolve("scratch"));
        PgTool tool = PgTool.locate("pg_dump", fakeTool("pg_dump (PostgreSQL) 15.19", "echo oops >&2; exit 0").toString());
        tool.run(conn(SECRET), scratch, List.of());
        try (var files = Files.list(scratch)) {
            assertEquals(List.of(), files.toList());
        }
    }

    @Test
    void runReturnsExitCodeAndStderr() throws Exception {
        Path scratch = Files.createDirectories(dir.resolve("scratch"));
        PgTool tool = PgTool.locate("pg_dump", fakeTool("pg_dump (PostgreSQL) 15.19",
                "echo 'pg_dump: error: connection failed' >&2; echo 'to stdout'; exit 3").toString());
        PgTool.Result r = tool.run(conn(SECRET), scratch, List.of());
        assertEquals(3, r.exitCode());
        assertEquals("pg_dump: error: connection failed\n", r.stderr());
    }

    @Test
    void runWithoutPasswordWritesNoPassfile() throws Exception {
        Path report = dir.resolve("report.txt");
        Path scratch = Files.createDirectories(dir.resolve("scratch"));
        PgTool tool = PgTool.locate("pg_dump", fakeTool("pg_dump (PostgreSQL) 15.19",
                "ls -A '" + scratch + "' > '" + report + "'; exit 0").toString());
        tool.run(ConnInfo.parse("source", "postgresql://alice@db.example.com/shop"), scratch, List.of());
        assertTrue(Files.readAllLines(report).stream().noneMatch(f -> f.startsWith(".pgpass")), Files.readString(report));
    }

    private static String value(List<String> lines, String prefix) {
        return lines.stream().filter(l -> l.startsWith(prefix)).map(l -> l.substring(prefix.length()))
                .findFirst().orElseThrow(() -> new AssertionError("no " + prefix + "in " + lines));
    }

    /**
     * A JVM killed while pg_dump or pg_restore ran leaves their passfile (the password in clear, 0600) and stderr
     * file in the work dir, and pre-data's dump: the next run removes those of dead processes, not a live one's.
     */
    @Test
    void leftoversOfDeadProcessesAreRemoved(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        long dead = gone.pid();
        long live = ProcessHandle.current().pid();
        List<String> names = List.of(".pgpass-" + dead + "-1", ".pg_dump-" + dead + "-2.stderr", "pre-data-" + dead + ".dump",
                ".pgpass-" + live + "-3", ".pg_restore-" + live + "-4.stderr", "pre-data-" + live + ".dump", "migration.id", ".pgpass-x");
        for (String n : names) Files.writeString(dir.resolve(n), "x");
        PgTool.removeLeftovers(dir);
        try (var left = Files.list(dir)) {
            assertEquals(java.util.Set.of(".pgpass-" + live + "-3", ".pg_restore-" + live + "-4.stderr", "pre-data-" + live + ".dump",
                    "migration.id", ".pgpass-x"), left.map(p -> p.getFileName().toString()).collect(java.util.stream.Collectors.toSet()));
        }
    }

    /** The passfile and stderr file carry the JVM's pid, so that a later run can tell whether their owner is gone. */
    @Test
    void scratchFilesNameTheirProcess() {
        assertTrue(PgTool.scratchPrefix("pgpass").startsWith(".pgpass-" + ProcessHandle.current().pid() + "-"));
    }
}
