package tsmigrate.run;

import java.nio.file.Path;

/** For WorkDirLeaseTest: holds a work dir for a migration in a process of its own until killed. */
public final class HoldWorkDir {
    private HoldWorkDir() {
    }

    public static void main(String[] args) throws Exception {
        WorkDirLease lease = WorkDirLease.take(new WorkDir(Path.of(args[0])), args[1], args[2]);
        System.out.println("held");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
        lease.close();
    }
}
