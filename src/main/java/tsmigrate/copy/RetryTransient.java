package tsmigrate.copy;

import org.apache.camel.Exchange;
import org.apache.camel.Predicate;

/** The per-chunk routes' retryWhile: retry lost connections and restarting servers, up to the configured count. */
public class RetryTransient implements Predicate {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger("tsmigrate");
    private final int retries;

    public RetryTransient(int retries) {
        this.retries = retries;
    }

    @Override
    public boolean matches(Exchange exchange) {
        Throwable e = exchange.getException() != null ? exchange.getException()
                : exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        // Camel counts the redelivery it is about to make (1 for the first retry) before it asks here
        int retry = exchange.getIn().getHeader(Exchange.REDELIVERY_COUNTER, 0, Integer.class);
        boolean again = retry <= retries && Faults.isTransient(e);
        // Told here, in words, and only for a retry (Camel's own line came for every failure, retried or not):
        // an error that ends the chunk is told once, by the run.
        if (again) {
            Object body = exchange.getIn().getBody();
            tsmigrate.run.MigrationRun run = exchange.getProperty("run", tsmigrate.run.MigrationRun.class);
            String what = body instanceof tsmigrate.plan.Chunk ? body.toString()
                    : "step " + (run != null && run.currentStep() != null ? run.currentStep() : exchange.getFromRouteId());
            LOG.warn("{}: {}; retrying ({} of {})", what, Faults.firstLine(e), retry, retries);
            if (run != null) run.retries.incrementAndGet();
        }
        return again;
    }

    /**
     * The pause before retry number {@code retry} (1, 2, ...) where Camel does not redeliver (claiming a chunk): as the
     * routes' redelivery policy, retryDelayMs doubled at each retry, at most maxRetryDelayMs.
     */
    static long delayMs(tsmigrate.config.JobConfig cfg, int retry) {
        long delay = cfg.retryDelayMs;
        for (int i = 1; i < retry && delay < cfg.maxRetryDelayMs; i++) delay *= 2;
        return Math.min(delay, cfg.maxRetryDelayMs);
    }
}
