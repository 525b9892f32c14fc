package tsmigrate.report;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

import javax.management.NotificationEmitter;
import javax.management.openmbean.CompositeData;

import com.sun.management.GarbageCollectionNotificationInfo;

/**
 * The heap still in use right after each full (major) garbage collection, largest seen: the live set. Peak
 * use is mostly garbage (it follows the young generation's size, and a young collection only moves what is
 * in flight to the old generation, where it dies later); what a full collection leaves is what the program
 * holds, and that is the figure that must stay flat as tables grow. {@link #liveNow()} forces one at the end
 * of a run, so every run has at least one sample.
 */
public final class HeapWatch {
    private static final AtomicLong MAX_AFTER_GC = new AtomicLong(-1);
    private static volatile boolean started;

    private HeapWatch() {
    }

    /** Starts listening to the collectors; harmless to call twice. */
    public static synchronized void start() {
        if (started) return;
        started = true;
        Set<String> heapPools = new HashSet<>();
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getType() == MemoryType.HEAP) heapPools.add(p.getName());
        }
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            if (!(gc instanceof NotificationEmitter emitter)) continue;
            emitter.addNotificationListener((n, handback) -> {
                if (!GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(n.getType())) return;
                GarbageCollectionNotificationInfo info = GarbageCollectionNotificationInfo.from((CompositeData) n.getUserData());
                if (!info.getGcAction().contains("major")) return;
                long used = 0;
                for (var e : info.getGcInfo().getMemoryUsageAfterGc().entrySet()) {
                    MemoryUsage u = e.getValue();
                    if (heapPools.contains(e.getKey())) used += u.getUsed();
                }
                MAX_AFTER_GC.accumulateAndGet(used, Math::max);
            }, null, null);
        }
    }

    /** Largest heap in use just after a full collection, in bytes; -1 when none ran. */
    public static long maxAfterGcBytes() {
        return MAX_AFTER_GC.get();
    }

    /** Runs a full collection (about 50 ms on a 256 MiB heap) and counts what is left as a sample. */
    public static void liveNow() {
        System.gc();
        long used = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        MAX_AFTER_GC.accumulateAndGet(used, Math::max);
    }
}
