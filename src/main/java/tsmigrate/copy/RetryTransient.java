package tsmigrate.copy;

import org.apache.camel.Exchange;
import org.apache.camel.Predicate;

/** The per-chunk routes' retryWhile: retry lost connections and restarting servers, up to the configured count. */
public class RetryTransient implements Predicate {
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
        return retry <= retries && Faults.isTransient(e);
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
