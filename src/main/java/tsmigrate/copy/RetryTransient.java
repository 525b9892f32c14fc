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
        int attempt = exchange.getIn().getHeader(Exchange.REDELIVERY_COUNTER, 0, Integer.class);
        return attempt < retries && Faults.isTransient(e);
    }
}
