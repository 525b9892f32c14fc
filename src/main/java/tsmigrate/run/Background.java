package tsmigrate.run;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.function.Supplier;

/** Work beside a step (progress lines, lease renewal, pumps, connections opened early), on daemon threads: it never keeps the JVM up. */
public final class Background {
    private Background() {
    }

    /** Periodic work on one daemon thread of that name. */
    public static ScheduledExecutorService timer(String threadName) {
        return Executors.newSingleThreadScheduledExecutor(threads(() -> threadName));
    }

    /** Daemon threads, each named by the next value of {@code names}. */
    public static ThreadFactory threads(Supplier<String> names) {
        return r -> {
            Thread t = new Thread(r, names.get());
            t.setDaemon(true);
            return t;
        };
    }

    /** The future's value, or the exception or error it failed with, as the work itself would have thrown it. */
    public static <T> T join(CompletableFuture<T> f) {
        try {
            return f.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error err) throw err;
            throw e;
        }
    }
}
