package tsmigrate.run;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/** Periodic work beside a step (progress lines, lease renewal): one daemon thread, so it never keeps the JVM up. */
public final class Timers {
    private Timers() {
    }

    public static ScheduledExecutorService daemon(String threadName) {
        return Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            return t;
        });
    }
}
