package tsmigrate.schema;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

import tsmigrate.config.MemorySize;

class PostDataJobsTest {
    private static final long GB = 1024 * 1024;

    /** A pg_restore --list text with these entries, numbered; an entry given with a leading '#' is commented out. */
    private static String toc(String... entries) {
        StringBuilder b = new StringBuilder(";\n; Archive created at 2026-11-27 06:00:00 UTC\n;\n");
        int id = 3000;
        for (String e : entries) b.append(e.startsWith("#") ? ";" + (id++) + e.substring(1) : (id++) + e).append('\n');
        return b.toString();
    }

    @Test
    void aLoneIndexGetsTheWholeBudget() {
        PostDataJobs p = PostDataJobs.of(toc("; 1259 16390 INDEX public metrics_time_idx postgres"), 4, GB);
        assertEquals(1, p.jobs());
        assertEquals(GB, p.memKbPerJob());
    }

    @Test
    void manyBuildsShareTheBudgetAcrossAtMostWorkersJobs() {
        String list = toc("; 1259 16390 INDEX public a_idx postgres", "; 2606 16391 CONSTRAINT public t t_pkey postgres",
                "; 2606 16392 FK CONSTRAINT public u u_t_fkey postgres", "; 1259 16393 INDEX public b_idx postgres",
                "; 1259 16394 INDEX public c_idx postgres", "; 2620 16395 TRIGGER public t trg postgres");
        assertEquals(new PostDataJobs(4, GB / 4), PostDataJobs.of(list, 4, GB));
        assertEquals(new PostDataJobs(2, GB / 2), PostDataJobs.of(list, 2, GB), "never more jobs than --workers");
    }

    @Test
    void commentedOutEntriesAndOtherKindsDoNotCount() {
        // pg_restore --use-list skips lines that start with ';' (the hypertable constraints added later, without ONLY)
        String list = toc("#; 2606 16391 CONSTRAINT public t t_pkey postgres", "; 2620 16395 TRIGGER public t trg postgres",
                "; 1259 16390 INDEX public a_idx postgres");
        assertEquals(new PostDataJobs(1, GB), PostDataJobs.of(list, 8, GB));
        assertEquals(new PostDataJobs(1, GB), PostDataJobs.of(toc(), 8, GB), "nothing to build: one job");
    }

    @Test
    void eachJobGetsAtLeastTheServersMinimum() {
        String list = toc("; 1259 1 INDEX public a postgres", "; 1259 2 INDEX public b postgres", "; 1259 3 INDEX public c postgres");
        assertEquals(new PostDataJobs(3, MemorySize.MIN_KB), PostDataJobs.of(list, 3, 2048));
    }
}
