package tsmigrate.serve;

import java.nio.file.Files;
import java.nio.file.Path;

import org.apache.camel.main.Main;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import tsmigrate.run.UserError;

/** The serve verb: a long-running camel-main application watching an inbox for job files. */
public final class Server {
    private static final Logger LOG = LoggerFactory.getLogger("tsmigrate.serve");

    private Server() {
    }

    /** Blocks until the JVM is asked to stop (SIGTERM, Ctrl-C). */
    public static void run(Path inbox, int concurrentJobs, Path defaults, Path routesDir, String host, int port) throws Exception {
        Main main = configure(inbox, concurrentJobs, defaults, routesDir, host, port);
        LOG.info("watching {} for job files ({} at a time){}", inbox.toAbsolutePath(), concurrentJobs,
                port > 0 ? "; health and metrics on http://" + host + ":" + port + "/observe" : "");
        // A stop (SIGTERM) is serve's normal end: exit 0 once its jobs are put back, as when jobs were running.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                tsmigrate.run.Migration.haltWithCliCode(10, java.util.concurrent.TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "tsmigrate-serve-stop"));
        main.run();
    }

    /** The inboxes this process serves, each held by an OS lock on its .serve.lock for as long as the process lives. */
    private static final java.util.Map<Path, java.nio.channels.FileLock> HELD = new java.util.concurrent.ConcurrentHashMap<>();

    /** One serve per inbox: refuses when another process (or this one) already watches it. */
    static void holdInbox(Path inbox) throws java.io.IOException {
        Path real = inbox.toRealPath();
        if (HELD.containsKey(real)) throw anotherServe(inbox);
        java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(real.resolve(".serve.lock"),
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
        java.nio.channels.FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (java.nio.channels.OverlappingFileLockException e) {
            lock = null;
        }
        if (lock == null) {
            ch.close();
            throw anotherServe(inbox);
        }
        HELD.put(real, lock); // kept open: the lock ends with the process, however it ends
    }

    private static UserError anotherServe(Path inbox) {
        return new UserError("Another serve is watching the inbox " + inbox.toAbsolutePath() + ".",
                "Stop it first, or give this one another --inbox: two would take each other's running jobs.");
    }

    public static Main configure(Path inbox, int concurrentJobs, Path defaults, Path routesDir, String host, int port) throws Exception {
        if (concurrentJobs < 1) throw new UserError("concurrentJobs must be at least 1.", "Pass --concurrent-jobs N with N >= 1.");
        Jobs.ensureDirs(inbox);
        holdInbox(inbox); // before taking anything from .processing/: those could be another serve's running jobs
        Jobs.requeueInterrupted(inbox);
        if (defaults != null && !Files.isReadable(defaults)) {
            throw new UserError("Cannot read the configuration " + defaults + ".", "Pass --config with a readable application.yaml.");
        }
        Main main = new Main();
        Path dir = routesDir != null ? routesDir : Path.of("routes");
        main.configure().withRoutesIncludePattern(Files.isDirectory(dir.resolve("serve"))
                ? "file:" + dir.toAbsolutePath().normalize() + "/serve/*.yaml" : tsmigrate.run.BundledRoutes.pattern("routes/serve"));
        main.configure().withName("tsmigrate-serve");
        main.addInitialProperty("tsmigrate.inbox", inbox.toAbsolutePath().normalize().toString());
        main.addInitialProperty("tsmigrate.concurrentJobs", String.valueOf(concurrentJobs));
        if (port > 0) {
            // Camel's management server: /observe/health and /observe/metrics (Prometheus).
            main.addInitialProperty("camel.management.enabled", "true");
            main.addInitialProperty("camel.management.port", String.valueOf(port));
            // loopback unless told otherwise: the metrics name the jobs and their tables
            main.addInitialProperty("camel.management.host", host);
            main.addInitialProperty("camel.management.healthCheckEnabled", "true");
            main.addInitialProperty("camel.management.metricsEnabled", "true");
            main.addInitialProperty("camel.metrics.enabled", "true");
        }
        main.bind("jobs", new Jobs(inbox, defaults));
        // The migrations count rows, bytes and chunks on Micrometer's global registry: publish it through Camel's.
        main.addMainListener(new org.apache.camel.main.MainListenerSupport() {
            @Override
            public void afterStart(org.apache.camel.main.BaseMainSupport m) {
                io.micrometer.core.instrument.MeterRegistry r =
                        m.getCamelContext().getRegistry().findSingleByType(io.micrometer.core.instrument.MeterRegistry.class);
                if (r != null) io.micrometer.core.instrument.Metrics.addRegistry(r);
            }
        });
        return main;
    }
}
