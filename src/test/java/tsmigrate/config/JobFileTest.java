package tsmigrate.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import tsmigrate.run.UserError;

class JobFileTest {
    @TempDir
    Path dir;

    private JobConfig load(String yaml) throws IOException {
        Path file = dir.resolve("job.yaml");
        Files.writeString(file, yaml);
        JobConfig cfg = new JobConfig();
        JobFile.apply(file, cfg);
        return cfg;
    }

    private UserError loadFails(String yaml) {
        return assertThrows(UserError.class, () -> load(yaml));
    }

    @Test
    void appliesEveryKey() throws IOException {
        JobConfig cfg = load("""
                name: nightly
                source: postgresql://alice:pw1@src.example.com:5433/shop
                target: postgresql://bob:pw2@dst.example.com/tsdb?sslmode=require
                workDir: work/here
                workers: 8
                chunkInterval: 6 hours
                splitRows: 250000
                include: [public.*, "sales.orders"]
                exclude:
                  - public.tmp_*
                timeColumns:
                  public.metrics: recorded_at
                pgDump: /opt/pg/bin/pg_dump
                pgRestore: /opt/pg/bin/pg_restore
                snapshot: false
                progressSeconds: 30
                routesDir: my-routes
                keepFiles: true
                """);
        assertEquals("nightly", cfg.name);
        assertEquals("src.example.com", cfg.source.host());
        assertEquals(5433, cfg.source.port());
        assertEquals("pw1", cfg.source.password());
        assertEquals("tsdb", cfg.target.database());
        assertEquals("require", cfg.target.params().get("sslmode"));
        assertEquals(dir.toAbsolutePath().resolve("work/here"), cfg.workDir);
        assertEquals(8, cfg.workers);
        assertEquals("6 hours", cfg.chunkInterval);
        assertEquals(250000L, cfg.splitRows);
        assertEquals(List.of("public.*", "sales.orders"), cfg.include);
        assertEquals(List.of("public.tmp_*"), cfg.exclude);
        assertEquals(Map.of("public.metrics", "recorded_at"), cfg.timeColumns);
        assertEquals("/opt/pg/bin/pg_dump", cfg.pgDump);
        assertEquals("/opt/pg/bin/pg_restore", cfg.pgRestore);
        assertFalse(cfg.snapshot);
        assertEquals(30, cfg.progressSeconds);
        assertEquals(dir.toAbsolutePath().resolve("my-routes"), cfg.routesDir);
        assertTrue(cfg.keepFiles);
        assertFalse(load("workers: 2\n").keepFiles, "deleted once loaded, by default");
    }

    @Test
    void includeMayBeASingleString() throws IOException {
        assertEquals(List.of("public.*"), load("include: public.*\n").include);
    }

    @Test
    void sourceAsMappingTakesUriAndPassword() throws IOException {
        JobConfig cfg = load("""
                source:
                  uri: postgresql://alice@src.example.com/shop
                  password: "p@ss:w/rd%"
                """);
        assertEquals("alice", cfg.source.user());
        assertEquals("p@ss:w/rd%", cfg.source.password());
    }

    @Test
    void passwordFileIsReadNextToTheJobFile() throws IOException {
        Files.createDirectories(dir.resolve("secrets"));
        Files.writeString(dir.resolve("secrets/src.pw"), "s3cret\n");
        JobConfig cfg = load("""
                source:
                  uri: postgresql://alice@src.example.com/shop
                  password: file:secrets/src.pw
                """);
        assertEquals("s3cret", cfg.source.password());
    }

    @Test
    void missingPasswordFileIsRefused() {
        UserError e = loadFails("""
                source:
                  uri: postgresql://alice@src.example.com/shop
                  password: file:secrets/none.pw
                """);
        assertTrue(e.getMessage().contains("none.pw"), e.getMessage());
    }

    @Test
    void unsetEnvironmentVariableIsRefusedByName() {
        String name = "TSMIGRATE_TEST_UNSET_" + UUID.randomUUID().toString().replace("-", "").toUpperCase();
        UserError e = loadFails("""
                source:
                  uri: postgresql://alice@src.example.com/shop
                  password: ${env:%s}
                """.formatted(name));
        assertTrue(e.getMessage().contains(name), e.getMessage());
    }

    @Test
    void unsetEnvironmentVariableInTheUriIsRefusedByName() {
        String name = "TSMIGRATE_TEST_UNSET_" + UUID.randomUUID().toString().replace("-", "").toUpperCase();
        UserError e = loadFails("source: postgresql://alice:${env:" + name + "}@src.example.com/shop\n");
        assertTrue(e.getMessage().contains(name), e.getMessage());
    }

    @Test
    void environmentVariableThatIsSetIsUsed() throws IOException {
        // PATH is set in every test environment; this only checks that the value is looked up.
        JobConfig cfg = load("""
                source:
                  uri: postgresql://alice@src.example.com/shop
                  password: ${env:PATH}
                """);
        assertEquals(System.getenv("PATH"), cfg.source.password());
    }

    @Test
    void unknownKeysAreRefusedByName() {
        UserError e = loadFails("wokers: 4\nname: x\n");
        assertTrue(e.getMessage().contains("wokers"), e.getMessage());
    }

    @Test
    void unknownKeysUnderSourceAreRefusedByName() {
        UserError e = loadFails("""
                source:
                  uri: postgresql://alice@src.example.com/shop
                  pasword: x
                """);
        assertTrue(e.getMessage().contains("pasword"), e.getMessage());
    }

    @Test
    void malformedYamlNamesLineAndColumn() {
        UserError e = loadFails("name: x\nworkers: [4\nsnapshot: true\n");
        assertTrue(e.getMessage().matches("(?s).*line \\d+, column \\d+.*"), e.getMessage());
    }

    /** A YAML syntax error names the file, line, column and problem, but quotes none of the file: it may hold a password. */
    @Test
    void yamlSyntaxErrorQuotesNothingOfTheFile() {
        UserError e = loadFails("name: x\nsource: postgresql://postgres:S3cr3tYAML@127.0.0.1:56201/src: extra\n");
        assertTrue(e.getMessage().contains("line 2, column 61"), e.getMessage());
        assertTrue(e.getMessage().contains("mapping values are not allowed here"), e.getMessage());
        for (String piece : List.of("S3cr3t", "3tY", "postgres:", "127.0.0.1", "56201", "src:", "extra")) {
            assertFalse(e.getMessage().contains(piece), piece + " in: " + e.getMessage());
        }

        e = loadFails("source:\n  uri: postgresql://a@b/c\n  password: 'S3cr3tYAML2\nworkers: 2\n");
        assertTrue(e.getMessage().matches("(?s).*line \\d+, column \\d+.*"), e.getMessage());
        assertTrue(e.getMessage().contains("quoted scalar"), e.getMessage());
        assertNoPieceOf("S3cr3t", e.getMessage());
        assertFalse(e.getMessage().contains("AML2"), e.getMessage());
    }

    /** SnakeYAML's own problem text quotes pieces of the file in some errors: an escape, an alias, a tag, a character. */
    @Test
    void yamlProblemsThatQuoteTheFileAreShownWithoutTheQuote() {
        for (String yaml : List.of("password: \"Zk\\\u017eQw\"\n", "password: *ZkQwX\n", "password: !ZkQwX y\n",
                "password: @ZkQwX\n", "password: \"Zk\\xQwX\"\n", "password: |ZkQwX\n", "password: \"Zk\u0001QwX\"\n",
                "password: !!int ZkQwX\n", "ZkQwX: 1\nZkQwX: 2\n")) {
            UserError e = loadFails(yaml);
            assertTrue(e.getMessage().contains("is not valid YAML"), e.getMessage());
            // the message names the file, whose random temporary folder may hold any digits: checked without it
            String said = e.getMessage().replace(dir.resolve("job.yaml").toString(), "JOB");
            assertTrue(said.startsWith("The job file JOB "), e.getMessage());
            assertNoPieceOf("Zk\u017eQwX", said);
            assertFalse(said.contains("\u017e") || said.contains("382"), e.getMessage()); // the escaped character, or its code point
        }
    }

    /** Fails if text holds any 3 characters in a row of secret. */
    private static void assertNoPieceOf(String secret, String text) {
        for (int i = 0; i + 3 <= secret.length(); i++) {
            assertFalse(text.contains(secret.substring(i, i + 3)), "'" + secret.substring(i, i + 3) + "' in: " + text);
        }
    }

    @Test
    void nonMappingDocumentIsRefused() {
        loadFails("- just\n- a list\n");
    }

    @Test
    void textForANumberIsRefused() {
        UserError e = loadFails("workers: \"four\"\n");
        assertTrue(e.getMessage().contains("workers"), e.getMessage());
    }

    /** Numbers are read strictly: never wrapped into an int, nor cut to a whole number. The message quotes them as written. */
    @Test
    void numbersOutOfRangeOrNotWholeAreRefusedAsWritten() {
        for (String[] kv : new String[][] {{"workers", "99999999999"}, {"workers", "4294967298"}, {"retries", "4294967296"},
                {"workers", "2.5"}, {"workers", "1e3"}, {"leaseSeconds", "-2147483649"}, {"progressSeconds", "10.0"},
                {"splitRows", "99999999999999999999"}, {"splitRows", "1.5"}, {"retryDelayMs", "9223372036854775808"}, {"maxRetryDelayMs", "0.5"}}) {
            UserError e = loadFails(kv[0] + ": " + kv[1] + "\n");
            assertTrue(e.getMessage().contains("'" + kv[0] + "'") && e.getMessage().contains(kv[1]), e.getMessage());
        }
    }

    @Test
    void numbersInRangeAreRead() throws IOException {
        JobConfig cfg = load("workers: 256\nsplitRows: 5000000000\nretries: 0\nretryDelayMs: 9223372036854775807\n");
        assertEquals(256, cfg.workers);
        assertEquals(5_000_000_000L, cfg.splitRows);
        assertEquals(0, cfg.retries);
        assertEquals(Long.MAX_VALUE, cfg.retryDelayMs);
    }

    @Test
    void textForABooleanIsRefused() {
        UserError e = loadFails("snapshot: \"no thanks\"\n");
        assertTrue(e.getMessage().contains("snapshot"), e.getMessage());
    }

    @Test
    void numberForSourceIsRefused() {
        UserError e = loadFails("source: 42\n");
        assertTrue(e.getMessage().contains("source"), e.getMessage());
    }

    @Test
    void workDirIsRelativeToTheJobFilesFolderNotTheCurrentDirectory() throws IOException {
        Path sub = Files.createDirectories(dir.resolve("jobs"));
        Path file = sub.resolve("job.yaml");
        Files.writeString(file, "workDir: ../work\n");
        JobConfig cfg = new JobConfig();
        JobFile.apply(file, cfg);
        assertEquals(dir.toAbsolutePath().resolve("work").normalize(), cfg.workDir.normalize());
    }

    @Test
    void absoluteWorkDirIsKept() throws IOException {
        assertEquals(Path.of("/var/tmp/tsm"), load("workDir: /var/tmp/tsm\n").workDir);
    }

    @Test
    void emptyFileChangesNothing() throws IOException {
        JobConfig cfg = load("");
        JobConfig defaults = new JobConfig();
        assertEquals(defaults.name, cfg.name);
        assertEquals(defaults.workers, cfg.workers);
        assertEquals(defaults.workDir, cfg.workDir);
        assertNull(cfg.source);
        assertTrue(cfg.include.isEmpty());
    }

    @Test
    void keysNotInTheFileKeepTheirEarlierValues() throws IOException {
        Path file = dir.resolve("job.yaml");
        Files.writeString(file, "workers: 2\n");
        JobConfig cfg = new JobConfig();
        cfg.chunkInterval = "1 week";
        JobFile.apply(file, cfg);
        assertEquals(2, cfg.workers);
        assertEquals("1 week", cfg.chunkInterval);
    }

    @Test
    void missingJobFileIsAUserError() {
        JobConfig cfg = new JobConfig();
        assertThrows(UserError.class, () -> JobFile.apply(dir.resolve("nope.yaml"), cfg));
    }
}
