package tsmigrate.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import tsmigrate.config.ConnInfo;
import tsmigrate.config.JobConfig;
import tsmigrate.config.JobFile;
import tsmigrate.demo.Demo;
import tsmigrate.plan.TableInfo;
import tsmigrate.run.Migration;
import tsmigrate.run.UserError;

/**
 * The command line. Exit codes: 0 success, 1 a step failed, 2 bad usage or input, 3 refused by a check
 * that protects the data (e.g. a non-empty target).
 */
@Command(name = "tsmigrate", mixinStandardHelpOptions = true, version = "tsmigrate 0.1.0",
        description = "Moves a PostgreSQL or TimescaleDB database into TimescaleDB: schema first, then data, chunk by chunk.",
        subcommands = {TsMigrate.MigrateCommand.class, TsMigrate.PlanCommand.class, TsMigrate.StatusCommand.class,
                TsMigrate.VerifyCommand.class, TsMigrate.ServeCommand.class, TsMigrate.DemoCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success", "1:a step failed", "2:bad usage or input", "3:refused (target not empty, ...)", "4:stopped on request (SIGTERM); run again to resume"})
public final class TsMigrate implements Callable<Integer> {
    public static final int OK = 0;
    public static final int FAILED = 1;
    public static final int USAGE = 2;
    public static final int REFUSED = 3;
    public static final int INTERRUPTED = 4;

    @Option(names = "--debug", description = "Show stack traces.", scope = CommandLine.ScopeType.INHERIT)
    boolean debug;

    @Override
    public Integer call() {
        CommandLine.usage(this, System.out);
        return USAGE;
    }

    public static void main(String[] args) {
        tsmigrate.report.Console.install();
        tsmigrate.report.HeapWatch.start();
        int code = run(args);
        Migration.exiting(code);
        System.exit(code);
    }

    public static int run(String... args) {
        CommandLine cl = new CommandLine(new TsMigrate());
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> handle(e, cmd.getErr(), cmd.getCommandSpec().root().userObject()));
        cl.setParameterExceptionHandler(TsMigrate::badArguments);
        return cl.execute(args);
    }

    /** picocli's usual answer to bad arguments, except that the arguments it quotes are masked: one may be a URI. */
    static int badArguments(CommandLine.ParameterException e, String[] args) {
        String message = e.getMessage();
        for (String a : args) {
            // picocli may quote the whole argument, or only the value after '=' of --option=value
            for (String part : new String[] {a, a.substring(a.indexOf('=') + 1)}) {
                String masked = ConnInfo.maskLoosely(part);
                if (!masked.equals(part)) message = message.replace(part, masked);
            }
        }
        PrintWriter err = e.getCommandLine().getErr();
        err.println(message);
        if (!CommandLine.UnmatchedArgumentException.printSuggestions(e, err)) e.getCommandLine().usage(err);
        err.flush();
        return USAGE;
    }

    static int handle(Exception e, PrintWriter err, Object root) {
        boolean debug = root instanceof TsMigrate t && t.debug;
        Throwable cause = e instanceof Migration.MigrationFailed mf ? mf.getCause() : e;
        String step = e instanceof Migration.MigrationFailed mf ? mf.step : null;
        if (cause instanceof Migration.Interrupted) {
            err.println(TableInfo.printable(cause.getMessage()));
            err.flush();
            return INTERRUPTED;
        }
        if (cause instanceof UserError ue) {
            err.println("error: " + TableInfo.printable(ue.getMessage()));
            if (ue.hint() != null) err.println("what to do: " + TableInfo.printable(ue.hint()));
            if (debug) ue.printStackTrace(err);
            err.flush();
            if (ue instanceof tsmigrate.run.Refusal) return REFUSED;
            return step == null || "preflight".equals(step) ? USAGE : FAILED;
        }
        err.println("error: " + (step != null ? "step " + step + " failed: " : "") + TableInfo.printable(String.valueOf(cause.getMessage())));
        if (debug) cause.printStackTrace(err);
        else err.println("(run with --debug for the stack trace)");
        err.flush();
        return FAILED;
    }

    /** config/application.yaml of the current folder, when there is one: every job's defaults. */
    static Path defaultConfig(Path given) {
        if (given != null) {
            if (!java.nio.file.Files.isReadable(given)) {
                throw new UserError("Cannot read the configuration " + given + ".", "Pass --config with a readable application.yaml.");
            }
            return given;
        }
        Path p = Path.of("config", "application.yaml");
        return java.nio.file.Files.isReadable(p) ? p : null;
    }

    /** Flags shared by the verbs that run a migration. */
    static class JobOptions {
        @Option(names = "--config", paramLabel = "FILE", description = "Defaults for every job (default: config/application.yaml if present).")
        Path config;
        @Option(names = "--job", paramLabel = "FILE", description = "Job YAML file; flags given on the command line win over it.")
        Path job;
        @Option(names = "--source", paramLabel = "URI", description = "Source: postgresql://user:pass@host:port/db?sslmode=...")
        String source;
        @Option(names = "--target", paramLabel = "URI", description = "Target: postgresql://user:pass@host:port/db?sslmode=...")
        String target;
        @Option(names = "--work-dir", paramLabel = "DIR", description = "Where the dumps, plan and chunk files go (default ./tsmigrate-work).")
        Path workDir;
        @Option(names = "--workers", paramLabel = "N", description = "Parallel export/load workers and post-data restore jobs (default 4).")
        Integer workers;
        @Option(names = "--chunk-interval", paramLabel = "INTERVAL", description = "Time range per chunk, e.g. '1 day', '6 hours' (default 1 day).")
        String chunkInterval;
        @Option(names = "--split-rows", paramLabel = "N", description = "Tables without a time column and with more rows than this are split by primary key (default 1000000).")
        Long splitRows;
        @Option(names = "--include", paramLabel = "PATTERN", description = "Copy data only of tables matching schema.table (globs * ?); repeatable.")
        List<String> include = new ArrayList<>();
        @Option(names = "--exclude", paramLabel = "PATTERN", description = "Do not copy data of tables matching schema.table; repeatable.")
        List<String> exclude = new ArrayList<>();
        @Option(names = "--time-column", paramLabel = "TABLE=COLUMN", description = "Split TABLE (schema.table) on COLUMN; repeatable.")
        Map<String, String> timeColumns = new LinkedHashMap<>();
        @Option(names = "--pg-dump", paramLabel = "PATH", description = "pg_dump to use (default: pg_dump on PATH).")
        String pgDump;
        @Option(names = "--pg-restore", paramLabel = "PATH", description = "pg_restore to use (default: pg_restore on PATH).")
        String pgRestore;
        @Option(names = "--no-snapshot", description = "Do not read the source through one exported snapshot.")
        boolean noSnapshot;
        @Option(names = "--progress-interval", paramLabel = "SECONDS", description = "Seconds between progress lines (default 10).")
        Integer progressSeconds;
        @Option(names = "--routes", paramLabel = "DIR", description = "Folder of the step routes (default ./routes if present, else built-in).")
        Path routes;
        @Option(names = "--no-verify", description = "Skip the per-chunk row count and row-hash comparison after the load.")
        boolean noVerify;
        @Option(names = "--retries", paramLabel = "N", description = "Retries of a chunk after a lost connection (default 5), with exponential backoff.")
        Integer retries;
        @Option(names = "--on-chunk-error", paramLabel = "stop|continue", description = "After a chunk's retries: stop the migration (default) or go on with the others.")
        String onChunkError;
        @Option(names = "--steps", paramLabel = "LIST", split = ",",
                description = "Run only these steps, always in this order: preflight, pre-data, hypertables, data, post-data, caggs, policies, analyze, verify.")
        List<String> steps = new ArrayList<>();
        @Option(names = "--hypertable", paramLabel = "TABLE=COLUMN[:INTERVAL]",
                description = "Make schema.table a hypertable on the target, on COLUMN, with chunks of INTERVAL (e.g. public.metrics=time:6 hours); repeatable.")
        Map<String, String> hypertables = new LinkedHashMap<>();
        @Option(names = "--format", paramLabel = "auto|csv|binary",
                description = "COPY format (default auto: binary for tables of built-in types when source and target have the same major version, else csv).")
        String copyFormat;
        @Option(names = "--compress-files", paramLabel = "none|gzip", description = "Compress the chunk files in the work dir (default none).")
        String compressFiles;
        @Option(names = "--stream", description = "Pipe each chunk from source to target without files.")
        boolean stream;
        @Option(names = "--keep-files", description = "Keep the chunk files once loaded (by default each is deleted when its rows are committed on the target).")
        boolean keepFiles;
        @Option(names = "--lease", paramLabel = "SECONDS", description = "How long a claim on a chunk lasts without renewal (default 60).")
        Integer leaseSeconds;

        JobConfig toConfig() {
            JobConfig cfg = new JobConfig();
            Path defaults = defaultConfig(config);
            if (defaults != null) JobFile.apply(defaults, cfg, true);
            if (job != null) JobFile.apply(job, cfg);
            if (source != null) cfg.source = ConnInfo.parse("source", source);
            if (target != null) cfg.target = ConnInfo.parse("target", target);
            if (cfg.source == null) ConnInfo.parse("source", null);
            if (cfg.target == null) ConnInfo.parse("target", null);
            cfg.usePgPassword(System.getenv());
            if (workDir != null) cfg.workDir = workDir;
            if (workers != null) cfg.workers = workers;
            if (chunkInterval != null) {
                cfg.chunkInterval = chunkInterval;
                cfg.chunkIntervalGiven = true;
            }
            if (splitRows != null) cfg.splitRows = splitRows;
            cfg.include.addAll(include);
            cfg.exclude.addAll(exclude);
            cfg.timeColumns.putAll(timeColumns);
            if (pgDump != null) cfg.pgDump = pgDump;
            if (pgRestore != null) cfg.pgRestore = pgRestore;
            if (noSnapshot) cfg.snapshot = false;
            if (progressSeconds != null) cfg.progressSeconds = progressSeconds;
            if (routes != null) cfg.routesDir = routes;
            if (noVerify) cfg.verify = false;
            if (retries != null) cfg.retries = retries;
            if (onChunkError != null) cfg.continueOnChunkError = JobFile.onChunkError(onChunkError);
            if (leaseSeconds != null) cfg.leaseSeconds = leaseSeconds;
            if (copyFormat != null) cfg.copyFormat = copyFormat;
            if (compressFiles != null) cfg.compressFiles = compressFiles;
            if (keepFiles) cfg.keepFiles = true;
            if (stream) cfg.stream = true;
            if (!steps.isEmpty()) {
                cfg.steps.clear();
                for (String s : steps) cfg.steps.add(JobFile.step(s.strip()));
            }
            hypertables.forEach((table, spec) -> {
                int colon = spec.indexOf(':');
                cfg.hypertables.put(table, new JobConfig.HypertableSpec(colon < 0 ? spec : spec.substring(0, colon),
                        colon < 0 ? null : spec.substring(colon + 1)));
            });
            return cfg;
        }
    }

    @Command(name = "migrate", mixinStandardHelpOptions = true,
            description = {"Run the whole procedure: preflight, pre-data, plan, data (export and load), post-data, sequences,"
                    + " analyze, verify.", "Running it again with the same source and target resumes where it stopped."})
    static class MigrateCommand implements Callable<Integer> {
        @CommandLine.Mixin
        JobOptions options;
        @Option(names = "--restart", description = "Forget this migration's saved progress and start over (asks first; the target must be empty again).")
        boolean restart;
        @Option(names = "--yes", description = "Answer yes to the --restart question.")
        boolean yes;
        @Option(names = "--catch-up", description = "After a finished migration: copy the rows written to the source since (time above each table's high-water mark).")
        boolean catchUp;
        @Option(names = "--dry-run", description = "Show what would happen (the plan verb) and write nothing.")
        boolean dryRun;

        @Override
        public Integer call() throws Exception {
            JobConfig cfg = options.toConfig();
            cfg.restart = restart;
            cfg.yes = yes;
            cfg.catchUp = catchUp;
            if (dryRun) { // says what --restart or --catch-up would do
                tsmigrate.plan.DryRun.print(cfg, System.out);
                return OK;
            }
            Migration.run(cfg);
            return OK;
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true,
            description = "Show a migration's progress from its state on the target: steps, and per table chunks done, rows, bytes, last error.")
    static class StatusCommand implements Callable<Integer> {
        @CommandLine.Mixin
        JobOptions options;

        @Override
        public Integer call() throws Exception {
            return tsmigrate.state.Status.print(options.toConfig(), System.out) ? OK : FAILED;
        }
    }

    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = {"Compare every copied chunk again, now: row count and a 64-bit hash of every row, on both sides.",
                    "Exits 1 and names the table and range of any difference."})
    static class VerifyCommand implements Callable<Integer> {
        @CommandLine.Mixin
        JobOptions options;

        @Override
        public Integer call() throws Exception {
            return tsmigrate.verify.VerifyAll.run(options.toConfig()) ? OK : FAILED;
        }
    }

    @Command(name = "serve", mixinStandardHelpOptions = true,
            description = {"Watch an inbox folder: each job YAML dropped there runs as a migration.",
                    "It moves to .processing/, then done/ (with its report) or failed/ (with <job>.error.txt)."})
    static class ServeCommand implements Callable<Integer> {
        @Option(names = "--inbox", paramLabel = "DIR", description = "The folder to watch (default: serve.inbox in the config, else ./inbox).")
        Path inbox;
        @Option(names = "--concurrent-jobs", paramLabel = "N", description = "Migrations that run at once (default 1).")
        Integer concurrentJobs;
        @Option(names = "--port", paramLabel = "PORT", description = "Serve health and Prometheus metrics under /observe on this port (default: serve.port, else off).")
        Integer port;
        @Option(names = "--host", paramLabel = "ADDR", description = "The address --port listens on (default: serve.host, else 127.0.0.1; 0.0.0.0 for every interface).")
        String host;
        @Option(names = "--config", paramLabel = "FILE", description = "Defaults for every job (default: config/application.yaml if present).")
        Path config;
        @Option(names = "--routes", paramLabel = "DIR", description = "Folder of the routes (default ./routes if present, else built-in).")
        Path routes;

        @Override
        public Integer call() throws Exception {
            Path defaults = defaultConfig(config);
            Map<String, Object> serve = defaults == null ? Map.of() : JobFile.serveSettings(defaults);
            Path in = inbox != null ? inbox : Path.of(String.valueOf(serve.getOrDefault("inbox", "inbox")));
            int jobs = concurrentJobs != null ? concurrentJobs : ((Number) serve.getOrDefault("concurrentJobs", 1)).intValue();
            int p = port != null ? port : ((Number) serve.getOrDefault("port", 0)).intValue();
            String h = host != null ? host : String.valueOf(serve.getOrDefault("host", "127.0.0.1"));
            tsmigrate.serve.Server.run(in, jobs, defaults, routes, h, p);
            return OK;
        }
    }

    @Command(name = "plan", mixinStandardHelpOptions = true,
            description = "Show what migrate would do (tables, chunks, estimated rows and bytes, steps) without writing anything.")
    static class PlanCommand implements Callable<Integer> {
        @CommandLine.Mixin
        JobOptions options;

        @Override
        public Integer call() throws Exception {
            tsmigrate.plan.DryRun.print(options.toConfig(), System.out);
            return OK;
        }
    }

    @Command(name = "demo", mixinStandardHelpOptions = true,
            description = "Start two throwaway PostgreSQL 15 servers, fill one with time-series data, migrate it, and check every row.")
    static class DemoCommand implements Callable<Integer> {
        @Option(names = "--rows", paramLabel = "N", description = "Rows in the largest table (default 2000000).")
        long rows = 2_000_000;
        @Option(names = "--workers", paramLabel = "N", description = "Workers (default 4).")
        int workers = 4;
        @Option(names = "--work-dir", paramLabel = "DIR", description = "Work dir (default: a new temporary folder).")
        Path workDir;

        @Override
        public Integer call() throws Exception {
            return Demo.run(rows, workers, workDir) ? OK : FAILED;
        }
    }
}
