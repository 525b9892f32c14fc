package tsmigrate.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything one migration needs to know. Built from defaults, then a job file, then CLI flags.
 */
public final class JobConfig {
    public String name = "migration";
    public ConnInfo source;
    public ConnInfo target;
    public Path workDir = Path.of("tsmigrate-work");
    public int workers = 4;
    public String chunkInterval = "1 day";
    /** Tables without a time column and with more (estimated) rows than this are split by primary-key ranges. */
    public long splitRows = 1_000_000;
    public final List<String> include = new ArrayList<>();
    public final List<String> exclude = new ArrayList<>();
    /** "schema.table" (unquoted names) -> time column to split on, overriding the automatic choice. */
    public final Map<String, String> timeColumns = new LinkedHashMap<>();
    public String pgDump = "pg_dump";
    public String pgRestore = "pg_restore";
    /** Read every chunk from one exported snapshot, so the copy is consistent across tables. */
    public boolean snapshot = true;
    public int progressSeconds = 10;
    /** Where the YAML routes are read from; null means ./routes if present, else the copies inside the jar. */
    public Path routesDir;

    public void validate() {
        if (workers < 1 || workers > 256) {
            throw new tsmigrate.run.UserError("workers must be between 1 and 256, not " + workers + ".",
                    "Pass --workers N; about twice the target's CPU count is a good start.");
        }
        if (splitRows < 1) {
            throw new tsmigrate.run.UserError("splitRows must be positive.", "Pass --split-rows N with N >= 1.");
        }
        if (progressSeconds < 1) {
            throw new tsmigrate.run.UserError("progressSeconds must be at least 1.", "Pass --progress-interval N with N >= 1.");
        }
    }
}
