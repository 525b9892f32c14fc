package tsmigrate.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import tsmigrate.run.UserError;

/** One serve per inbox: a second one would put the first one's running jobs back into the inbox and run them twice. */
class InboxOwnershipTest {
    @TempDir
    Path work;

    @Test
    void aSecondServeOnTheSameInboxIsRefusedAndLeavesItsJobsAlone() throws Exception {
        Path inbox = work.resolve("inbox");
        Server.configure(inbox, 1, null, null, "127.0.0.1", 0);
        Files.writeString(inbox.resolve(".processing/running.yaml"), "source: x\n"); // the first serve's job in flight
        UserError e = assertThrows(UserError.class, () -> Server.configure(inbox, 1, null, null, "127.0.0.1", 0));
        assertTrue(e.getMessage().contains("Another serve is watching"), e.getMessage());
        assertTrue(Files.exists(inbox.resolve(".processing/running.yaml")), "not taken from the running serve");
    }

    /** Stopped with serve, a job goes back into the inbox, unless a new file of that name was dropped meanwhile. */
    @Test
    void aStoppedJobNeverReplacesANewerFileOfItsName() throws Exception {
        Path inbox = work.resolve("inbox2");
        Jobs.ensureDirs(inbox);
        assertEquals("j.yaml", Jobs.whereAStoppedJobGoes(inbox, "j", "j.yaml"));
        Files.writeString(inbox.resolve("j.yaml"), "source: newer\n");
        assertEquals("failed/j.yaml", Jobs.whereAStoppedJobGoes(inbox, "j", "j.yaml"));
        assertTrue(Files.readString(inbox.resolve("failed/j.error.txt")).contains("newer"));
        assertEquals("source: newer\n", Files.readString(inbox.resolve("j.yaml")));
    }
}
