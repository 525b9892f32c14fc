package tsmigrate.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

import tsmigrate.run.UserError;

class MemorySizeTest {
    @Test
    void readsPostgresUnits() {
        assertEquals(1024L * 1024, MemorySize.parseKb("1GB"));
        assertEquals(256L * 1024, MemorySize.parseKb("256MB"));
        assertEquals(65536, MemorySize.parseKb("65536kB"));
        assertEquals(65536, MemorySize.parseKb("65536"), "a bare number is kB, as the server reads it");
        assertEquals(2, MemorySize.parseKb("2048B"));
        assertEquals(2L * 1024 * 1024 * 1024, MemorySize.parseKb("2TB"));
        assertEquals(512L * 1024, MemorySize.parseKb(" 512 MB "));
    }

    @Test
    void rejectsWhatTheServerWouldNotRead() {
        for (String bad : new String[] {"", "lots", "1 gb", "1.5GB", "-1MB", "1GB -c work_mem=1", "1Mb"}) {
            assertEquals(-1, MemorySize.parseKb(bad), bad);
        }
    }

    @Test
    void aJobWithAnUnreadableBudgetIsRefusedUpFront() {
        JobConfig cfg = new JobConfig();
        cfg.maintenanceWorkMem = "1GB -c work_mem=1";
        UserError e = assertThrows(UserError.class, cfg::validate);
        assertEquals(true, e.getMessage().contains("maintenanceWorkMem"), e.getMessage());
        cfg.maintenanceWorkMem = "512kB"; // below the server's 1MB minimum
        assertThrows(UserError.class, cfg::validate);
        cfg.maintenanceWorkMem = "512MB";
        cfg.validate();
    }
}
