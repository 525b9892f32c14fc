package tsmigrate.plan;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.snakeyaml.engine.v2.api.Dump;
import org.snakeyaml.engine.v2.api.DumpSettings;
import org.snakeyaml.engine.v2.common.FlowStyle;

import tsmigrate.run.MigrationRun;
import tsmigrate.run.WorkDir;

/** Writes the plan as YAML for people to read: tables, how each was split, and every chunk's range and file. */
public final class PlanFile {
    private PlanFile() {
    }

    public static void write(MigrationRun run, Path file) throws IOException {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("createdAt", Instant.now().toString());
        doc.put("source", run.cfg.source.masked());
        doc.put("target", run.cfg.target.masked());
        doc.put("chunkInterval", run.cfg.chunkInterval);
        doc.put("snapshot", run.snapshotId == null ? "none" : run.snapshotId);
        List<Object> tables = new ArrayList<>();
        for (Map.Entry<TableInfo, List<Chunk>> e : Planner.byTable(run.getChunks()).entrySet()) {
            TableInfo t = e.getKey();
            Map<String, Object> tm = new LinkedHashMap<>();
            tm.put("table", t.qualified());
            tm.put("columns", t.columns.size());
            tm.put("estimatedRows", t.estimatedRows);
            tm.put("bytes", t.bytes);
            tm.put("split", t.split);
            List<Object> chunks = new ArrayList<>();
            for (Chunk ch : e.getValue()) {
                Map<String, Object> cm = new LinkedHashMap<>();
                cm.put("chunk", ch.number);
                cm.put("range", ch.range);
                cm.put("where", ch.predicate == null ? "" : ch.predicate);
                cm.put("file", run.workDir.root().relativize(ch.file).toString());
                chunks.add(cm);
            }
            tm.put("chunks", chunks);
            tables.add(tm);
        }
        doc.put("tables", tables);
        String yaml = new Dump(DumpSettings.builder().setDefaultFlowStyle(FlowStyle.BLOCK).setWidth(200).build()).dumpToString(doc);
        WorkDir.writePrivate(file, "# tsmigrate plan: what will be copied, chunk by chunk\n" + yaml);
    }
}
