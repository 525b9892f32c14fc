package tsmigrate.run;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A work dir that other users can write to is refused: they could swap a chunk file between its export and its
 * load (or make its folder theirs beforehand), and a run without verification would load their rows.
 */
class WorkDirTest {
    @TempDir
    Path tmp;

    @Test
    void aNewWorkDirIsPrivateAndAccepted() throws Exception {
        Path root = tmp.resolve("new/work");
        assertDoesNotThrow(() -> new WorkDir(root).prepare());
        assertTrue(Files.getPosixFilePermissions(root).equals(WorkDir.DIR));
    }

    @Test
    void aWorkDirOthersCanWriteToIsRefused() throws Exception {
        Path root = Files.createDirectory(tmp.resolve("shared"));
        Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwxrwxrwx"));
        UserError e = assertThrows(UserError.class, () -> new WorkDir(root).prepare());
        assertTrue(e.getMessage().contains("other users (its group"), e.getMessage());
        assertTrue(String.valueOf(e.hint()).contains("chmod"), String.valueOf(e.hint()));
    }

    /** The members of its group are other users too. */
    @Test
    void aWorkDirItsGroupCanWriteToIsRefused() throws Exception {
        Path root = Files.createDirectory(tmp.resolve("group"));
        Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwxrwx---"));
        UserError e = assertThrows(UserError.class, () -> new WorkDir(root).prepare());
        assertTrue(e.getMessage().contains("other users (its group"), e.getMessage());
    }

    @Test
    void aTableFolderOthersCanWriteToIsRefused() throws Exception {
        Path root = Files.createDirectory(tmp.resolve("w"));
        Path table = Files.createDirectory(root.resolve("public.metrics"));
        Files.setPosixFilePermissions(table, PosixFilePermissions.fromString("rwxrwxrwx"));
        UserError e = assertThrows(UserError.class, () -> new WorkDir(root).prepare());
        assertTrue(e.getMessage().contains("public.metrics"), e.getMessage());
    }

    @Test
    void aWorkDirOfAnotherUserIsRefused() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "only root can give a folder away");
        Path root = Files.createDirectory(tmp.resolve("theirs"));
        Files.setOwner(root, root.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody"));
        UserError e = assertThrows(UserError.class, () -> new WorkDir(root).prepare());
        assertTrue(e.getMessage().contains("belongs to nobody"), e.getMessage());
    }
}
