package tsmigrate.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import tsmigrate.run.UserError;

/** config/application.yaml: read as every job's defaults, with a serve: section; its values are the built-in ones. */
class ApplicationConfigTest {
    static final Path SHIPPED = Path.of("config", "application.yaml");

    @Test
    void shippedFileStatesTheBuiltInDefaults() {
        JobConfig builtIn = new JobConfig();
        JobConfig read = new JobConfig();
        JobFile.apply(SHIPPED, read, true);
        assertEquals(builtIn.workers, read.workers);
        assertEquals(builtIn.chunkInterval, read.chunkInterval);
        assertEquals(builtIn.splitRows, read.splitRows);
        assertEquals(builtIn.retries, read.retries);
        assertEquals(builtIn.retryDelayMs, read.retryDelayMs);
        assertEquals(builtIn.maxRetryDelayMs, read.maxRetryDelayMs);
        assertEquals(builtIn.leaseSeconds, read.leaseSeconds);
        assertEquals(builtIn.verify, read.verify);
        assertEquals(builtIn.continueOnChunkError, read.continueOnChunkError);
        assertEquals(builtIn.snapshot, read.snapshot);
        assertEquals(builtIn.progressSeconds, read.progressSeconds);
        assertEquals(builtIn.pgDump, read.pgDump);
        assertEquals(builtIn.copyFormat, read.copyFormat);
        assertEquals(builtIn.compressFiles, read.compressFiles);
        assertEquals(builtIn.stream, read.stream);
        assertEquals(builtIn.maintenanceWorkMem, read.maintenanceWorkMem);
        assertEquals(JobConfig.ALL_STEPS, read.steps.stream().toList());
        assertEquals(Map.of("inbox", "inbox", "concurrentJobs", 1, "port", 0, "host", "127.0.0.1"), JobFile.serveSettings(SHIPPED));
    }

    @Test
    void serveSectionIsOnlyForTheApplicationConfig(@TempDir Path dir) throws Exception {
        Path job = dir.resolve("job.yaml");
        Files.writeString(job, "workers: 2\nserve:\n  inbox: x\n");
        UserError e = assertThrows(UserError.class, () -> JobFile.apply(job, new JobConfig()));
        assertTrue(e.getMessage().contains("unknown keys: serve"), e.getMessage());
        JobConfig cfg = new JobConfig();
        JobFile.apply(job, cfg, true);
        assertEquals(2, cfg.workers);
    }

    @Test
    void unknownServeKeyIsNamed(@TempDir Path dir) throws Exception {
        Path app = dir.resolve("application.yaml");
        Files.writeString(app, "serve:\n  inbx: x\n");
        UserError e = assertThrows(UserError.class, () -> JobFile.serveSettings(app));
        assertTrue(e.getMessage().contains("inbx"), e.getMessage());
    }

    @Test
    void stepsAndHypertablesAreRead(@TempDir Path dir) throws Exception {
        Path job = dir.resolve("job.yaml");
        Files.writeString(job, "steps: [hypertables, data]\nhypertables:\n  public.metrics:\n    timeColumn: time\n    chunkInterval: 6 hours\n");
        JobConfig cfg = new JobConfig();
        JobFile.apply(job, cfg);
        assertTrue(cfg.runs("data") && !cfg.runs("pre-data"));
        assertEquals("time", cfg.hypertables.get("public.metrics").timeColumn);
        assertEquals("6 hours", cfg.hypertables.get("public.metrics").chunkInterval);
        Files.writeString(job, "steps: [data, indexes]\n");
        UserError e = assertThrows(UserError.class, () -> JobFile.apply(job, new JobConfig()));
        assertTrue(e.getMessage().contains("Unknown step 'indexes'"), e.getMessage());
    }

    @Test
    void numbersOutOfRangeAreRefusedHereToo(@TempDir Path dir) throws Exception {
        Path app = dir.resolve("application.yaml");
        Files.writeString(app, "workers: 4294967298\n");
        UserError e = assertThrows(UserError.class, () -> JobFile.apply(app, new JobConfig(), true));
        assertTrue(e.getMessage().contains("'workers'") && e.getMessage().contains("4294967298"), e.getMessage());
        for (String serve : new String[] {"concurrentJobs: 4294967297", "port: 2.5", "concurrentJobs: two"}) {
            Files.writeString(app, "serve:\n  " + serve + "\n");
            e = assertThrows(UserError.class, () -> JobFile.serveSettings(app));
            String key = serve.substring(0, serve.indexOf(':'));
            assertTrue(e.getMessage().contains(key) && e.getMessage().contains(serve.substring(key.length() + 2)), e.getMessage());
        }
    }
}
