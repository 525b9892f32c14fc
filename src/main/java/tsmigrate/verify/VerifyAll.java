package tsmigrate.verify;

import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import tsmigrate.config.JobConfig;
import tsmigrate.plan.Chunk;
import tsmigrate.run.MigrationRun;
import tsmigrate.run.StepFailure;
import tsmigrate.run.UserError;

/**
 * The verify verb: recomputes every copied chunk's fingerprint on both sides now. Meant for a source that
 * is no longer written to; on a live source, rows changed since the copy show up as differences.
 */
public final class VerifyAll {
    private VerifyAll() {
    }

    /** The tables the source no longer has: their chunks have nothing to be compared with (kept 'gone' here, not saved). */
    private static List<String> passOverDroppedTables(MigrationRun run) throws java.sql.SQLException {
        java.util.Set<tsmigrate.plan.TableInfo> dropped;
        try (Connection src = tsmigrate.db.Pg.connect("source", run.cfg.source)) {
            dropped = new java.util.HashSet<>(tsmigrate.plan.Planner.notOnSource(src, run.getTables()));
        }
        for (Chunk ch : run.getChunks()) {
            if (dropped.contains(ch.table) && !ch.state.equals("planned") && !ch.state.equals("exported")) ch.state = "gone";
        }
        return run.getTables().stream().filter(dropped::contains).map(tsmigrate.plan.TableInfo::qualified).toList();
    }

    public static boolean run(JobConfig cfg) throws Exception {
        MigrationRun run = new MigrationRun(cfg);
        try (Connection c = run.state.connect()) {
            if (!run.state.exists(c)) {
                throw new UserError("The target " + cfg.target.masked() + " holds no state of a migration from " + cfg.source.masked() + ".",
                        "Check --source and --target: they must be the ones given to migrate.");
            }
            run.state.loadPlan(c, run.workDir.root(), run.getTables(), run.getChunks());
        }
        List<String> dropped = passOverDroppedTables(run);
        if (!dropped.isEmpty()) {
            System.out.println("verify: " + dropped.size() + " table(s) of the plan are no longer on the source (dropped, or renamed), so their"
                    + " copied rows are not compared: " + UserError.someOf(dropped) + (dropped.size() > 5 ? ", ..." : ""));
        }
        Verifier v = new Verifier(true);
        v.track(run);
        ExecutorService pool = Executors.newFixedThreadPool(cfg.workers);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (Chunk ch : run.getChunks()) done.add(pool.submit(() -> {
                v.chunk(run, ch);
                return null;
            }));
            for (Future<?> f : done) f.get();
        } catch (Exception e) {
            v.close();
            // what failed, not the executor's wrapping of it ("java.sql.SQLException: ...")
            if (e instanceof java.util.concurrent.ExecutionException && e.getCause() instanceof Exception cause) throw cause;
            throw e;
        } finally {
            pool.shutdownNow();
        }
        long notCopied = run.getChunks().stream().filter(ch -> ch.state.equals("planned") || ch.state.equals("exported")).count();
        try {
            v.end(run);
        } catch (StepFailure e) {
            System.out.println("verify: " + e.getMessage());
            // status shows the step as this check left it, beside the chunks it marked
            try (Connection c = run.state.connect()) {
                run.state.stepFailed(c, "verify", e.getMessage());
            }
            return false;
        }
        long objectsNotCopied = v.largeObjectsNotCopied();
        System.out.println("verify: " + run.stepCounts().get("verify") + (notCopied > 0 ? "; " + notCopied + " chunk(s) not copied yet" : "")
                + (objectsNotCopied > 0 ? "; " + objectsNotCopied + " large object(s) not copied yet" : "")
                + ". Source and target are equal in every copied chunk" + (objectsNotCopied > 0 || run.stepCounts().get("verify").contains("large object")
                        ? " and large object." : "."));
        return notCopied == 0 && objectsNotCopied == 0;
    }
}
