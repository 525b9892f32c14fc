package tsmigrate.run;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;

/**
 * A work dir belongs to one migration at a time. Chunk files are named by table and chunk number only, so two
 * migrations of like tables in one dir would overwrite each other's files, and one could load the other's rows.
 * The file {@code migration.id} names the owner (its id, and source -> target with no password). While a run
 * lasts it holds a lock on that file: shared, so that runs and instances of the same migration can share the dir;
 * another migration needs the lock exclusively, which it cannot get while any run of the owner is alive (in any
 * process: the OS drops the lock of a process that died). Once no run is alive, another migration may take the
 * dir only if no chunk file is left: those may be the owner's way to resume, or files it was asked to keep.
 */
public final class WorkDirLease implements AutoCloseable {
    static final String MARKER = "migration.id";
    /** Runs of this JVM per work dir: the OS lock is per process, so runs of one JVM share it. */
    private static final Map<Path, Held> HELD = new HashMap<>();

    private static final class Held {
        final String id;
        final FileChannel channel;
        final FileLock lock;
        int runs = 1;

        Held(String id, FileChannel channel, FileLock lock) {
            this.id = id;
            this.channel = channel;
            this.lock = lock;
        }
    }

    /** The work dir's real path: two spellings of one folder (a symlink) are one work dir. */
    private final Path key;
    private boolean closed;

    private WorkDirLease(Path key) {
        this.key = key;
    }

    /**
     * Takes the work dir for the migration {@code id} (described as {@code what}, e.g. its masked source -> target),
     * or refuses, saying which migration has it.
     */
    public static WorkDirLease take(WorkDir dir, String id, String what) {
        synchronized (HELD) {
            try {
                Path key = dir.root().toRealPath();
                Held held = HELD.get(key);
                if (held != null) {
                    if (!held.id.equals(id)) throw inUse(dir, owner(held.channel)[1]);
                    held.runs++;
                    return new WorkDirLease(key);
                }
                HELD.put(key, lock(dir, id, what));
                return new WorkDirLease(key);
            } catch (IOException e) {
                throw new UserError("Cannot lock the work dir " + dir.root() + ": " + e.getMessage(),
                        "Pass --work-dir with a directory you can write to.", e);
            }
        }
    }

    private static Held lock(WorkDir dir, String id, String what) throws IOException {
        Path marker = dir.root().resolve(MARKER);
        try {
            // never replaced once made: a process may hold its lock
            Files.createFile(marker, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(WorkDir.FILE));
        } catch (java.nio.file.FileAlreadyExistsException made) {
            // by an earlier run, or by another process just now
        }
        FileChannel ch = FileChannel.open(marker, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try {
            String[] owner = owner(ch);
            FileLock exclusive = tryLock(ch, false);
            if (exclusive == null) {
                // A run of some migration is alive in another process: share the dir only if it is this migration.
                FileLock shared = null;
                for (int i = 0; i < 50 && shared == null; i++) { // its exclusive hold (below) lasts a few statements
                    shared = tryLock(ch, true);
                    if (shared == null) sleep();
                }
                owner = owner(ch);
                if (shared == null || !id.equals(owner[0])) throw inUse(dir, owner[1]);
                return new Held(id, ch, shared);
            }
            if (!owner[0].isEmpty() && !id.equals(owner[0]) && hasChunkFiles(dir.root())) {
                throw new Refusal("The work dir " + dir.root() + " holds the chunk files of another migration (" + owner[1]
                        + "), which has not finished or kept its files.",
                        "Give each migration a work dir of its own (--work-dir, or workDir in the job file). If that migration is"
                                + " over or abandoned, delete its chunk files (the table folders in " + dir.root() + ").");
            }
            if (!id.equals(owner[0])) {
                ch.truncate(0);
                ch.write(ByteBuffer.wrap((id + "\n" + what + "\n").getBytes(StandardCharsets.UTF_8)), 0);
                ch.force(true);
            }
            // Shared from here, so that other runs of this migration can join. Between the release and the shared
            // lock another migration could take the dir: read the owner again to be sure it did not.
            exclusive.release();
            FileLock shared = tryLock(ch, true);
            owner = owner(ch);
            if (shared == null || !id.equals(owner[0])) throw inUse(dir, owner[1]);
            return new Held(id, ch, shared);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private static FileLock tryLock(FileChannel ch, boolean shared) throws IOException {
        try {
            return ch.tryLock(0, Long.MAX_VALUE, shared);
        } catch (OverlappingFileLockException e) {
            return null;
        }
    }

    private static void sleep() {
        try {
            Thread.sleep(20);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** {id, description} from the marker; empty strings when it is empty or unreadable. */
    private static String[] owner(FileChannel ch) {
        try {
            ByteBuffer buf = ByteBuffer.allocate((int) Math.min(ch.size(), 4096));
            ch.read(buf, 0);
            String[] lines = new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8).split("\n", -1);
            return new String[] {lines[0].trim(), lines.length > 1 ? lines[1].trim() : "unknown"};
        } catch (IOException e) {
            return new String[] {"", "unknown"};
        }
    }

    private static Refusal inUse(WorkDir dir, String other) {
        return new Refusal("The work dir " + dir.root() + " is in use by another migration (" + other + "), running now.",
                "Give each migration a work dir of its own (--work-dir, or workDir in the job file).");
    }

    /** Chunk files (done or .part) in the table folders: NNNNNN.csv, .bin, with .gz or .part. */
    static boolean hasChunkFiles(Path root) throws IOException {
        try (var files = Files.walk(root, 2)) {
            return files.anyMatch(p -> !p.getParent().equals(root) && p.getFileName().toString().matches("\\d+\\.(csv|bin)(\\.gz)?(\\.part)?"));
        }
    }

    /** The run has ended. The marker stays: it is cleared by the next migration that takes the dir. */
    @Override
    public void close() {
        synchronized (HELD) {
            if (closed) return;
            closed = true;
            Held held = HELD.get(key);
            if (held == null || --held.runs > 0) return;
            HELD.remove(key);
            try {
                held.channel.close(); // releases the lock
            } catch (IOException ignored) {
                // closing: nothing to do
            }
        }
    }
}
