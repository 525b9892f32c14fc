package tsmigrate.timescale;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;

import org.junit.jupiter.api.Test;

import tsmigrate.timescale.HypertableConstraints.Constraint;

/** The pg_restore list filter: exactly the hypertables' constraint entries (by catalog oid) and their comments go. */
class HypertableConstraintsTest {
    static final String LIST = String.join("\n",
            ";",
            "; Archive created at 2026-11-27 01:00:00 UTC",
            ";",
            "3321; 2606 16397 CONSTRAINT public metrics metrics_pkey postgres",
            "3322; 2606 16399 CONSTRAINT public devices devices_pkey postgres",
            "3319; 1259 16397 INDEX public metrics_v postgres",
            "3323; 2606 16405 FK CONSTRAINT public alerts alerts_device_time_fkey postgres",
            "3324; 0 0 COMMENT public CONSTRAINT metrics_pkey ON metrics postgres",
            "3325; 0 0 COMMENT public CONSTRAINT devices_pkey ON devices postgres",
            "");

    @Test
    void commentsOutTheHypertablesConstraintsAndTheirComments() {
        List<Constraint> cs = List.of(
                new Constraint(16397, "public", "metrics", "metrics_pkey", "ALTER TABLE ...", "COMMENT ..."),
                new Constraint(16405, "public", "alerts", "alerts_device_time_fkey", "ALTER TABLE ONLY ...", null));
        assertEquals(String.join("\n",
                ";",
                "; Archive created at 2026-11-27 01:00:00 UTC",
                ";",
                ";3321; 2606 16397 CONSTRAINT public metrics metrics_pkey postgres",
                "3322; 2606 16399 CONSTRAINT public devices devices_pkey postgres",
                "3319; 1259 16397 INDEX public metrics_v postgres",
                ";3323; 2606 16405 FK CONSTRAINT public alerts alerts_device_time_fkey postgres",
                ";3324; 0 0 COMMENT public CONSTRAINT metrics_pkey ON metrics postgres",
                "3325; 0 0 COMMENT public CONSTRAINT devices_pkey ON devices postgres",
                ""), HypertableConstraints.excludeFromList(LIST, cs), "an index with the same oid number (another catalog) stays");
    }

    @Test
    void nothingToExcludeLeavesTheListAsItIs() {
        assertEquals(LIST, HypertableConstraints.excludeFromList(LIST, List.of()));
    }
}
