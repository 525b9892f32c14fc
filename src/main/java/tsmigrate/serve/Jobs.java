package tsmigrate.serve;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import tsmigrate.config.JobConfig;
import tsmigrate.config.JobFile;
import tsmigrate.run.Migration;
import tsmigrate.run.MigrationRun;
import tsmigrate.run.UserError;
import tsmigrate.run.WorkDir;

/**
 * Runs one job file dropped into the inbox. Its outcome goes beside the file's final place: the report to
 * done/, or a plain-words error.txt to failed/. A job dropped again resumes (or finds nothing left to do):
 * progress lives in the target's state, so nothing is copied twice.
 */
public class Jobs {
    private static final Logger LOG = LoggerFactory.getLogger("tsmigrate.serve");

    private final Path inbox;
    private final Path defaults;

    /** @param defaults an application.yaml whose keys are every job's defaults, or null */
    public Jobs(Path inbox, Path defaults) {
        this.inbox = inbox;
        this.defaults = defaults;
    }

    /**
     * Runs the job; returns where its file goes next, relative to the inbox: {@code done/<name>}, or back into the
     * inbox ({@code <name>}) when serve was asked to stop meanwhile (the migration stopped resumably, and runs on
     * when serve starts again). A failure throws, and the file goes to failed/.
     */
    public String run(String file, String name) throws Exception {
        String job = name.replaceFirst("\\.ya?ml$", "");
        LOG.info("job {}: started ({})", job, file);
        try {
            JobConfig cfg = new JobConfig();
            if (defaults != null) JobFile.apply(defaults, cfg, true);
            JobFile.apply(Path.of(file), cfg, false, inbox.toAbsolutePath()); // relative paths: beside the job as dropped, not in .processing/
            if (cfg.source == null || cfg.target == null) {
                throw new UserError("The job file names no " + (cfg.source == null ? "source" : "target") + ".",
                        "Give both source and target (see config/job.example.yaml).");
            }
            cfg.usePgPassword(System.getenv());
            // Jobs run side by side, and a work dir serves one migration at a time: one of its own unless told.
            if (cfg.workDir.equals(JobConfig.DEFAULT_WORK_DIR)) cfg.workDir = inbox.toAbsolutePath().resolve("work").resolve(job);
            if (!name.equals(cfg.name + ".yaml") && cfg.name.equals("migration")) cfg.name = job;
            MigrationRun run = Migration.run(cfg);
            Path done = Files.createDirectories(inbox.resolve("done"));
            // A job dropped again after it was done copies nothing: the report of the run that did the work stays.
            boolean copied = run.getChunks().stream().anyMatch(ch -> ch.loadEndMs > 0);
            if (!copied && Files.exists(done.resolve(job + ".report.md"))) {
                LOG.info("job {}: nothing was left to copy; done/{}.report.md of the run that copied is kept", job, job);
            } else {
                for (String ext : new String[] {"md", "html"}) {
                    Path report = run.path("report." + ext);
                    if (Files.exists(report)) Files.copy(report, done.resolve(job + ".report." + ext), StandardCopyOption.REPLACE_EXISTING);
                }
                Path summary = run.path("summary.txt");
                if (Files.exists(summary)) Files.copy(summary, done.resolve(job + ".summary.txt"), StandardCopyOption.REPLACE_EXISTING);
            }
            // an earlier failure of this job is over: its file and reason in failed/ would only mislead
            Files.deleteIfExists(inbox.resolve("failed").resolve(job + ".error.txt"));
            Files.deleteIfExists(inbox.resolve("failed").resolve(name));
            LOG.info("job {}: done", job);
            return "done/" + name;
        } catch (Migration.Interrupted stopped) {
            return whereAStoppedJobGoes(inbox, job, name);
        } catch (Exception e) {
            Throwable cause = e instanceof Migration.MigrationFailed mf ? mf.getCause() : e;
            String step = e instanceof Migration.MigrationFailed mf ? mf.step : null;
            StringBuilder why = new StringBuilder("Job " + job + " failed" + (step != null ? " in step " + step : "") + ".\n\n");
            why.append(cause.getMessage()).append('\n');
            if (cause instanceof UserError ue && ue.hint() != null) why.append("\nWhat to do: ").append(ue.hint()).append('\n');
            String told = forJobFile(why.toString(), file, inbox.resolve(name))
                    + "\nDrop the job file into the inbox again to retry; a migration resumes where it stopped.\n";
            Path failed = Files.createDirectories(inbox.resolve("failed"));
            WorkDir.writePrivate(failed.resolve(job + ".error.txt"), told);
            LOG.warn("job {}: failed: {}", job, firstLine(cause.getMessage()));
            throw new JobFailed(job); // Camel moves the job file to failed/
        }
    }

    /**
     * A job stopped with serve goes back into the inbox, to resume at the next start; but a file of its name dropped
     * meanwhile is newer and must not be replaced (the move would delete it): then it goes to failed/, saying so.
     */
    static String whereAStoppedJobGoes(Path inbox, String job, String name) throws IOException {
        if (!Files.exists(inbox.resolve(name))) {
            LOG.warn("job {}: stopped with serve; back in the inbox, it resumes when serve starts again", job);
            return name;
        }
        Path failed = Files.createDirectories(inbox.resolve("failed"));
        WorkDir.writePrivate(failed.resolve(job + ".error.txt"), "Job " + job + " was stopped with serve (it resumes when run again),"
                + " but a newer file of its name was dropped into the inbox meanwhile, which runs instead. This one is kept here.\n");
        LOG.warn("job {}: stopped with serve; a newer file of its name is in the inbox, so this one goes to failed/", job);
        return "failed/" + name;
    }

    /** The command-line options that messages name, and the job-file keys that set the same. */
    private static final java.util.Map<String, String> JOB_KEYS = new java.util.LinkedHashMap<>();
    static {
        String[][] pairs = {{"--work-dir", "workDir"}, {"--chunk-interval", "chunkInterval"}, {"--workers", "workers"},
            {"--split-rows", "splitRows"}, {"--include", "include"}, {"--exclude", "exclude"}, {"--time-column", "timeColumns"},
            {"--format", "copyFormat"}, {"--compress-files", "compressFiles"}, {"--keep-files", "keepFiles"}, {"--stream", "stream"},
            {"--no-verify", "verify: false"}, {"--retries", "retries"}, {"--steps", "steps"}, {"--pg-dump", "pgDump"},
            {"--pg-restore", "pgRestore"}, {"--lease", "leaseSeconds"}, {"--on-chunk-error", "onChunkError"}};
        for (String[] p : pairs) JOB_KEYS.put(p[0], p[1]);
    }

    /**
     * An error told to the writer of a job file: the file as dropped into the inbox, not where it waited while it ran
     * (.processing/), and each command-line option the message names with the job-file key that does the same.
     */
    static String forJobFile(String why, String runningFile, Path droppedAs) {
        String text = why.replace(runningFile, droppedAs.toString());
        java.util.List<String> keys = new java.util.ArrayList<>();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("--[a-z][a-z-]*[a-z]").matcher(text);
        while (m.find()) {
            String key = JOB_KEYS.get(m.group());
            String said = m.group() + " is " + key;
            if (key != null && !keys.contains(said)) keys.add(said);
        }
        return keys.isEmpty() ? text : text + "In a job file, " + String.join(", ", keys) + ".\n";
    }

    private static String firstLine(String s) {
        if (s == null) return "";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /** Marks the exchange failed so the file goes to failed/; the reason is already in error.txt. */
    public static final class JobFailed extends RuntimeException {
        JobFailed(String job) {
            super("job " + job + " failed; see failed/" + job + ".error.txt", null, false, false);
        }
    }

    static void ensureDirs(Path inbox) throws IOException {
        WorkDir.mkdirs(inbox);
        for (String d : new String[] {".processing", "done", "failed"}) Files.createDirectories(inbox.resolve(d));
    }

    /**
     * Jobs left in .processing/ were running when a serve process died (SIGKILL, a crash): back into the inbox, to
     * run again (their migrations resume). One serve per inbox: another one's running jobs would be taken too.
     */
    static void requeueInterrupted(Path inbox) throws IOException {
        try (var left = Files.list(inbox.resolve(".processing"))) {
            for (Path job : left.filter(p -> p.getFileName().toString().matches(".*\\.ya?ml")).toList()) {
                Path back = inbox.resolve(job.getFileName());
                if (Files.exists(back)) {
                    LOG.warn("job {} was running when serve last stopped, but the inbox has a new file of that name: it stays in .processing/",
                            job.getFileName());
                    continue;
                }
                Files.move(job, back);
                LOG.warn("job {} was running when serve last stopped: back in the inbox, it resumes", job.getFileName());
            }
        }
    }
}
