package tsmigrate.schema;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import tsmigrate.run.MigrationRun;
import tsmigrate.run.StepFailure;

/**
 * The pre-data and post-data steps: pg_dump one section of the source, pg_restore it into the target, and
 * judge pg_restore's errors against the procedure's list of harmless ones.
 */
public class SchemaStep {
    private static final Logger LOG = LoggerFactory.getLogger(SchemaStep.class);

    public void preData(MigrationRun run) throws IOException, InterruptedException {
        section(run, "pre-data", 1);
    }

    public void postData(MigrationRun run) throws IOException, InterruptedException {
        // Indexes and constraints build in parallel: this is where most post-data time goes.
        section(run, "post-data", run.cfg.workers);
    }

    private void section(MigrationRun run, String section, int jobs) throws IOException, InterruptedException {
        Path dump = run.path(section + ".dump");
        PgTool pgDump = PgTool.locate("pg_dump", run.pgDumpPath);
        PgTool pgRestore = PgTool.locate("pg_restore", run.pgRestorePath);
        List<String> dumpArgs = new ArrayList<>(List.of("--section=" + section, "--format=custom",
                "--exclude-schema=_timescaledb*", "--file=" + dump));
        if (run.snapshotId != null) dumpArgs.add("--snapshot=" + run.snapshotId);
        Files.deleteIfExists(dump);
        PgTool.Result d = pgDump.run(run.cfg.source, run.workDir.root(), dumpArgs);
        if (d.exitCode() != 0) {
            throw new StepFailure(section + ": pg_dump failed (exit " + d.exitCode() + "):\n" + d.stderr().strip());
        }
        Files.setPosixFilePermissions(dump, tsmigrate.run.WorkDir.FILE);
        if (section.equals("post-data")) run.releaseSnapshot(); // the last reader of the snapshot is done
        List<String> restoreArgs = new ArrayList<>(List.of("--no-owner", "--format=custom"));
        if (jobs > 1) restoreArgs.add("--jobs=" + jobs);
        restoreArgs.add(dump.toString());
        PgTool.Result r = pgRestore.run(run.cfg.target, run.workDir.root(), restoreArgs);
        RestoreLog log = RestoreLog.parse(r.stderr(), section.equals("post-data"));
        for (String w : log.warnings) run.warn(section + ": pg_restore reported a known-harmless problem: " + w.replace('\n', ' '));
        if (!log.errors.isEmpty()) {
            throw new StepFailure(section + ": pg_restore failed with " + log.errors.size() + " error(s):\n"
                    + String.join("\n", log.errors.subList(0, Math.min(10, log.errors.size())))
                    + (log.errors.size() > 10 ? "\n... and " + (log.errors.size() - 10) + " more" : ""));
        }
        if (r.exitCode() != 0 && log.warnings.isEmpty()) {
            throw new StepFailure(section + ": pg_restore failed (exit " + r.exitCode() + "):\n" + r.stderr().strip());
        }
        run.counts(section, Files.size(dump) + " bytes of dump, " + log.warnings.size() + " harmless warning(s)");
        LOG.debug("{}: restored {}", section, dump);
    }
}
