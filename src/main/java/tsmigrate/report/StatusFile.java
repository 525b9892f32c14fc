package tsmigrate.report;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;

import tsmigrate.copy.Progress;
import tsmigrate.plan.Chunk;
import tsmigrate.run.MigrationRun;
import tsmigrate.run.WorkDir;

/**
 * status.json in the work dir: where the migration stands, for machines (dashboards, scripts). Rewritten
 * atomically at every step boundary and every progress period.
 */
public final class StatusFile {
    private StatusFile() {
    }

    public static synchronized void write(MigrationRun run, Progress progress) {
        StringBuilder j = new StringBuilder("{\n");
        field(j, "migration", run.state.migrationId).append(",\n");
        field(j, "job", run.cfg.name).append(",\n");
        field(j, "source", run.cfg.source.masked()).append(",\n");
        field(j, "target", run.cfg.target.masked()).append(",\n");
        field(j, "currentStep", run.currentStep()).append(",\n");
        j.append("  \"steps\": [");
        String sep = "\n";
        for (Map.Entry<String, long[]> e : run.stepTimes().entrySet()) {
            j.append(sep).append("    {\"name\": ").append(str(e.getKey())).append(", \"startedAt\": ").append(str(Instant.ofEpochMilli(e.getValue()[0]).toString()))
                    .append(", \"endedAt\": ").append(e.getValue()[1] == 0 ? "null" : str(Instant.ofEpochMilli(e.getValue()[1]).toString()))
                    .append(", \"counts\": ").append(str(run.stepCounts().get(e.getKey()))).append('}');
            sep = ",\n";
        }
        j.append("\n  ],\n");
        Map<String, Integer> states = new TreeMap<>();
        long rows = 0;
        for (Chunk ch : run.getChunks()) {
            states.merge(ch.state, 1, Integer::sum);
            if (ch.loadedRows > 0) rows += ch.loadedRows;
        }
        j.append("  \"chunks\": {\"total\": ").append(run.getChunks().size());
        states.forEach((k, v) -> j.append(", ").append(str(k)).append(": ").append(v));
        j.append("},\n  \"rowsLoaded\": ").append(rows).append(",\n");
        if (progress != null) j.append("  \"progress\": ").append(progress.json()).append(",\n");
        field(j, "updatedAt", Instant.now().toString()).append("\n}\n");
        try {
            Path file = run.path("status.json");
            if (!Files.isDirectory(file.getParent())) return; // work dir not prepared yet
            Path tmp = run.path(".status.json.tmp");
            WorkDir.writePrivate(tmp, j.toString());
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            // a status file that cannot be written must not stop the migration; the logs still tell
        }
    }

    private static StringBuilder field(StringBuilder j, String name, String value) {
        return j.append("  ").append(str(name)).append(": ").append(str(value));
    }

    static String str(String s) {
        if (s == null) return "null";
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
        return b.append('"').toString();
    }
}
