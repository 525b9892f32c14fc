package tsmigrate.copy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import tsmigrate.config.ConnInfo;
import tsmigrate.config.JobConfig;
import tsmigrate.plan.Chunk;
import tsmigrate.plan.TableInfo;
import tsmigrate.run.MigrationRun;

/**
 * The ETA of a chunk step follows the estimate's own measure: table sizes overstate the COPY bytes (and gzip files
 * understate them), and an ETA from bytes against such a total stayed seconds long when the step ended (QA).
 */
class ProgressTest {
    @Test
    void etaIsTheShareOfTheEstimateLeft(@TempDir Path dir) {
        JobConfig cfg = new JobConfig();
        cfg.source = ConnInfo.parse("source", "postgresql://u@h:5432/a");
        cfg.target = ConnInfo.parse("target", "postgresql://u@h:5432/b");
        cfg.workDir = dir;
        cfg.progressSeconds = 3600;
        MigrationRun run = new MigrationRun(cfg);
        TableInfo t = new TableInfo("public", "m", 1, List.of("a"), 100, 4000);
        List<Chunk> chunks = List.of(new Chunk(t, 1, "true", "a", dir.resolve("1")), new Chunk(t, 2, "true", "b", dir.resolve("2")),
                new Chunk(t, 3, "true", "c", dir.resolve("3")), new Chunk(t, 4, "true", "d", dir.resolve("4")));
        run.getChunks().addAll(chunks);
        try (Progress p = Progress.forChunks("data", chunks, run)) {
            // before any chunk is done: by the byte rate, 300 of 4000 bytes in 1 s
            assertEquals((4000 - 300) * 1000 / 300, p.etaMs(1000, 300));
            // three of four done in 3 s, with only 900 bytes passed (the estimate was 4x over): 1 s left, not 10
            for (int i = 0; i < 3; i++) p.chunkDone(chunks.get(i), 25);
            assertEquals(1000, p.etaMs(3000, 900));
            p.chunkDone(chunks.get(3), 25);
            assertEquals(-1, p.etaMs(4000, 1200), "done: no ETA");
        }
    }
}
