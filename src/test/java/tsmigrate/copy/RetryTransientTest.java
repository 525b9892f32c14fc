package tsmigrate.copy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.SQLException;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.camel.CamelContext;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.PredicateToExpressionAdapter;
import org.junit.jupiter.api.Test;

import tsmigrate.config.JobConfig;

/** retries N means N retries after the first attempt, as in Camel's redelivery that the chunk routes use. */
class RetryTransientTest {
    private static int attempts(int retries, SQLException failure) throws Exception {
        AtomicInteger calls = new AtomicInteger();
        try (CamelContext ctx = new DefaultCamelContext()) {
            ctx.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    errorHandler(defaultErrorHandler().retryWhile(new PredicateToExpressionAdapter(new RetryTransient(retries))).maximumRedeliveries(retries)
                            .redeliveryDelay(0).logExhausted(false).logRetryAttempted(false));
                    from("direct:chunk").process(e -> {
                        calls.incrementAndGet();
                        throw failure;
                    });
                }
            });
            ctx.start();
            ctx.createProducerTemplate().send("direct:chunk", e -> { });
        }
        return calls.get();
    }

    @Test
    void aLostConnectionIsTriedOncePlusItsRetries() throws Exception {
        SQLException refused = new SQLException("Connection to 127.0.0.1:5432 refused", "08001");
        assertEquals(1, attempts(0, refused));
        assertEquals(2, attempts(1, refused));
        assertEquals(4, attempts(3, refused));
    }

    @Test
    void otherErrorsAreNotRetried() throws Exception {
        assertEquals(1, attempts(3, new SQLException("new row violates check constraint", "23514")));
    }

    @Test
    void theClaimsBackoffDoublesUpToTheMaximum() {
        JobConfig cfg = new JobConfig();
        cfg.retryDelayMs = 1000;
        cfg.maxRetryDelayMs = 5000;
        assertEquals(1000, RetryTransient.delayMs(cfg, 1));
        assertEquals(2000, RetryTransient.delayMs(cfg, 2));
        assertEquals(4000, RetryTransient.delayMs(cfg, 3));
        assertEquals(5000, RetryTransient.delayMs(cfg, 4));
        assertEquals(5000, RetryTransient.delayMs(cfg, 40));
    }
}
