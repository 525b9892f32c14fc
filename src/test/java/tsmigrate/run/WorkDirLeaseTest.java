package tsmigrate.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WorkDirLeaseTest {
    @TempDir
    Path root;

    private WorkDir dir() {
        WorkDir d = new WorkDir(root);
        d.prepare();
        return d;
    }

    @Test
    void runsOfOneMigrationShareTheDirAndOthersWaitForItToBeFree() throws Exception {
        WorkDir d = dir();
        WorkDirLease a1 = WorkDirLease.take(d, "a", "src-a -> tgt-a");
        Path link = Files.createSymbolicLink(root.resolveSibling(root.getFileName() + "-link"), root);
        WorkDirLease a2 = WorkDirLease.take(new WorkDir(link), "a", "src-a -> tgt-a"); // the same dir by another name
        Files.delete(link);
        Refusal busy = assertThrows(Refusal.class, () -> WorkDirLease.take(d, "b", "src-b -> tgt-b"));
        assertTrue(busy.getMessage().contains("in use by another migration (src-a -> tgt-a)"), busy.getMessage());
        a1.close();
        a1.close(); // twice is once
        assertThrows(Refusal.class, () -> WorkDirLease.take(d, "b", "src-b -> tgt-b"), "a2 still runs");
        Path chunk = Files.createDirectories(root.resolve("public.m")).resolve("000003.bin");
        Files.writeString(chunk, "rows");
        a2.close();
        Refusal files = assertThrows(Refusal.class, () -> WorkDirLease.take(d, "b", "src-b -> tgt-b"));
        assertTrue(files.getMessage().contains("holds the chunk files of another migration (src-a -> tgt-a)"), files.getMessage());
        WorkDirLease.take(d, "a", "src-a -> tgt-a").close(); // its owner may always come back
        Files.delete(chunk);
        Files.writeString(root.resolve("public.m").resolve("plan-notes.txt"), "not a chunk file");
        try (WorkDirLease b = WorkDirLease.take(d, "b", "src-b -> tgt-b")) {
            assertEquals(List.of("b", "src-b -> tgt-b"), Files.readAllLines(root.resolve(WorkDirLease.MARKER)));
            assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(root.resolve(WorkDirLease.MARKER))));
        }
    }

    /** The lock is the operating system's: a run alive in another process keeps the dir; once it is gone, it is free. */
    @Test
    void aRunInAnotherProcessKeepsTheDirUntilItDies() throws Exception {
        WorkDir d = dir();
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), HoldWorkDir.class.getName(), root.toString(), "a", "src-a -> tgt-a")
                .redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
            assertEquals("held", out.readLine());
            Refusal busy = assertThrows(Refusal.class, () -> WorkDirLease.take(d, "b", "src-b -> tgt-b"));
            assertTrue(busy.getMessage().contains("in use by another migration (src-a -> tgt-a)"), busy.getMessage());
            WorkDirLease.take(d, "a", "src-a -> tgt-a").close(); // another instance of the same migration may join
        } finally {
            child.destroyForcibly();
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));
        }
        WorkDirLease.take(d, "b", "src-b -> tgt-b").close(); // no chunk files: the next migration takes the dir
    }
}
