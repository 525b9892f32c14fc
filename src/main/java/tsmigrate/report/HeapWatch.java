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
 * The heap still in use right after each garbage collection, largest seen. Peak use before a collection is
 * mostly garbage and follows the young generation's size; what is left after one is what the program holds,
 * and that is the figure that must stay flat as tables grow.
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
                long used = 0;
                for (var e : info.getGcInfo().getMemoryUsageAfterGc().entrySet()) {
                    MemoryUsage u = e.getValue();
                    if (heapPools.contains(e.getKey())) used += u.getUsed();
                }
                final long u = used;
                MAX_AFTER_GC.accumulateAndGet(u, Math::max);
            }, null, null);
        }
    }

    /** Largest heap in use just after a collection, in bytes; -1 when no collection ran yet. */
    public static long maxAfterGcBytes() {
        return MAX_AFTER_GC.get();
    }
}
