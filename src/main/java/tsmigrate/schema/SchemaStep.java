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

    /** Runs once per migration; a resumed run skips it when done, and redoes it cleanly when it was cut short. */
    public void preData(MigrationRun run) throws Exception {
        if (!run.state.once("pre-data", redo -> section(run, "pre-data", 1, redo))) {
            run.counts("pre-data", "already applied");
        }
    }

    public void postData(MigrationRun run) throws Exception {
        // Indexes and constraints build in parallel: this is where most post-data time goes.
        if (!run.state.once("post-data", redo -> section(run, "post-data", run.cfg.workers, redo))) {
            run.counts("post-data", "already applied");
        }
        run.releaseSnapshot(); // its last reader (pg_dump --section=post-data) is done
        tsmigrate.copy.Autovacuum.resume(run); // paused while loading (by this run or an earlier one); indexes are built now
    }

    /**
     * @param redo an earlier attempt may have applied part of the section: restore with --clean --if-exists,
     *             which drops what is there first. Safe for pre-data (no data is loaded before it is done) and
     *             for post-data (it only drops indexes, constraints and triggers).
     */
    private String section(MigrationRun run, String section, int jobs, boolean redo) throws IOException, InterruptedException {
        // Found and version-checked by preflight, which always runs before a schema step.
        PgTool pgDump = run.pgDump;
        PgTool pgRestore = run.pgRestore;
        // pre-data dumps both sections in one pg_dump (as cheap as one: the time goes on reading the catalog), and
        // post-data restores its half of that dump; it only dumps again when pre-data ran in another process.
        Path dump;
        boolean dumped = !(section.equals("post-data") && run.schemaDump != null && Files.isRegularFile(run.schemaDump));
        if (dumped) {
            // A name of this process's own: a pg_dump orphaned by a killed earlier run may still be writing its file.
            dump = run.path(section + "-" + ProcessHandle.current().pid() + ".dump");
            List<String> dumpArgs = new ArrayList<>(List.of("--section=" + section));
            if (section.equals("pre-data")) dumpArgs.add("--section=post-data");
            dumpArgs.addAll(List.of("--format=custom", "--exclude-schema=_timescaledb*",
                    "--exclude-schema=" + tsmigrate.state.StateStore.SCHEMA, "--file=" + dump));
            if (run.snapshotId != null) dumpArgs.add("--snapshot=" + run.snapshotId);
            if (section.equals("post-data")) {
                // pre-data ran in an earlier process, from an earlier dump: a table made or renamed on the source
                // since, which the job leaves out, is not on the target, and its indexes and keys cannot be made
                List<String[]> absent = notOnTarget(run);
                for (String[] t : absent) dumpArgs.add("--exclude-table=" + t[0]); // quoted: taken literally, not as a pattern
                List<String> tables = absent.stream().filter(t -> !t[1].equals("m")).map(t -> t[0]).toList();
                List<String> views = absent.stream().filter(t -> t[1].equals("m")).map(t -> t[0]).toList();
                if (!tables.isEmpty()) {
                    run.warn(section + ": left out the indexes, keys and triggers of " + tables.size() + " table(s) the source has and"
                            + " the target lacks (made or renamed on the source since pre-data, and not copied): " + firstTen(tables));
                }
                if (!views.isEmpty()) {
                    run.warn(section + ": left out the data (REFRESH) and indexes of " + views.size() + " materialized view(s) the source"
                            + " has and the target lacks (made or renamed on the source since pre-data): " + firstTen(views)
                            + "; one renamed stays on the target under its old name, not populated");
                }
            }
            Files.deleteIfExists(dump);
            tsmigrate.run.WorkDir.createPrivateFile(dump); // 0600 from the start: pg_dump keeps the mode of a file it truncates
            PgTool.Result d;
            try (tsmigrate.report.LockWaits waits = tsmigrate.report.LockWaits.ofTool(section, "source", run.cfg.source,
                    appName(run, "pg_dump"), run.cfg.progressSeconds)) {
                d = pgDump.run(run.cfg.source, run.workDir.root(), dumpArgs, appName(run, "pg_dump"), java.util.Map.of(),
                        () -> run.stopping);
            } catch (Exception e) { // rethrown as it was (precise rethrow)
                Files.deleteIfExists(dump);
                throw e;
            }
            if (d.exitCode() != 0) {
                Files.deleteIfExists(dump); // a part of a schema, of no use to anyone
                throw new StepFailure(section + ": pg_dump failed (exit " + d.exitCode() + "):\n" + d.stderr().strip());
            }
        } else {
            dump = run.schemaDump;
        }
        Files.setPosixFilePermissions(dump, tsmigrate.run.WorkDir.FILE);
        List<String> restoreArgs = new ArrayList<>(List.of("--section=" + section, "--no-owner", "--format=custom"));
        if (redo) {
            restoreArgs.addAll(List.of("--clean", "--if-exists"));
            endOrphans(run, appName(run, "pg_restore"));
        }
        java.util.Map<String, String> env = java.util.Map.of();
        // TimescaleDB refuses ALTER TABLE ONLY on a hypertable: its constraints are added after pg_restore, without ONLY.
        List<tsmigrate.timescale.HypertableConstraints.Constraint> onHypertables = List.of();
        if (section.equals("post-data")) {
            // The dump's table of contents: how many builds it holds (jobs and memory), and which entries to leave out.
            Path list = tsmigrate.run.WorkDir.createPrivateFile(run.path("post-data.list")); // pg_restore keeps its mode
            Process p = PgTool.local(pgRestore.path(), "--section=post-data", "--list", "--file=" + list, dump.toString())
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            if (p.waitFor() != 0) throw new StepFailure(section + ": pg_restore --list failed:\n" + out.strip());
            String toc = Files.readString(list);
            onHypertables = hypertableConstraints(run);
            if (!onHypertables.isEmpty()) {
                toc = tsmigrate.timescale.HypertableConstraints.excludeFromList(toc, onHypertables);
                Files.writeString(list, toc);
                restoreArgs.add("--use-list=" + list);
            }
            PostDataJobs plan = PostDataJobs.of(toc, jobs, tsmigrate.config.MemorySize.parseKb(run.cfg.maintenanceWorkMem));
            if (plan.jobs() > 1) restoreArgs.add("--jobs=" + plan.jobs());
            // Index builds are most of post-data: each job's sessions sort in their share of the budget.
            env = java.util.Map.of("PGOPTIONS", "-c maintenance_work_mem=" + tsmigrate.config.MemorySize.kb(plan.memKbPerJob()));
            LOG.info("{}: pg_restore with {} job(s), maintenance_work_mem {} each", section, plan.jobs(),
                    tsmigrate.config.MemorySize.kb(plan.memKbPerJob()));
        } else if (jobs > 1) {
            restoreArgs.add("--jobs=" + jobs);
        }
        restoreArgs.add(dump.toString());
        PgTool.Result r;
        // pg_restore builds the indexes out of the JVM's sight: the server's own progress of each build, every period
        try (tsmigrate.report.ServerProgress progress = section.equals("post-data")
                ? tsmigrate.report.ServerProgress.indexBuilds(section, run.cfg.target, appName(run, "pg_restore"), run.cfg.progressSeconds)
                : null;
             tsmigrate.report.LockWaits waits = tsmigrate.report.LockWaits.ofTool(section, "target", run.cfg.target, appName(run, "pg_restore"),
                     run.cfg.progressSeconds)) {
            r = pgRestore.run(run.cfg.target, run.workDir.root(), restoreArgs, appName(run, "pg_restore"), env, () -> run.stopping);
        }
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
        if (!onHypertables.isEmpty()) {
            try (java.sql.Connection t = tsmigrate.db.Pg.connect("target", run.cfg.target)) {
                int n = tsmigrate.timescale.HypertableConstraints.apply(t, onHypertables);
                LOG.info("{}: {} constraint(s) of hypertables added without ONLY", section, n);
            } catch (java.sql.SQLException e) {
                throw new StepFailure(section + ": " + e.getMessage());
            }
        }
        if (dumped) {
            Path kept = run.path(section.equals("pre-data") ? "schema.dump" : "post-data.dump");
            Files.move(dump, kept, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            dump = kept;
            if (section.equals("pre-data")) run.schemaDump = kept;
        }
        String counts = Files.size(dump) + " bytes of dump, " + log.warnings.size() + " harmless warning(s)" + (redo ? ", redone" : "");
        run.counts(section, counts);
        LOG.debug("{}: restored {}", section, dump);
        return counts;
    }

    /** Constraints of the target's hypertables (and foreign keys to them), read from the source. */
    private static List<tsmigrate.timescale.HypertableConstraints.Constraint> hypertableConstraints(MigrationRun run) {
        try (java.sql.Connection t = tsmigrate.db.Pg.connect("target", run.cfg.target)) {
            java.util.Set<String> hts = tsmigrate.plan.Planner.hypertables(t);
            if (hts.isEmpty()) return List.of();
            try (java.sql.Connection s = tsmigrate.db.Pg.connect("source", run.cfg.source)) {
                return tsmigrate.timescale.HypertableConstraints.read(s, hts);
            }
        } catch (java.sql.SQLException e) {
            throw new StepFailure("post-data: cannot read the constraints of hypertables: " + e.getMessage());
        }
    }

    private static String firstTen(List<String> names) {
        return String.join(", ", names.subList(0, Math.min(10, names.size()))) + (names.size() > 10 ? " and " + (names.size() - 10) + " more" : "");
    }

    /**
     * The source's tables and materialized views that the target lacks, as {quoted name, relkind}, in the run's
     * snapshot when it has one.
     */
    private static List<String[]> notOnTarget(MigrationRun run) {
        List<String> onSource = new ArrayList<>();
        java.util.Map<String, String> kinds = new java.util.HashMap<>();
        java.sql.Connection s = null;
        try {
            s = run.snapshotHolder != null ? run.snapshotHolder : tsmigrate.db.Pg.connect("source", run.cfg.source);
            try (java.sql.Statement st = s.createStatement();
                 java.sql.ResultSet rs = st.executeQuery("SELECT n.nspname, c.relname, c.relkind FROM pg_catalog.pg_class c"
                         + " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'm') AND "
                         + tsmigrate.db.Pg.SYSTEM_SCHEMA_FILTER + " AND " + tsmigrate.db.Pg.NOT_EXTENSION_MEMBER + " ORDER BY 1, 2")) {
                while (rs.next()) {
                    String q = tsmigrate.db.Pg.qualified(rs.getString(1), rs.getString(2));
                    onSource.add(q);
                    kinds.put(q, rs.getString(3));
                }
            }
            try (java.sql.Connection t = tsmigrate.db.Pg.connect("target", run.cfg.target)) {
                return tsmigrate.db.Pg.missing(t, onSource).stream().map(q -> new String[] {q, kinds.get(q)}).toList();
            }
        } catch (java.sql.SQLException e) {
            throw new StepFailure("post-data: cannot compare the source's tables with the target's: " + e.getMessage());
        } finally {
            if (s != run.snapshotHolder) tsmigrate.db.Pg.closeQuietly(s);
        }
    }

    /**
     * Ends the target sessions of a pg_restore that a killed earlier run left behind. Called under the step's
     * advisory lock, so no live instance is running this step: any such session is an orphan.
     */
    private static void endOrphans(MigrationRun run, String appName) {
        try (java.sql.Connection c = tsmigrate.db.Pg.connect("target", run.cfg.target);
             java.sql.PreparedStatement ps = c.prepareStatement("SELECT count(pg_catalog.pg_terminate_backend(pid)) FROM pg_catalog.pg_stat_activity"
                     + " WHERE application_name = ? AND pid <> pg_catalog.pg_backend_pid()")) {
            ps.setString(1, appName);
            try (java.sql.ResultSet rs = ps.executeQuery()) {
                if (rs.next() && rs.getInt(1) > 0) run.warn("ended " + rs.getInt(1) + " pg_restore session(s) left by an earlier run");
            }
        } catch (java.sql.SQLException e) {
            LOG.debug("cannot look for orphaned pg_restore sessions: {}", e.getMessage());
        }
    }

    /**
     * Creates tables on the target from the source's schema, as pre-data would have had they existed then (new
     * partitions: pg_dump writes each one's CREATE TABLE and its ATTACH PARTITION). Their parent's indexes, keys and
     * row triggers come with the attach.
     */
    public static void createTables(MigrationRun run, List<String> qualifiedNames) throws Exception {
        PgTool pgDump = run.pgDump != null ? run.pgDump : PgTool.locate("pg_dump", run.cfg.pgDump);
        PgTool pgRestore = run.pgRestore != null ? run.pgRestore : PgTool.locate("pg_restore", run.cfg.pgRestore);
        Path dump = run.path("new-tables-" + ProcessHandle.current().pid() + ".dump");
        Files.deleteIfExists(dump);
        tsmigrate.run.WorkDir.createPrivateFile(dump);
        try {
            List<String> args = new ArrayList<>(List.of("--section=pre-data", "--format=custom", "--file=" + dump));
            if (run.snapshotId != null) args.add("--snapshot=" + run.snapshotId);
            for (String t : qualifiedNames) args.add("--table=" + t); // quoted: taken literally, not as a pattern
            PgTool.Result d = pgDump.run(run.cfg.source, run.workDir.root(), args, appName(run, "pg_dump"), java.util.Map.of(),
                    () -> run.stopping);
            if (d.exitCode() != 0) throw new StepFailure("plan: pg_dump of new tables failed (exit " + d.exitCode() + "):\n" + d.stderr().strip());
            PgTool.Result r = pgRestore.run(run.cfg.target, run.workDir.root(),
                    // one transaction: a partition whose ATTACH fails must not be left as a table of its own
                    // without grants: the roles they name may be missing, as preflight checks them only while pre-data is to run
                    List.of("--section=pre-data", "--no-owner", "--no-privileges", "--format=custom", "--single-transaction",
                            "--exit-on-error", dump.toString()),
                    appName(run, "pg_restore"),
                    java.util.Map.of(), () -> run.stopping);
            RestoreLog log = RestoreLog.parse(r.stderr(), false);
            for (String w : log.warnings) run.warn("plan: pg_restore reported a known-harmless problem: " + w.replace('\n', ' '));
            if (!log.errors.isEmpty()) {
                throw new StepFailure("plan: creating new tables on the target failed with " + log.errors.size() + " error(s):\n"
                        + String.join("\n", log.errors.subList(0, Math.min(10, log.errors.size()))));
            }
        } finally {
            Files.deleteIfExists(dump);
        }
    }

    /** application_name of the tool's sessions, so a resumed run can find (and end) those of a killed one. */
    public static String appName(MigrationRun run, String tool) {
        return "tsmigrate/" + run.state.migrationId + "/" + tool;
    }
}
