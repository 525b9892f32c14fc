package tsmigrate.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import tsmigrate.db.Pg;
import tsmigrate.embedded.EmbeddedCluster;
import tsmigrate.it.Clusters;

/**
 * A job's relative paths (workDir, a password file:) are relative to the folder it was dropped into, as the
 * example job says, not to .processing/ where serve moves it while it runs.
 */
class JobPathsTest {
    @TempDir
    Path work;

    /** A database pair whose source holds 1,000 rows in public.m. */
    private static String[] sourceWithRows(String prefix) throws Exception {
        String[] dbs = Clusters.newPair(prefix);
        Clusters.runSql(Clusters.source(), dbs[0], "CREATE TABLE m (time timestamptz NOT NULL, v int);"
                + " INSERT INTO m SELECT timestamptz '2025-01-01' + i * interval '1 minute', i FROM generate_series(0, 999) i;"
                + " CREATE INDEX ON m (time)");
        return dbs;
    }

    private Path inbox() throws Exception {
        Path inbox = work.resolve("inbox");
        Jobs.ensureDirs(inbox);
        return inbox;
    }

    @Test
    void relativePathsOfAJobAreRelativeToTheInbox() throws Exception {
        String[] dbs = sourceWithRows("job_paths");
        Path inbox = inbox();
        EmbeddedCluster t = Clusters.target();
        Files.writeString(inbox.resolve("target.password"), t.password() + "\n");
        String job = "source: " + Clusters.source().uri(dbs[0]) + "\n"
                + "target:\n  uri: postgresql://" + t.user() + "@" + t.uri(dbs[1]).replaceFirst("^.*@", "") + "\n  password: file:target.password\n"
                + "workDir: tsmigrate-work\nchunkInterval: 6 hours\n";
        // where serve's file consumer has moved it (preMove) when the job runs
        Path running = Files.writeString(Files.createDirectories(inbox.resolve(".processing")).resolve("paths.yaml"), job);
        new Jobs(inbox, null).run(running.toString(), "paths.yaml");
        assertTrue(Files.isRegularFile(inbox.resolve("tsmigrate-work").resolve("report.md")), "the work dir is beside the job as dropped");
        assertFalse(Files.exists(inbox.resolve(".processing").resolve("tsmigrate-work")));
        try (Connection c = t.connect(dbs[1])) {
            assertEquals("1000", Pg.queryString(c, "SELECT count(*) FROM m"));
        }
    }

    /** A job dropped again once done copies nothing, and keeps the report of the run that copied (QA: it was replaced). */
    @Test
    void aDoneJobDroppedAgainKeepsItsReport() throws Exception {
        String[] dbs = sourceWithRows("job_again");
        Path inbox = inbox();
        String job = "source: " + Clusters.source().uri(dbs[0]) + "\ntarget: " + Clusters.target().uri(dbs[1]) + "\nchunkInterval: 6 hours\n";
        Path running = Files.writeString(Files.createDirectories(inbox.resolve(".processing")).resolve("again.yaml"), job);
        new Jobs(inbox, null).run(running.toString(), "again.yaml");
        String first = Files.readString(inbox.resolve("done").resolve("again.report.md"));
        assertTrue(first.contains("1,000"), first);
        new Jobs(inbox, null).run(running.toString(), "again.yaml");
        assertEquals(first, Files.readString(inbox.resolve("done").resolve("again.report.md")));
    }

    /** A job that names no work dir gets one of its own, so that two jobs running at once never share one. */
    @Test
    void aJobWithoutAWorkDirGetsItsOwn() throws Exception {
        String[] dbs = sourceWithRows("job_own_dir");
        Path inbox = inbox();
        String job = "source: " + Clusters.source().uri(dbs[0]) + "\ntarget: " + Clusters.target().uri(dbs[1]) + "\nchunkInterval: 6 hours\n";
        Path running = Files.writeString(Files.createDirectories(inbox.resolve(".processing")).resolve("own.yaml"), job);
        new Jobs(inbox, null).run(running.toString(), "own.yaml");
        assertTrue(Files.isRegularFile(inbox.resolve("work").resolve("own").resolve("report.md")), "the job's own work dir: inbox/work/<job>");
    }

    /** A job file that is not valid YAML fails with error.txt naming line and column, quoting nothing of the file. */
    @Test
    void aJobWithAYamlSyntaxErrorFailsWithoutQuotingTheFile() throws Exception {
        Path inbox = inbox();
        Path running = Files.writeString(Files.createDirectories(inbox.resolve(".processing")).resolve("leak.yaml"),
                "name: leak\nsource: postgresql://postgres:S3cr3tYAML@127.0.0.1:56201/src: extra\n");
        org.junit.jupiter.api.Assertions.assertThrows(Exception.class, () -> new Jobs(inbox, null).run(running.toString(), "leak.yaml"));
        String why = Files.readString(inbox.resolve("failed").resolve("leak.error.txt"));
        assertTrue(why.contains("line 2, column 61"), why);
        assertFalse(why.contains("S3cr3t") || why.contains("3tYAML") || why.contains("extra"), why);
    }

    /**
     * error.txt speaks to the writer of the job file: it names the file as dropped (not .processing/, where it waited)
     * and the job-file key for each command-line option it names (workDir for --work-dir).
     */
    @Test
    void errorTxtNamesTheJobFileAndItsKeys() throws Exception {
        Path inbox = inbox();
        Path shared = Files.createDirectories(work.resolve("shared"));
        Files.setPosixFilePermissions(shared, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        Path running = Files.writeString(Files.createDirectories(inbox.resolve(".processing")).resolve("wd.yaml"),
                "source: " + Clusters.source().uri("postgres") + "\ntarget: " + Clusters.target().uri("postgres")
                        + "\nworkDir: " + shared + "\nchunkInterval: 1 day: 2\n");
        org.junit.jupiter.api.Assertions.assertThrows(Exception.class, () -> new Jobs(inbox, null).run(running.toString(), "wd.yaml"));
        String why = Files.readString(inbox.resolve("failed").resolve("wd.error.txt"));
        assertFalse(why.contains(".processing"), why);
        assertTrue(why.contains(inbox.resolve("wd.yaml").toString()), why);

        Files.writeString(running, "source: " + Clusters.source().uri("postgres") + "\ntarget: " + Clusters.target().uri("postgres")
                + "\nworkDir: " + shared + "\n");
        org.junit.jupiter.api.Assertions.assertThrows(Exception.class, () -> new Jobs(inbox, null).run(running.toString(), "wd.yaml"));
        why = Files.readString(inbox.resolve("failed").resolve("wd.error.txt"));
        assertTrue(why.contains("go-w"), "refused for its mode: " + why);
        assertTrue(why.contains("or pass another --work-dir.\nIn a job file, --work-dir is workDir.\n"), why);
    }

    @Test
    void optionsAreNamedOnceEachWithTheirKeys() {
        assertEquals("Pass another --work-dir, or --workers 2 (--work-dir).\nIn a job file, --work-dir is workDir, --workers is workers.\n",
                Jobs.forJobFile("Pass another --work-dir, or --workers 2 (--work-dir).\n", "/x/.processing/j.yaml", Path.of("/x/j.yaml")));
        assertEquals("Nothing to map in /x/j.yaml: --restart.\n",
                Jobs.forJobFile("Nothing to map in /x/.processing/j.yaml: --restart.\n", "/x/.processing/j.yaml", Path.of("/x/j.yaml")));
    }
}
