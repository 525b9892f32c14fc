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

    /** Creates the work dir (and checks it is writable, and no one else's to write to) or says why it cannot. */
    public void prepare() {
        java.nio.file.attribute.UserPrincipal me;
        try {
            mkdirs(root);
            Path probe = Files.createTempFile(root, ".probe", ".tmp", PosixFilePermissions.asFileAttribute(FILE));
            me = Files.getOwner(probe);
            Files.delete(probe);
        } catch (IOException e) {
            throw new UserError("The work dir " + root + " is not writable: " + e.getMessage(),
                    "Pass --work-dir with a directory you can write to, on a disk with room for the chunk files.", e);
        }
        // Another user who can write there could swap a chunk file between its export and its load (or make a
        // table's folder theirs beforehand); without verification their rows would be loaded. Once the root is
        // ours alone, no one else can add a folder to it later.
        try {
            ownedByAlone(root, me);
            try (java.nio.file.DirectoryStream<Path> dirs = Files.newDirectoryStream(root, Files::isDirectory)) {
                for (Path d : dirs) ownedByAlone(d, me);
            }
        } catch (IOException e) {
            throw new UserError("Cannot read the work dir " + root + ": " + e.getMessage(), "Check its permissions, or pass another --work-dir.", e);
        }
    }

    private static void ownedByAlone(Path dir, java.nio.file.attribute.UserPrincipal me) throws IOException {
        Set<PosixFilePermission> perms;
        try {
            perms = Files.getPosixFilePermissions(dir);
        } catch (UnsupportedOperationException notPosix) {
            return;
        }
        java.nio.file.attribute.UserPrincipal owner = Files.getOwner(dir);
        if (!owner.equals(me) && !owner.getName().equals("root")) { // root could swap them anyway (and owns lost+found)
            throw new UserError("The work dir folder " + dir + " belongs to " + owner.getName() + ", not to " + me.getName()
                    + ", who runs tsmigrate.", "Its owner could replace chunk files before they are loaded: pass a --work-dir of your own.");
        }
        if (perms.contains(PosixFilePermission.OTHERS_WRITE) || perms.contains(PosixFilePermission.GROUP_WRITE)) {
            throw new UserError("The work dir folder " + dir + " is " + PosixFilePermissions.toString(perms) + ": other users (its group"
                    + (perms.contains(PosixFilePermission.OTHERS_WRITE) ? ", everyone" : "") + ") can write to it.",
                    "They could replace chunk files before they are loaded: run chmod go-w " + dir + " (or chmod 700), or pass another --work-dir.");
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
