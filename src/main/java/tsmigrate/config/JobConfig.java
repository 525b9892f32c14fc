package tsmigrate.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything one migration needs to know. Built from defaults, then a job file, then CLI flags.
 */
public final class JobConfig {
    public String name = "migration";
    public ConnInfo source;
    public ConnInfo target;
    /** The work dir when none is given (relative: the current folder's); serve gives each job its own instead. */
    public static final Path DEFAULT_WORK_DIR = Path.of("tsmigrate-work");
    public Path workDir = DEFAULT_WORK_DIR;
    public int workers = 4;
    public String chunkInterval = "1 day";
    /** chunkInterval was set for this job (flag or job file), not left to the defaults: a resume names a difference. */
    public boolean chunkIntervalGiven;
    /** Tables without a time column and with more (estimated) rows than this are split by primary-key ranges. */
    public long splitRows = 1_000_000;
    public final List<String> include = new ArrayList<>();
    public final List<String> exclude = new ArrayList<>();
    /** "schema.table" (unquoted names) -> time column to split on, overriding the automatic choice. */
    public final Map<String, String> timeColumns = new LinkedHashMap<>();
    public String pgDump = "pg_dump";
    public String pgRestore = "pg_restore";
    /** Read every chunk from one exported snapshot, so the copy is consistent across tables. */
    public boolean snapshot = true;
    public int progressSeconds = 10;
    /** Check every chunk (row count and a hash of every row) on both sides after the load. */
    public boolean verify = true;
    /** A chunk that fails after its retries: stop the migration (false), or record it and go on (true). */
    public boolean continueOnChunkError = false;
    /** Retries of a chunk after a lost connection or a restarting server, with exponential backoff. */
    public int retries = 5;
    public long retryDelayMs = 1000;
    public long maxRetryDelayMs = 30_000;
    /** How long a claim on a chunk lasts without renewal; a dead instance's chunks are taken over after it. */
    public int leaseSeconds = 60;
    /**
     * COPY format between the servers: auto (binary for tables of built-in types when both majors match, else
     * csv), csv (the procedure's; works across versions) or binary (faster; needs the same types on both sides).
     */
    public String copyFormat = "auto";
    /** Compress the chunk files in the work dir: none or gzip (for work dirs on slow disks). */
    public String compressFiles = "none";
    /**
     * Keep each chunk's file after its rows are committed on the target. By default it is deleted then: the work
     * dir holds only the chunks in flight and those exported but not loaded yet (which a resumed run loads).
     */
    public boolean keepFiles = false;
    /** Pipe COPY TO straight into COPY FROM, without files (faster; a retried chunk is read from the source again). */
    public boolean stream = false;
    /**
     * Sort memory for post-data's index builds, in all: split evenly across the restore jobs that run at once
     * (each job's maintenance_work_mem is this divided by the job count), so the target never gets more in total.
     */
    public String maintenanceWorkMem = "1GB";
    /** Where the YAML routes are read from; null means ./routes if present, else the copies inside the jar. */
    public Path routesDir;

    /** A plain table to turn into a hypertable on the target before loading (the procedure's create_hypertable step). */
    public static final class HypertableSpec {
        public String timeColumn;
        /** A PostgreSQL interval, e.g. "6 hours"; null lets TimescaleDB choose (7 days). */
        public String chunkInterval;

        public HypertableSpec(String timeColumn, String chunkInterval) {
            this.timeColumn = timeColumn;
            this.chunkInterval = chunkInterval;
        }
    }

    /** "schema.table" (unquoted) -> how to make it a hypertable on the target. */
    public final Map<String, HypertableSpec> hypertables = new LinkedHashMap<>();
    /** After loading a hypertable, compress on the target the ranges that were compressed on the source. */
    public boolean compressLikeSource = true;
    /** Steps to run, in the fixed order; empty means all. */
    public final java.util.Set<String> steps = new java.util.LinkedHashSet<>();
    public static final List<String> ALL_STEPS = List.of("preflight", "pre-data", "hypertables", "data", "post-data", "caggs",
            "policies", "analyze", "verify");

    public boolean runs(String step) {
        return steps.isEmpty() || steps.contains(step);
    }

    /** CLI only: forget this migration's saved progress and start over (the target must be empty again). */
    public boolean restart;
    /** CLI only: after a finished migration, copy the rows written to the source since (time above the high-water marks). */
    public boolean catchUp;
    /** CLI only: answer yes to the --restart question (needed when there is no terminal to ask on). */
    public boolean yes;

    /**
     * libpq's PGPASSWORD, for a source or target given no password in its URI or the job file: the lowest precedence,
     * as in libpq (a ~/.pgpass entry applies only where neither gives one). It then travels as any other password,
     * to pg_dump and pg_restore in their private passfile.
     *
     * @param env the environment (System.getenv(); a map in tests, which cannot set the JVM's)
     */
    public void usePgPassword(Map<String, String> env) {
        String password = env.get("PGPASSWORD");
        if (password == null || password.isEmpty()) return; // libpq too takes an empty one as none
        if (source != null && !source.hasPassword()) source = source.withPassword(password);
        if (target != null && !target.hasPassword()) target = target.withPassword(password);
    }

    public void validate() {
        if (workers < 1 || workers > 256) {
            throw new tsmigrate.run.UserError("workers must be between 1 and 256, not " + workers + ".",
                    "Pass --workers N; about twice the target's CPU count is a good start.");
        }
        if (splitRows < 1) {
            throw new tsmigrate.run.UserError("splitRows must be positive.", "Pass --split-rows N with N >= 1.");
        }
        if (!copyFormat.equals("auto") && !copyFormat.equals("csv") && !copyFormat.equals("binary")) {
            throw new tsmigrate.run.UserError("copyFormat must be auto, csv or binary, not '" + copyFormat + "'.",
                    "Pass --format auto, csv or binary.");
        }
        if (!compressFiles.equals("none") && !compressFiles.equals("gzip")) {
            throw new tsmigrate.run.UserError("compressFiles must be none or gzip, not '" + compressFiles + "'.", "Pass --compress-files none or gzip.");
        }
        if (retries < 0 || leaseSeconds < 3) {
            throw new tsmigrate.run.UserError("retries must be >= 0 and leaseSeconds >= 3.", "Fix the job file or the --retries/--lease flags.");
        }
        long mwm = MemorySize.parseKb(maintenanceWorkMem);
        if (mwm < MemorySize.MIN_KB || mwm > MemorySize.MAX_KB) {
            throw new tsmigrate.run.UserError("maintenanceWorkMem must be a memory size from 1MB to 2TB (e.g. 1GB, 512MB), not '"
                    + maintenanceWorkMem + "'.", "Fix maintenanceWorkMem in the job file or config/application.yaml.");
        }
        if (progressSeconds < 1) {
            throw new tsmigrate.run.UserError("progressSeconds must be at least 1.", "Pass --progress-interval N with N >= 1.");
        }
        // a negative pause would end a worker in the middle of a fault (Thread.sleep refuses it)
        if (retryDelayMs < 0 || maxRetryDelayMs < retryDelayMs || maxRetryDelayMs > 3_600_000) {
            throw new tsmigrate.run.UserError("retryDelayMs must be at least 0, and maxRetryDelayMs from retryDelayMs to 3600000 (an hour); not "
                    + retryDelayMs + " and " + maxRetryDelayMs + ".", "Fix retryDelayMs / maxRetryDelayMs in the job file or config/application.yaml.");
        }
    }
}
