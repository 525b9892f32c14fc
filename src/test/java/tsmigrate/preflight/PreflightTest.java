package tsmigrate.preflight;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class PreflightTest {
    @Test
    void warnsWhenPgDumpIsNewerThanTheTarget() {
        String w = Preflight.olderTargetWarning(15, 14);
        assertTrue(w != null && w.contains("pg_dump is version 15") && w.contains("PostgreSQL 14") && w.contains("--pg-dump"), w);
    }

    @Test
    void saysNothingWhenTheTargetIsAsNewOrNewer() {
        assertNull(Preflight.olderTargetWarning(15, 15));
        assertNull(Preflight.olderTargetWarning(15, 16));
        assertNull(Preflight.olderTargetWarning(15, 0), "an unknown target version is not a reason to warn");
    }
}
