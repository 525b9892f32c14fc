package tsmigrate.run;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.main.Main;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import tsmigrate.analyze.Analyze;
import tsmigrate.config.JobConfig;
import tsmigrate.copy.CopyStep;
import tsmigrate.plan.Planner;
import tsmigrate.preflight.Preflight;
import tsmigrate.report.Summary;
import tsmigrate.schema.SchemaStep;
import tsmigrate.sequences.SequenceSync;

/**
 * Runs one migration: boots a camel-main application with the step beans bound and the YAML routes loaded,
 * sends the run through direct:migrate, and shuts Camel down again.
 */
public final class Migration {
    private static final Logger LOG = LoggerFactory.getLogger("tsmigrate");

    /** The exit code the CLI settled on, handed to a stop hook that is waiting for it. */
    private static final java.util.concurrent.BlockingQueue<Integer> EXIT = new java.util.concurrent.ArrayBlockingQueue<>(1);

    private Migration() {
    }

    /** Called by the CLI just before it exits. */
    public static void exiting(int code) {
        EXIT.offer(code);
    }

    /**
     * For a stop hook: waits for the CLI's exit code, then ends the JVM with it rather than the 143 a SIGTERM
     * would leave. Returns (and the JVM ends as it would) when the CLI has not settled on one in time.
     */
    public static void haltWithCliCode(long timeout, java.util.concurrent.TimeUnit unit) throws InterruptedException {
        Integer code = EXIT.poll(timeout, unit);
        if (code != null) Runtime.getRuntime().halt(code);
    }

    /** Where the routes come from: the configured dir, else ./routes, else the copies inside the jar. */
    public static String routesPattern(JobConfig cfg) {
        Path dir = cfg.routesDir != null ? cfg.routesDir : Path.of("routes");
        if (cfg.routesDir != null && !Files.isDirectory(dir)) {
            throw new UserError("The routes dir " + dir + " does not exist.", "Pass --routes with the folder holding the step YAML files.");
        }
        if (Files.isDirectory(dir) && Files.exists(dir.resolve("00-migrate.yaml"))) {
            return "file:" + dir.toAbsolutePath().normalize() + "/*.yaml";
        }
        return BundledRoutes.pattern("routes");
    }

    /** Runs the migration; returns normally only when every step succeeded. */
    public static MigrationRun run(JobConfig cfg) throws Exception {
        cfg.validate();
        MigrationRun run = new MigrationRun(cfg);
        CopyStep copy = new CopyStep();
        tsmigrate.verify.Verifier verifier = new tsmigrate.verify.Verifier();
        AtomicInteger n = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(cfg.workers, r -> new Thread(r, "worker-" + n.incrementAndGet()));
        Main main = new Main();
        main.configure().withRoutesIncludePattern(routesPattern(cfg));
        main.configure().withName("tsmigrate");
        main.configure().withJmxEnabled(false);
        main.bind("steps", new Steps());
        main.bind("preflight", new Preflight());
        main.bind("schema", new SchemaStep());
        main.bind("planner", new Planner());
        main.bind("copy", copy);
        main.bind("sequences", new SequenceSync());
        main.bind("largeObjects", new tsmigrate.largeobjects.LargeObjects());
        main.bind("analyze", new Analyze());
        main.bind("verifier", verifier);
        main.bind("catchUp", new tsmigrate.plan.CatchUp());
        main.bind("timescale", new tsmigrate.timescale.TimescaleSteps());
        main.bind("retryTransient", new tsmigrate.copy.RetryTransient(cfg.retries));
        main.bind("copyPool", pool);
        main.addInitialProperty("tsmigrate.retries", String.valueOf(cfg.retries));
        main.addInitialProperty("tsmigrate.retryDelayMs", String.valueOf(cfg.retryDelayMs));
        main.addInitialProperty("tsmigrate.maxRetryDelayMs", String.valueOf(cfg.maxRetryDelayMs));
        // SIGTERM is ours to handle: finish the chunks in flight, then stop (see the hook below).
        main.setShutdownStrategy(new org.apache.camel.main.SimpleMainShutdownStrategy());
        java.util.concurrent.CountDownLatch finished = new java.util.concurrent.CountDownLatch(1);
        Thread hook = new Thread(() -> {
            run.requestStop();
            LOG.warn("stop requested: finishing the chunks in flight, or ending the schema dump or restore, then stopping"
                    + " (run the same command again to resume)");
            try {
                finished.await(10, java.util.concurrent.TimeUnit.MINUTES);
                // Let the CLI print why it stopped, then end with its exit code rather than the JVM's 143.
                haltWithCliCode(30, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "tsmigrate-stop");
        try {
            Runtime.getRuntime().addShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // asked to stop before it began (serve: a job still queued when SIGTERM came): nothing to undo
            pool.shutdownNow();
            run.state.close();
            throw new Interrupted();
        }
        long t0 = System.currentTimeMillis();
        // While Camel starts (~0.5 s of CPU), open the first connections and find pg_dump and pg_restore, on the
        // other core: preflight then finds them ready. A failure waits for preflight, which reports it as ever.
        if (cfg.source != null && cfg.target != null) {
            tsmigrate.db.Pg.prewarm("source", cfg.source);
            tsmigrate.db.Pg.prewarm("target", cfg.target);
        }
        if (run.runs("pre-data") || run.runs("post-data")) {
            run.pgDumpLookup = tsmigrate.schema.PgTool.locateAsync("pg_dump", cfg.pgDump);
            run.pgRestoreLookup = tsmigrate.schema.PgTool.locateAsync("pg_restore", cfg.pgRestore);
        }
        try {
            main.start();
            CamelContext ctx = main.getCamelContext();
            try (ProducerTemplate producer = ctx.createProducerTemplate()) {
                Exchange ex = producer.send(cfg.catchUp ? "direct:catch-up" : "direct:migrate", e -> e.setProperty("run", run));
                if (ex.getException() != null) {
                    Throwable cause = unwrap(ex.getException());
                    String step = run.currentStep();
                    // A step that failed while a stop was requested was most likely stopped by it: Ctrl-C at a
                    // terminal also reaches pg_dump and pg_restore, which may exit with an error before we stop them.
                    if (cause instanceof Interrupted || run.stopping) {
                        recordEnd(run, step, "stopped on request");
                        if (step == null) LOG.warn("stopped on request, between two steps");
                        else LOG.warn("step {}: stopped on request", step);
                        LOG.debug("step {} ended with: {}", step, cause.toString());
                        writeReport(run, System.currentTimeMillis() - t0);
                        throw cause instanceof Interrupted stop ? stop : new Interrupted();
                    }
                    // A lost server may be the target itself: then the record waits for the connect timeout, at most
                    // a few seconds here. A lost source leaves the target to record it, and status tells it.
                    if (tsmigrate.copy.Faults.isTransient(cause)) recordEndWithin(run, step, String.valueOf(cause.getMessage()), 5);
                    else recordEnd(run, step, String.valueOf(cause.getMessage()));
                    LOG.error("step {}: failed after {}", step == null ? "?" : step,
                            step == null ? "" : Durations.format(System.currentTimeMillis() - run.stepTimes().get(step)[0]));
                    writeReport(run, System.currentTimeMillis() - t0);
                    throw new MigrationFailed(step, cause);
                }
            }
            // Every step ran to its end: a stop that came in the last one had nothing left to stop.
            if (run.stopping) LOG.info("stop requested, but every step had already finished");
            noteRetries(run);
            Summary.print(run, System.currentTimeMillis() - t0);
            writeReport(run, System.currentTimeMillis() - t0);
            return run;
        } finally {
            copy.close();
            verifier.close();
            run.releaseSnapshot();
            pool.shutdownNow();
            main.stop();
            // Last, after the workers were told to stop: from here this run's claims are a dead instance's, for this
            // process's next run to take (a worker still finishing a COPY then loses its claim and rolls back), and
            // another migration may have the work dir if no chunk file is left.
            run.state.close();
            if (run.workDirLease != null) run.workDirLease.close();
            tsmigrate.db.Pg.closeIdleConnections();
            finished.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException alreadyShuttingDown) {
                // the hook is running: it is waiting for this very countDown
            }
        }
    }

    /**
     * A step that ended the run is recorded as failed, with why (a stop too: 'failed' makes a schema step redo its
     * work), so that status does not show it 'running' like a live run's. Best effort: the target may be what failed.
     */
    private static void recordEnd(MigrationRun run, String step, String why) {
        if (step == null) return;
        try (java.sql.Connection c = run.state.connect()) {
            // A step done before it failed keeps 'done': its work stands (a plan marked failed would be made again,
            // and its chunks copied again, twice on the target).
            if (run.state.exists(c) && !"done".equals(run.state.stepStatus(c, step))) run.state.stepFailed(c, step, why);
        } catch (Exception e) {
            LOG.debug("cannot record how step {} ended: {}", step, e.toString());
        }
    }

    /** recordEnd, given up after that many seconds (on a daemon thread, which then ends on its own). */
    private static void recordEndWithin(MigrationRun run, String step, String why, int seconds) {
        Thread t = new Thread(() -> recordEnd(run, step, why), "tsmigrate-record-end");
        t.setDaemon(true);
        t.start();
        try {
            t.join(seconds * 1000L);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (t.isAlive()) LOG.debug("step {}: its end not recorded within {} s; the target may be what was lost", step, seconds);
    }

    /** The run's retries, as one warning for the summary and the report (once: the count is taken). */
    private static void noteRetries(MigrationRun run) {
        int retries = run.retries.getAndSet(0);
        if (retries > 0) {
            run.warn(retries + " retr" + (retries == 1 ? "y" : "ies") + " after a lost connection or a restarting server, all"
                    + " recovered unless the run failed (each is in the log)");
        }
    }

    /** report.md and report.html in the work dir, for a finished or a failed run alike. */
    private static void writeReport(MigrationRun run, long totalMs) {
        noteRetries(run);
        try {
            if (java.nio.file.Files.isDirectory(run.workDir.root())) tsmigrate.report.Report.write(run, totalMs);
        } catch (Exception e) {
            run.warn("cannot write the report: " + e.getMessage());
        }
    }

    /** Camel wraps bean failures; the user needs the innermost one that says something. */
    static Throwable unwrap(Throwable t) {
        Throwable cur = t;
        while (cur.getCause() != null && (cur instanceof org.apache.camel.CamelExecutionException
                || cur instanceof org.apache.camel.RuntimeCamelException
                || cur.getClass().getName().startsWith("org.apache.camel")
                || cur instanceof java.lang.reflect.InvocationTargetException)) {
            cur = cur.getCause();
        }
        return cur;
    }

    /** The run was asked to stop (SIGTERM) and did, cleanly; the next run resumes. */
    public static final class Interrupted extends RuntimeException {
        public Interrupted() {
            super("stopped on request; chunks in flight were finished or rolled back, a schema restore cut short is redone."
                    + " Run the same command again to resume.");
        }
    }

    /** A migration that stopped in a step; carries the step and the reason. */
    public static final class MigrationFailed extends Exception {
        public final String step;

        MigrationFailed(String step, Throwable cause) {
            super(cause.getMessage(), cause);
            this.step = step;
        }
    }
}
