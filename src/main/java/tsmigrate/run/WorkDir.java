package tsmigrate.run;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * The work dir holds table data in CSV: directories are created 0700 and files 0600, so other local
 * users cannot read it.
 */
public final class WorkDir {
    public static final Set<PosixFilePermission> DIR = PosixFilePermissions.fromString("rwx------");
    public static final Set<PosixFilePermission> FILE = PosixFilePermissions.fromString("rw-------");

    private final Path root;

    public WorkDir(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    public Path root() {
        return root;
    }

    /** Creates the work dir (and checks it is writable) or says why it cannot. */
    public void prepare() {
        try {
            mkdirs(root);
            Path probe = Files.createTempFile(root, ".probe", ".tmp", PosixFilePermissions.asFileAttribute(FILE));
            Files.delete(probe);
        } catch (IOException e) {
            throw new UserError("The work dir " + root + " is not writable: " + e.getMessage(),
                    "Pass --work-dir with a directory you can write to, on a disk with room for the chunk files.", e);
        }
    }

    public static void mkdirs(Path dir) throws IOException {
        if (Files.isDirectory(dir)) return;
        Path parent = dir.getParent();
        if (parent != null && !Files.isDirectory(parent)) mkdirs(parent);
        try {
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(DIR));
        } catch (FileAlreadyExistsException e) {
            if (!Files.isDirectory(dir)) throw e;
        }
    }

    /** Creates (or truncates) a file readable by its owner only. */
    public static Path createPrivateFile(Path file) throws IOException {
        mkdirs(file.getParent());
        FileAttribute<Set<PosixFilePermission>> attr = PosixFilePermissions.asFileAttribute(FILE);
        Files.deleteIfExists(file);
        Files.createFile(file, attr);
        return file;
    }

    public static void writePrivate(Path file, String text) throws IOException {
        createPrivateFile(file);
        Files.writeString(file, text);
    }
}
