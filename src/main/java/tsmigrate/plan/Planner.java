package tsmigrate.plan;

import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import tsmigrate.copy.Faults;
import tsmigrate.db.Pg;
import tsmigrate.run.MigrationRun;
import tsmigrate.run.StepFailure;
import tsmigrate.run.UserError;

/**
 * The plan step: lists the source tables to copy and cuts each into chunks.
 * <ul>
 * <li>a table with a time column (timestamptz, timestamp or date, leading an index, or named in config) is cut
 * into ranges of the chunk interval between its finite min and max; the first range is open below and the last
 * open above, so -infinity and +infinity fall into them, and NULL times get a chunk of their own;</li>
 * <li>a large table without one is cut into ranges of its single-column integer primary key;</li>
 * <li>any other table is one chunk.</li>
 * </ul>
 * Partitioned parents hold no rows of their own and are skipped: their leaves are tables here, read with ONLY.
 */
public class Planner {
    private static final Logger LOG = LoggerFactory.getLogger(Planner.class);
    /** Beyond this many ranges per table the interval is widened: empty ranges cost a query each. */
    static final int MAX_CHUNKS_PER_TABLE = 5000;
    /** Below this size (with its TOAST) a table is one chunk when --chunk-interval is not given. */
    public static final long SMALL_TABLE_BYTES = 8L << 20;

    /**
     * Plans once per migration (the first instance to get here), saves the plan in the state store, then
     * loads it back: every instance, and every resumed run, works from the same chunks.
     */
    public void plan(MigrationRun run) throws Exception {
        boolean planned = run.state.once("plan", redo -> {
            List<TableInfo> tables = new ArrayList<>();
            List<Chunk> chunks = new ArrayList<>();
            onSource(run, c -> {
                tables.addAll(listTables(c, run));
                java.util.Map<String, tsmigrate.timescale.SourceHypertables.Hypertable> hts = tsmigrate.timescale.SourceHypertables.read(c);
                readAhead(c, run, tables.stream().filter(t -> !hts.containsKey(t.key())).toList());
                int n = 0;
                for (TableInfo t : tables) {
                    t.number = ++n;
                    var ht = hts.get(t.key());
                    chunks.addAll(ht != null ? hypertableChunks(c, run, t, ht) : chunksFor(c, run, t));
                }
                return null;
            });
            try (Connection st = run.state.connect()) {
                if (redo) run.state.forgetPlan(st);
                run.state.savePlan(st, tables, chunks);
                run.state.setChunkInterval(st, run.cfg.chunkInterval);
            }
            return tables.size() + " tables, " + chunks.size() + " chunks";
        });
        try (Connection st = run.state.connect()) {
            if (!planned) {
                warnIfIntervalChanged(run, st);
                // partitions added to the plan later are split like the rest of it
                String saved = run.state.chunkInterval(st);
                if (saved != null) run.cfg.chunkInterval = saved;
            }
            run.state.loadPlan(st, run.workDir.root(), run.getTables(), run.getChunks());
        }
        if (!planned) {
            List<TableInfo> now = onSource(run, c -> listTables(c, run));
            List<TableInfo> fresh = newPartitions(run, now);
            List<TableInfo> dropped = droppedOnSource(run, now);
            checkSelectionUnchanged(run, now, fresh, dropped);
            boolean grew = addNewPartitions(run, fresh);
            boolean marked = markDropped(run, dropped);
            followPartitionChanges(run, now, dropped);
            boolean recolumned = followColumnChanges(run, now);
            if (grew || marked || recolumned) reloadPlan(run); // whole: another instance may have added some of them
            warnDropped(run, dropped);
        }
        markHypertables(run);
        PlanFile.write(run, run.path("plan.yaml"));
        long done = run.getChunks().stream().filter(ch -> !List.of("planned", "exported", "gone").contains(ch.state)).count();
        run.counts("plan", run.getTables().size() + " tables, " + run.getChunks().size() + " chunks"
                + (done > 0 ? " (" + done + " already loaded)" : "") + "; plan in " + run.path("plan.yaml"));
    }

    /**
     * Tables of the plan whose columns on the source are no longer the plan's (an ALTER TABLE since; or another table
     * under the old name): a column added would not be copied, and a dropped one fails every chunk not copied yet. Where
     * the target's table has the source's columns now (the same change made there), the plan takes them, for the chunks
     * not copied yet, and says so; otherwise the run is refused, naming the changes. Returns whether the plan changed.
     */
    private static boolean followColumnChanges(MigrationRun run, List<TableInfo> now) throws Exception {
        Map<String, TableInfo> onSource = new java.util.HashMap<>();
        for (TableInfo t : now) onSource.put(t.qualified(), t);
        List<String> refused = new ArrayList<>();
        List<String> followed = new ArrayList<>();
        try (Connection tgt = Pg.connect("target", run.cfg.target); Connection st = run.state.connect()) {
            boolean pg12 = Pg.serverMajor(tgt) >= 12;
            for (TableInfo t : run.getTables()) {
                TableInfo src = onSource.get(t.qualified());
                // the same names in another order (a column dropped and added again) change nothing: COPY names them
                if (src == null || src.columns.isEmpty() || new java.util.HashSet<>(src.columns).equals(new java.util.HashSet<>(t.columns))) continue;
                List<String> added = src.columns.stream().filter(col -> !t.columns.contains(col)).map(Pg::ident).toList();
                List<String> gone = t.columns.stream().filter(col -> !src.columns.contains(col)).map(Pg::ident).toList();
                String change = t.shown() + " (" + (added.isEmpty() ? "" : "added " + String.join(", ", added))
                        + (!added.isEmpty() && !gone.isEmpty() ? "; " : "") + (gone.isEmpty() ? "" : "dropped " + String.join(", ", gone)) + ")";
                Map<Long, SizeAndColumns> onTarget = sizesAndColumns(tgt, oidsOf(tgt, t.qualified()), pg12);
                List<String> targetColumns = onTarget.isEmpty() ? List.of() : onTarget.values().iterator().next().columns();
                if (new java.util.HashSet<>(targetColumns).equals(new java.util.HashSet<>(src.columns))) {
                    run.state.setColumns(st, t, src.columns);
                    followed.add(change);
                } else {
                    refused.add(change);
                }
            }
        }
        if (!refused.isEmpty()) {
            throw new tsmigrate.run.Refusal("The columns of " + refused.size() + " table(s) of the plan changed on the source since the plan: "
                    + String.join("; ", refused.subList(0, Math.min(5, refused.size()))) + (refused.size() > 5 ? "; ..." : "")
                    + ". A column added would not be copied, and a dropped one fails every chunk not copied yet; nothing was copied.",
                    "Make the same change to the table on the target (ALTER TABLE ... ADD or DROP COLUMN): the next run copies the chunks"
                            + " left with the new columns. Or undo it on the source. If another table took the old name, leave it out"
                            + " or rename it; --restart plans again, but only while the target's tables hold no rows.");
        }
        if (!followed.isEmpty()) {
            run.warn("plan: the columns of " + followed.size() + " table(s) changed on the source since the plan, and on the target too: "
                    + String.join("; ", followed) + ". The chunks not copied yet are copied with the new columns; rows copied before"
                    + " keep what the target gave them (an added column's default), and are not verified again");
        }
        return !followed.isEmpty();
    }

    private static List<Long> oidsOf(Connection c, String qualified) throws SQLException {
        String oid = Pg.queryString(c, "SELECT pg_catalog.to_regclass(" + Pg.literal(qualified) + ")::oid::bigint");
        return oid == null ? List.of() : List.of(Long.parseLong(oid));
    }

    /** The plan as saved, in place of the one this run holds (which another run or instance has changed since). */
    static void reloadPlan(MigrationRun run) throws SQLException {
        run.getTables().clear();
        run.getChunks().clear();
        try (Connection st = run.state.connect()) {
            run.state.loadPlan(st, run.workDir.root(), run.getTables(), run.getChunks());
        }
    }

    /**
     * Partitions created on the source since the plan (pg_partman's next month, say), of a partitioned table whose
     * partitions the plan copies: created on the target if missing (their parent's indexes and keys come with the
     * attach), then planned, so that a resumed or catch-up run copies them too. Returns whether the plan grew.
     * Other new tables are left to checkSelectionUnchanged, which refuses them.
     */
    private boolean addNewPartitions(MigrationRun run, List<TableInfo> candidates) throws Exception {
        if (candidates.isEmpty()) return false;
        return run.state.withLock("plan-additions", () -> {
            Set<String> plannedNow = new java.util.HashSet<>();
            try (Connection st = run.state.connect()) {
                for (String[] t : run.state.plannedTables(st)) plannedNow.add(Pg.qualified(t[0], t[1]));
            }
            List<TableInfo> added = candidates.stream().filter(t -> !plannedNow.contains(t.qualified())).toList();
            if (added.isEmpty()) return true; // another instance added them
            // the partitions, and any new partitioned table between them and the copied parent
            List<String> create = new ArrayList<>();
            try (Connection tgt = Pg.connect("target", run.cfg.target)) {
                for (TableInfo t : added) {
                    List<String> chain = new ArrayList<>();
                    chain.add(t.qualified());
                    for (String[] a : t.ancestors) chain.add(Pg.qualified(a[0], a[1]));
                    for (String q : chain) {
                        String attached = Pg.queryString(tgt, "SELECT relispartition::text FROM pg_catalog.pg_class"
                                + " WHERE oid = pg_catalog.to_regclass(" + Pg.literal(q) + ")");
                        if (attached == null) {
                            if (!create.contains(q)) create.add(q);
                        } else if (!"true".equals(attached) && q.equals(t.qualified())) {
                            // its rows would go into a table that the target's parent does not see
                            throw new UserError("The new partition " + t.shown() + " exists on the target, but is not attached there"
                                    + " as a partition.", "Attach it on the target as on the source (ALTER TABLE ... ATTACH PARTITION),"
                                    + " or drop it there so that the next run makes it, then run again.");
                        }
                    }
                }
            }
            if (!create.isEmpty()) tsmigrate.schema.SchemaStep.createTables(run, create);
            List<Chunk> chunks = new ArrayList<>();
            onSource(run, c -> {
                int n = plannedNow.size();
                readAhead(c, run, added);
                for (TableInfo t : added) {
                    t.number = ++n;
                    chunks.addAll(chunksFor(c, run, t));
                }
                return null;
            });
            try (Connection st = run.state.connect()) {
                run.state.savePlan(st, added, chunks);
                run.state.forgetStep(st, "analyze"); // the new tables need their statistics too
            }
            run.warn("plan: " + added.size() + " partition(s) created on the source since the plan are added to it (created on the target: "
                    + create.size() + "): " + names(added.stream().map(TableInfo::qualified).toList()));
            return true;
        });
    }

    /**
     * Tables of the source now that the plan lacks and that are partitions of a partitioned table whose partitions the
     * plan copies: known from the source's planned partitions, or, where those are gone (dropped by a retention
     * policy), from the target's, which pre-data made.
     */
    private List<TableInfo> newPartitions(MigrationRun run, List<TableInfo> now) throws SQLException {
        Set<String> planned = new java.util.HashSet<>();
        for (TableInfo t : run.getTables()) planned.add(t.qualified());
        Set<String> copiedParents = new java.util.HashSet<>();
        for (TableInfo t : now) {
            if (planned.contains(t.qualified())) for (String[] a : t.ancestors) copiedParents.add(Pg.qualified(a[0], a[1]));
        }
        try (Connection tgt = Pg.connect("target", run.cfg.target)) {
            copiedParents.addAll(partitionedAncestors(tgt, planned));
        }
        return now.stream().filter(t -> !planned.contains(t.qualified())
                && t.ancestors.stream().anyMatch(a -> copiedParents.contains(Pg.qualified(a[0], a[1])))).toList();
    }

    /**
     * For the dry run: what a resumed migrate would refuse about this run's selection against the saved plan (tables
     * the plan lacks), as its message and advice; or null. Reads only.
     */
    public static String selectionRefusal(Connection src, Connection tgt, MigrationRun run) throws Exception {
        run.state.loadPlan(tgt, run.workDir.root(), run.getTables(), run.getChunks());
        Planner p = new Planner();
        List<TableInfo> now = p.listTables(src, run);
        try {
            p.checkSelectionUnchanged(run, now, p.newPartitions(run, now), droppedOnSource(run, now));
            return null;
        } catch (tsmigrate.run.Refusal r) {
            return r.getMessage() + " " + r.hint();
        }
    }

    /** Tables of the plan that the source no longer has (a partition past its retention, dropped; or renamed). */
    private static List<TableInfo> droppedOnSource(MigrationRun run, List<TableInfo> now) throws SQLException {
        Set<String> nowKeys = new java.util.HashSet<>();
        for (TableInfo t : now) nowKeys.add(t.qualified());
        List<TableInfo> missing = run.getTables().stream().filter(t -> !nowKeys.contains(t.qualified())).toList();
        if (missing.isEmpty()) return List.of();
        return onSource(run, c -> notOnSource(c, missing));
    }

    /** Those of the tables that the source does not have (by their names in the plan). */
    public static List<TableInfo> notOnSource(Connection src, List<TableInfo> tables) throws SQLException {
        Set<String> missing = new java.util.HashSet<>(Pg.missing(src, tables.stream().map(TableInfo::qualified).toList()));
        return tables.stream().filter(t -> missing.contains(t.qualified())).toList();
    }

    /**
     * Their chunks not copied yet cannot be: marked 'gone', so that the data step and verify pass them by (each run
     * failed on them, 'relation does not exist'). Returns whether any chunk changed.
     */
    private static boolean markDropped(MigrationRun run, List<TableInfo> dropped) throws SQLException {
        int n = 0;
        try (Connection st = run.state.connect()) {
            for (TableInfo t : dropped) n += run.state.markGone(st, t.number);
        }
        return n > 0;
    }

    /**
     * Named on every run: the target keeps the rows of theirs that were copied, and nothing more can come. (By the names
     * of the plan: a table renamed on the source looks dropped, and the new name is refused as a table the plan lacks.)
     */
    private static void warnDropped(MigrationRun run, List<TableInfo> dropped) {
        if (dropped.isEmpty()) return;
        Set<String> names = new java.util.HashSet<>();
        for (TableInfo t : dropped) names.add(t.qualified());
        long chunks = run.getChunks().stream().filter(ch -> ch.state.equals("gone") && names.contains(ch.table.qualified())).count();
        run.warn("plan: " + dropped.size() + " table(s) of the plan are no longer on the source (dropped, or renamed)"
                + (chunks > 0 ? "; " + chunks + " chunk(s) of theirs not copied before are skipped" : "")
                + "; the target keeps the rows copied: " + names(dropped.stream().map(TableInfo::qualified).toList()));
    }

    /**
     * Where a table of the plan, or a partitioned table above one, hangs on the source (its parent and bound) and where it
     * hangs on the target differ (attached, detached, moved or re-bounded since the plan; or dropped on the source): the
     * target's is detached and attached the same way, in one transaction. The rows of a table attached on the source only
     * were missing from its parent on the target, while verify, which compares each table, passed; a partition the source
     * dropped stays on the target with the rows copied before, detached like the source's (its parent's keys, rebuilt by
     * a later post-data from the source, would not cover it).
     */
    private void followPartitionChanges(MigrationRun run, List<TableInfo> now, List<TableInfo> dropped) throws Exception {
        Set<String> planned = new java.util.HashSet<>();
        for (TableInfo t : run.getTables()) planned.add(t.qualified());
        Set<String> names = new LinkedHashSet<>();
        for (TableInfo t : now) {
            if (!planned.contains(t.qualified())) continue;
            names.add(t.qualified());
            for (String[] a : t.ancestors) names.add(Pg.qualified(a[0], a[1]));
        }
        for (TableInfo t : dropped) names.add(t.qualified());
        if (names.isEmpty() || partitionChanges(run, names).isEmpty()) return;
        run.state.withLock("plan-additions", () -> {
            Map<String, Placement[]> changed = partitionChanges(run, names); // again: another instance may have done it
            if (changed.isEmpty()) return null;
            List<String> attached = new ArrayList<>();
            List<String> detached = new ArrayList<>();
            try (Connection tgt = Pg.connect("target", run.cfg.target); MigrationRun.OnStop stop = run.cancelOnStop(tgt)) {
                tgt.setAutoCommit(false);
                for (var e : changed.entrySet()) {
                    Placement source = e.getValue()[0];
                    if (source.parent() != null && !Pg.exists(tgt, source.parent())) {
                        throw new tsmigrate.run.Refusal(TableInfo.shown(e.getKey()) + " is a partition of " + TableInfo.shown(source.parent())
                                + " on the source since the plan, and the target has no " + TableInfo.shown(source.parent()) + "; this run copied nothing.",
                                "Create " + TableInfo.shown(source.parent()) + " on the target as on the source (without its partitions), then run"
                                        + " again: the run attaches " + TableInfo.shown(e.getKey()) + " to it.");
                    }
                }
                // detached first: a table may move to a range another one left
                for (var e : changed.entrySet()) {
                    Placement target = e.getValue()[1];
                    if (target.parent() == null) continue;
                    alterPartition(tgt, "ALTER TABLE " + target.parent() + " DETACH PARTITION " + e.getKey(),
                            "detach " + TableInfo.shown(e.getKey()) + " from " + TableInfo.shown(target.parent()));
                    detached.add(e.getKey() + " (from " + TableInfo.shown(target.parent()) + ")");
                }
                for (var e : changed.entrySet()) {
                    Placement source = e.getValue()[0];
                    if (source.parent() == null) continue;
                    // the bound as the source's server writes it (as pg_dump does): FOR VALUES ... or DEFAULT
                    alterPartition(tgt, "ALTER TABLE " + source.parent() + " ATTACH PARTITION " + e.getKey() + " " + source.bound(),
                            "attach " + TableInfo.shown(e.getKey()) + " to " + TableInfo.shown(source.parent()) + " " + source.bound());
                    attached.add(e.getKey() + " (to " + TableInfo.shown(source.parent()) + " " + source.bound() + ")");
                }
                tgt.commit();
            }
            try (Connection st = run.state.connect()) {
                run.state.forgetStep(st, "analyze"); // the parents' statistics change
            }
            if (!detached.isEmpty()) {
                run.warn("plan: " + detached.size() + " partition(s) detached (or dropped, or moved) on the source since the plan are detached on the"
                        + " target too, which keeps their rows: " + names(detached));
            }
            if (!attached.isEmpty()) {
                run.warn("plan: " + attached.size() + " table(s) attached as partitions on the source since the plan, or given another bound,"
                        + " are attached so on the target too: " + names(attached));
            }
            return null;
        });
    }

    private static void alterPartition(Connection tgt, String sql, String what) {
        try (java.sql.Statement s = tgt.createStatement()) {
            s.execute(sql);
        } catch (SQLException e) {
            throw new StepFailure("plan: cannot " + what + " on the target, as on the source since the plan: " + e.getMessage());
        }
    }

    /** A relation's place: its partitioned parent (quoted) and its bound, both null for one that is no partition. */
    private record Placement(String parent, String bound) {
    }

    /**
     * The relations among {@code names} placed differently on the two sides: {source's, target's}. One missing on the
     * source is no partition there; one missing on the target is skipped (pre-data or the new partitions make tables),
     * and so is a hypertable of the target, which is no partition.
     */
    private static Map<String, Placement[]> partitionChanges(MigrationRun run, Set<String> names) throws SQLException {
        Map<String, Placement> onTarget;
        Set<String> hypertablesOnTarget;
        Set<String> all = new LinkedHashSet<>(names);
        try (Connection tgt = Pg.connect("target", run.cfg.target)) {
            // the target's partitioned tables above them too: one the source no longer has between them is detached
            all.addAll(partitionedAncestors(tgt, names));
            onTarget = placements(tgt, all);
            hypertablesOnTarget = new java.util.HashSet<>();
            Set<String> keys = hypertables(tgt);
            if (!keys.isEmpty()) {
                try (PreparedStatement ps = tgt.prepareStatement("SELECT u.t FROM unnest(CAST(? AS text[])) u (t)"
                        + " JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass(u.t) JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                        + " WHERE n.nspname || '.' || c.relname = ANY (CAST(? AS text[]))")) {
                    ps.setArray(1, tgt.createArrayOf("text", all.toArray()));
                    ps.setArray(2, tgt.createArrayOf("text", keys.toArray()));
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) hypertablesOnTarget.add(rs.getString(1));
                    }
                }
            }
        }
        Map<String, Placement> onSource = onSource(run, c -> placements(c, all));
        Map<String, Placement[]> out = new LinkedHashMap<>();
        for (String r : all) {
            Placement t = onTarget.get(r);
            if (t == null || hypertablesOnTarget.contains(r)) continue;
            Placement s = onSource.getOrDefault(r, new Placement(null, null));
            if (!s.equals(t)) out.put(r, new Placement[] {s, t});
        }
        return out;
    }

    /** The partitioned tables above the relations (quoted names; those that exist), quoted. */
    private static Set<String> partitionedAncestors(Connection c, Set<String> names) throws SQLException {
        Set<String> out = new LinkedHashSet<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT DISTINCT n.nspname, c.relname FROM unnest(CAST(? AS text[])) u (t)"
                + " CROSS JOIN LATERAL pg_catalog.pg_partition_ancestors(pg_catalog.to_regclass(u.t)) a (rel)"
                + " JOIN pg_catalog.pg_class c ON c.oid = a.rel AND c.relkind = 'p' JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                + " WHERE pg_catalog.to_regclass(u.t) IS NOT NULL")) {
            ps.setArray(1, c.createArrayOf("text", names.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) out.add(Pg.qualified(rs.getString(1), rs.getString(2)));
            }
        }
        return out;
    }

    /** The placement of each of the relations that exists, by its quoted name as given. */
    private static Map<String, Placement> placements(Connection c, Set<String> names) throws SQLException {
        Map<String, Placement> out = new java.util.HashMap<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT u.t, pn.nspname, pc.relname, CASE WHEN c.relispartition"
                + " THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END"
                + " FROM unnest(CAST(? AS text[])) u (t) JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass(u.t)"
                + " LEFT JOIN pg_catalog.pg_inherits i ON c.relispartition AND i.inhrelid = c.oid"
                + " LEFT JOIN pg_catalog.pg_class pc ON pc.oid = i.inhparent LEFT JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace")) {
            ps.setArray(1, c.createArrayOf("text", names.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(rs.getString(1), new Placement(rs.getString(2) == null ? null : Pg.qualified(rs.getString(2), rs.getString(3)),
                            rs.getString(4)));
                }
            }
        }
        return out;
    }

    /** A read of the source's. */
    @FunctionalInterface
    interface SourceWork<T> {
        T run(Connection c) throws SQLException;
    }

    /**
     * work on the source: in the transaction that holds the exported snapshot where there is one, else on a connection
     * of its own; a stop cancels the statement it runs.
     */
    static <T> T onSource(MigrationRun run, SourceWork<T> work) throws SQLException {
        Connection c = run.snapshotHolder != null ? run.snapshotHolder : Pg.connect("source", run.cfg.source);
        try (MigrationRun.OnStop s = run.cancelOnStop(c);
             tsmigrate.report.LockWaits waits = tsmigrate.report.LockWaits.ofSession("plan", "source", run.cfg.source, c, run.cfg.progressSeconds)) {
            return work.run(c);
        } finally {
            if (c != run.snapshotHolder) Pg.closeQuietly(c);
        }
    }

    /**
     * A resumed run copies the tables of its plan. One it selects that the plan lacks (another --include, or a
     * table created on the source since) would never be copied: refused, before any data moves. One the plan has
     * that it no longer selects is still copied, and named.
     */
    private void checkSelectionUnchanged(MigrationRun run, List<TableInfo> source, List<TableInfo> newPartitions, List<TableInfo> dropped) {
        Set<String> adding = new java.util.HashSet<>();
        for (TableInfo t : newPartitions) adding.add(t.qualified());
        List<TableInfo> now = source.stream().filter(t -> !adding.contains(t.qualified())).toList();
        Set<String> plannedKeys = new java.util.HashSet<>();
        for (TableInfo t : run.getTables()) plannedKeys.add(t.qualified());
        Set<String> nowKeys = new java.util.HashSet<>();
        for (TableInfo t : now) nowKeys.add(t.qualified());
        for (TableInfo t : dropped) nowKeys.add(t.qualified()); // named by warnDropped
        List<String> added = now.stream().map(TableInfo::qualified).filter(k -> !plannedKeys.contains(k)).toList();
        List<String> left = run.getTables().stream().map(TableInfo::qualified).filter(k -> !nowKeys.contains(k)).toList();
        if (!added.isEmpty()) {
            // a table renamed on the source looks like a table dropped (from the plan) and one created (not in it)
            String renamed = dropped.isEmpty() ? "" : " If one is a table of the plan renamed on the source (the plan's "
                    + names(dropped.stream().map(TableInfo::qualified).toList()) + " no longer there), renaming it back on the"
                    + " source resumes the migration; excluding the new name leaves out its rows not copied yet, and on the target"
                    + " its keys and indexes (and a partition is detached from its parent there).";
            throw new tsmigrate.run.Refusal("This migration's plan, made by its first run, does not have " + added.size()
                    + " table(s) this run selects: " + names(added) + ". Their rows would never be copied; nothing was copied.",
                    "Run with the --include/--exclude of the first run, or --exclude these tables (a table created on the source"
                            + " since is not part of this migration: migrate it separately). --restart plans again, but only while the"
                            + " target's tables hold no rows." + renamed);
        }
        if (!left.isEmpty()) {
            run.warn("plan: " + left.size() + " table(s) of this migration's plan are not selected by this run, or are gone from the"
                    + " source: " + names(left) + "; the plan is kept (--restart plans again)");
        }
    }

    private static String names(List<String> tables) {
        return UserError.someOf(tables) + (tables.size() > 5 ? ", ..." : "");
    }

    /** A resumed run keeps its plan: a --chunk-interval other than the plan's (as an interval: 1 day = 24 hours) is named. */
    private static void warnIfIntervalChanged(MigrationRun run, Connection st) throws SQLException {
        String planned = run.state.chunkInterval(st);
        String now = run.cfg.chunkInterval;
        if (!run.cfg.chunkIntervalGiven || planned == null || planned.equals(now)) return;
        boolean same;
        try (PreparedStatement ps = st.prepareStatement("SELECT CAST(? AS interval) = CAST(? AS interval)")) {
            ps.setString(1, planned);
            ps.setString(2, now);
            try (ResultSet rs = ps.executeQuery()) {
                same = rs.next() && rs.getBoolean(1);
            }
        }
        if (!same) {
            run.warn("plan: this migration's chunks were planned with --chunk-interval " + planned + " in an earlier run; "
                    + now + " does not change them (--restart plans again, from the start)");
        }
    }

    /** Which tables are hypertables on either side (read without ONLY there); not saved: the target changes. */
    static void markHypertables(MigrationRun run) throws SQLException {
        java.util.Set<String> src;
        java.util.Set<String> tgt;
        try (Connection s = Pg.connect("source", run.cfg.source); Connection t = Pg.connect("target", run.cfg.target)) {
            src = hypertables(s);
            tgt = hypertables(t);
        }
        for (TableInfo t : run.getTables()) {
            t.hypertableOnSource = src.contains(t.key());
            t.hypertableOnTarget = tgt.contains(t.key());
        }
    }

    /** "schema.table" of every hypertable, or nothing without TimescaleDB. */
    public static java.util.Set<String> hypertables(Connection c) throws SQLException {
        java.util.Set<String> out = new java.util.HashSet<>();
        if (Pg.queryString(c, "SELECT to_regclass('timescaledb_information.hypertables')") == null) return out;
        try (PreparedStatement ps = c.prepareStatement("SELECT hypertable_schema, hypertable_name FROM timescaledb_information.hypertables");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) out.add(rs.getString(1) + "." + rs.getString(2));
        }
        return out;
    }

    /** Called by preflight, on a connection of its own: a bad interval is the user's error, not the plan's. */
    public static void validateInterval(Connection c, String interval) {
        // Months, days and time are added one after the other: a negative part can step a boundary backwards
        // (Jan 31 + 1 month - 29 days = Jan 30), and the plan would never end.
        try (PreparedStatement ps = c.prepareStatement("SELECT i > interval '0', extract(year FROM i) >= 0 AND extract(month FROM i) >= 0"
                + " AND extract(day FROM i) >= 0 AND extract(hour FROM i) >= 0 AND extract(minute FROM i) >= 0"
                + " AND extract(second FROM i) >= 0 FROM (SELECT CAST(? AS interval) AS i) v")) {
            ps.setString(1, interval);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                if (rs.getBoolean(1) && rs.getBoolean(2)) return;
                if (rs.getBoolean(1)) {
                    throw new UserError("The chunk interval '" + interval + "' has a negative part: its boundaries could step backwards.",
                            "Pass --chunk-interval with no negative part, like '1 day', '23 hours' or '1 month'.");
                }
            }
        } catch (SQLException e) {
            // fall through to the user error
        }
        throw new UserError("The chunk interval '" + interval + "' is not a positive PostgreSQL interval.",
                "Pass --chunk-interval like '1 day', '6 hours' or '1 month'.");
    }

    /**
     * Checks the user's table selection against the source before anything is written to the target:
     * include patterns that match nothing, and configured time columns that do not exist or are not times.
     */
    public static void validateSelection(Connection c, MigrationRun run) throws SQLException {
        Planner p = new Planner();
        Set<Integer> excludeUsed = new java.util.HashSet<>();
        for (TableInfo t : p.listTables(c, run, excludeUsed)) {
            if (t.configuredTimeColumn(run.cfg.timeColumns) != null) timeColumn(c, run, t);
        }
        // a warning, not a refusal (as an include's is): a job may exclude a table that exists only in some databases
        for (int i = 0; i < run.cfg.exclude.size(); i++) {
            if (!excludeUsed.contains(i)) {
                run.warn("preflight: the exclude pattern '" + run.cfg.exclude.get(i) + "' matches no table to copy: check its spelling (names are"
                        + " case-sensitive), or the table it meant is copied");
            }
        }
    }

    /**
     * The tables to copy whose rows row-level security would hide from the connected role: it enforces their
     * policies (not the owner, or FORCE ROW LEVEL SECURITY) and the role is neither superuser nor BYPASSRLS.
     */
    public static List<String> hiddenByRowSecurity(Connection c, MigrationRun run) throws SQLException {
        if (bypassesRowSecurity(c)) return List.of();
        return withRowSecurity(c, run, "relforcerowsecurity OR NOT pg_catalog.pg_has_role(relowner, 'USAGE')");
    }

    /**
     * The tables to copy whose row-level security is enabled and forced on their owner. On the target the
     * migrating role owns them (pg_restore --no-owner), and FORCE comes with pre-data, ENABLE with post-data.
     */
    public static List<String> forcedRowSecurity(Connection src, MigrationRun run) throws SQLException {
        return withRowSecurity(src, run, "relforcerowsecurity");
    }

    /**
     * Foreign keys of tables to copy, holding rows, that refer to a table whose rows are not copied (excluded, or not
     * included): post-data cannot add them on the target. As "child (name) refers to parent". A partitioned table
     * counts as copied when one of its partitions is.
     */
    public static List<String> foreignKeysToLeftOut(Connection c, MigrationRun run) throws SQLException {
        List<TableInfo> tables = new Planner().listTables(c, run);
        Set<Long> copied = new java.util.HashSet<>();
        for (TableInfo t : tables) copied.add(t.oid);
        // A partitioned table referred to: its partitions left out (none: its rows are copied through them). pg_partition_tree
        // is PostgreSQL 12's; before it, a foreign key could not refer to a partitioned table.
        String leftOutPartitions = Pg.serverMajor(c) >= 12
                ? " CASE WHEN r.relkind = 'p' THEN (SELECT coalesce(array_agg(pg_catalog.quote_ident(ln.nspname) || '.'"
                        + " || pg_catalog.quote_ident(lc.relname) ORDER BY lc.oid), '{}') FROM pg_catalog.pg_partition_tree(f.confrelid) pt"
                        + " JOIN pg_catalog.pg_class lc ON lc.oid = pt.relid JOIN pg_catalog.pg_namespace ln ON ln.oid = lc.relnamespace"
                        + " WHERE pt.isleaf AND NOT (pt.relid::bigint = ANY (CAST(? AS bigint[])))) END"
                : " CASE WHEN CAST(? AS bigint[]) IS NULL THEN NULL::text[] END";
        String sql = "SELECT f.conrelid::bigint, f.conname, rn.nspname, r.relname," + leftOutPartitions + ","
                + " (SELECT array_agg(a.attname::text ORDER BY k.o) FROM pg_catalog.unnest(f.conkey) WITH ORDINALITY k (attnum, o)"
                + " JOIN pg_catalog.pg_attribute a ON a.attrelid = f.conrelid AND a.attnum = k.attnum),"
                + " (SELECT array_agg(a.attname::text ORDER BY k.o) FROM pg_catalog.unnest(f.confkey) WITH ORDINALITY k (attnum, o)"
                + " JOIN pg_catalog.pg_attribute a ON a.attrelid = f.confrelid AND a.attnum = k.attnum)"
                + " FROM pg_catalog.pg_constraint f JOIN pg_catalog.pg_class r ON r.oid = f.confrelid"
                + " JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace"
                + " WHERE f.contype = 'f' AND f.conrelid::bigint = ANY (CAST(? AS bigint[])) AND NOT (f.confrelid::bigint = ANY (CAST(? AS bigint[])))"
                // an extension's table (PostGIS's spatial_ref_sys) comes with the extension, rows and all
                + " AND " + Pg.NOT_EXTENSION_MEMBER.replace("c.oid", "f.confrelid")
                // NOT VALID keys are added without a look at the rows; and a key to a partitioned table has a clone
                // per partition, on the same table: the key itself is judged
                + " AND f.convalidated AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k WHERE k.oid = f.conparentid"
                + " AND k.conrelid = f.conrelid)"
                + " ORDER BY 1, 2";
        java.sql.Array oids = c.createArrayOf("bigint", copied.toArray());
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setArray(1, oids);
            ps.setArray(2, oids);
            ps.setArray(3, oids);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String[] leftOut = rs.getArray(5) == null ? null : strings(rs.getArray(5));
                    if (leftOut != null && leftOut.length == 0) continue; // a partitioned table copied through all its partitions
                    long child = rs.getLong(1);
                    TableInfo t = tables.stream().filter(x -> x.oid == child).findFirst().orElseThrow();
                    // The key holds on the target unless a row refers to something: one whose key columns are all set
                    // (a NULL one refers to nothing). Such a row also says, the key being valid, that the table it refers
                    // to has rows, which are left out: that table is never read (a lock held on it would hold us up).
                    String[] fk = strings(rs.getArray(6));
                    List<String> refs = new ArrayList<>();
                    for (String col : fk) refs.add(Pg.ident(col) + " IS NOT NULL");
                    if (!"t".equals(Pg.queryString(c, "SELECT EXISTS (SELECT 1 FROM ONLY " + t.qualified() + " WHERE "
                            + String.join(" AND ", refs) + ")"))) continue;
                    String referenced = Pg.qualified(rs.getString(3), rs.getString(4));
                    if (leftOut == null) {
                        out.add(t.qualified() + " (" + rs.getString(2) + ") refers to " + referenced);
                        continue;
                    }
                    // Some partitions of the table referred to are left out: only rows referring into them fail the key
                    // on the target, so those partitions are read (QA: a key into one left out failed post-data).
                    String[] pk = strings(rs.getArray(7));
                    List<String> match = new ArrayList<>();
                    for (int i = 0; i < fk.length; i++) match.add("p." + Pg.ident(pk[i]) + " = ch." + Pg.ident(fk[i]));
                    List<String> hit = new ArrayList<>();
                    for (String partition : leftOut) {
                        if ("t".equals(Pg.queryString(c, "SELECT EXISTS (SELECT 1 FROM ONLY " + t.qualified() + " ch WHERE EXISTS"
                                + " (SELECT 1 FROM ONLY " + partition + " p WHERE " + String.join(" AND ", match) + "))"))) hit.add(partition);
                    }
                    if (!hit.isEmpty()) {
                        out.add(t.qualified() + " (" + rs.getString(2) + ") refers to rows of " + referenced + " in its partition(s) "
                                + String.join(", ", hit));
                    }
                }
            }
        }
        return out;
    }

    public static boolean bypassesRowSecurity(Connection c) throws SQLException {
        return "t".equals(Pg.queryString(c, "SELECT rolsuper OR rolbypassrls FROM pg_catalog.pg_roles WHERE rolname = current_user"));
    }

    /** The tables to copy with row-level security enabled and {@code condition} (on pg_class) true. */
    private static List<String> withRowSecurity(Connection c, MigrationRun run, String condition) throws SQLException {
        java.util.Set<Long> enforced = new java.util.HashSet<>();
        try (java.sql.Statement st = c.createStatement(); java.sql.ResultSet rs = st.executeQuery("SELECT oid::bigint FROM pg_catalog.pg_class"
                + " WHERE relrowsecurity AND (" + condition + ")")) {
            while (rs.next()) enforced.add(rs.getLong(1));
        }
        if (enforced.isEmpty()) return List.of();
        return new Planner().listTables(c, run).stream().filter(t -> enforced.contains(t.oid)).map(TableInfo::qualified).toList();
    }

    List<TableInfo> listTables(Connection c, MigrationRun run) throws SQLException {
        return listTables(c, run, new java.util.HashSet<>());
    }

    /** The tables to copy; excludeUsed gets the positions (in cfg.exclude) of the exclude patterns that left one out. */
    List<TableInfo> listTables(Connection c, MigrationRun run, Set<Integer> excludeUsed) throws SQLException {
        List<TablePattern> include = run.cfg.include.stream().map(TablePattern::parse).toList();
        List<TablePattern> exclude = run.cfg.exclude.stream().map(TablePattern::parse).toList();
        Set<TablePattern> includeUsed = new LinkedHashSet<>();
        boolean pg12 = Pg.serverMajor(c) >= 12;
        // a partition's partitioned ancestors, nearest first: patterns and timeColumns may name any of them
        // no size here: pg_table_size waits for a lock held on the table, and a table left out must not hold us up
        String sql = "SELECT c.oid, n.nspname, c.relname, c.reltuples::bigint,"
                + (pg12 ? " anc.schemas, anc.names" : " NULL, NULL")
                + " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                + (pg12 ? " LEFT JOIN LATERAL (SELECT array_agg(an.nspname::text ORDER BY a.o) AS schemas, array_agg(ar.relname::text ORDER BY a.o) AS names"
                        + " FROM pg_catalog.pg_partition_ancestors(c.oid) WITH ORDINALITY a (rel, o)"
                        + " JOIN pg_catalog.pg_class ar ON ar.oid = a.rel JOIN pg_catalog.pg_namespace an ON an.oid = ar.relnamespace"
                        + " WHERE a.rel <> c.oid) anc ON c.relispartition" : "")
                + " WHERE c.relkind = 'r' AND " + Pg.SYSTEM_SCHEMA_FILTER
 + " AND " + Pg.NOT_EXTENSION_MEMBER
                + " ORDER BY n.nspname, c.relname";
        List<Listed> listed = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                String schema = rs.getString(2);
                String name = rs.getString(3);
                String[] ancSchemas = strings(rs.getArray(5));
                String[] ancNames = strings(rs.getArray(6));
                if (!include.isEmpty()) {
                    boolean in = false;
                    for (TablePattern p : include) {
                        if (matches(p, schema, name, ancSchemas, ancNames)) {
                            in = true;
                            includeUsed.add(p);
                        }
                    }
                    if (!in) continue;
                }
                boolean out1 = false;
                for (int i = 0; i < exclude.size(); i++) {
                    if (matches(exclude.get(i), schema, name, ancSchemas, ancNames)) {
                        out1 = true;
                        excludeUsed.add(i);
                    }
                }
                if (out1) continue;
                listed.add(new Listed(rs.getLong(1), schema, name, rs.getLong(4), ancSchemas, ancNames));
            }
        }
        Map<Long, SizeAndColumns> sizes = sizesAndColumns(c, listed.stream().map(Listed::oid).toList(), pg12);
        List<TableInfo> out = new ArrayList<>();
        for (Listed l : listed) {
            SizeAndColumns sc = sizes.getOrDefault(l.oid(), new SizeAndColumns(0, List.of()));
            long est = l.reltuples() < 0 ? sc.bytes() / 100 : l.reltuples(); // never analyzed: guess ~100 bytes a row
            TableInfo t = new TableInfo(l.schema(), l.name(), l.oid(), sc.columns(), est, sc.bytes());
            for (int i = 0; i < l.ancNames().length; i++) t.ancestors.add(new String[] {l.ancSchemas()[i], l.ancNames()[i]});
            out.add(t);
        }
        for (TablePattern p : include) {
            if (!includeUsed.contains(p)) {
                throw new UserError("The include pattern '" + p + "' matches no table in the source.",
                        "Check the spelling; patterns are schema.table with * and ? (e.g. public.*), names are case-sensitive.");
            }
        }
        for (String key : run.cfg.timeColumns.keySet()) {
            Set<String> named = new LinkedHashSet<>();
            for (TableInfo t : out) {
                if (TableInfo.names(key, t.schema, t.name)) named.add(t.qualified());
                for (String[] a : t.ancestors) if (TableInfo.names(key, a[0], a[1])) named.add(Pg.qualified(a[0], a[1]));
            }
            if (named.isEmpty()) {
                throw new UserError("timeColumns names the table '" + key + "', which is not among the tables to copy.",
                        "Write it as schema.table exactly as in the source (e.g. public.metrics), with double quotes around a"
                                + " part that holds a dot (\"a.b\".c); a partitioned table's setting applies to its partitions.");
            }
            if (named.size() > 1 && key.indexOf('"') < 0) {
                throw new UserError("timeColumns names the table '" + key + "', which could be any of " + String.join(", ", named) + ".",
                        "Put double quotes around the parts, e.g. " + named.iterator().next() + ".");
            }
        }
        return out;
    }

    /** Whether the pattern names the table or one of its partitioned ancestors. */
    private static boolean matches(TablePattern p, String schema, String name, String[] ancSchemas, String[] ancNames) {
        if (p.matches(schema, name)) return true;
        for (int i = 0; i < ancNames.length; i++) if (p.matches(ancSchemas[i], ancNames[i])) return true;
        return false;
    }

    private static String[] strings(java.sql.Array a) throws SQLException {
        return a == null ? new String[0] : (String[]) a.getArray();
    }

    private record Listed(long oid, String schema, String name, long reltuples, String[] ancSchemas, String[] ancNames) {
    }

    private record SizeAndColumns(long bytes, List<String> columns) {
    }

    /**
     * The tables' sizes and columns by oid, in one round trip for all of them: the size with TOAST (a table of big
     * documents is mostly TOAST). A table dropped since it was listed has size 0 and no columns.
     */
    private static Map<Long, SizeAndColumns> sizesAndColumns(Connection c, List<Long> oids, boolean pg12) throws SQLException {
        Map<Long, SizeAndColumns> out = new java.util.HashMap<>();
        if (oids.isEmpty()) return out;
        String sql = "SELECT r.oid, coalesce(pg_catalog.pg_table_size(r.oid), 0),"
                + " (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_catalog.pg_attribute a"
                + " WHERE a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped" + (pg12 ? " AND a.attgenerated = ''" : "") + ")"
                + " FROM pg_catalog.unnest(?::oid[]) r(oid)";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setArray(1, c.createArrayOf("bigint", oids.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) out.put(rs.getLong(1), new SizeAndColumns(rs.getLong(2), List.of(strings(rs.getArray(3)))));
            }
        }
        return out;
    }

    List<Chunk> chunksFor(Connection c, MigrationRun run, TableInfo t) throws SQLException {
        Path dir = run.workDir.root().resolve(t.dirName());
        String[] time = timeColumnOf(c, run, t);
        List<String[]> ranges; // {predicate, range in words}
        if (time != null && (ranges = timeRangesWithinTimestamps(c, run, t, time, knownMinMax.get(t.oid))) != null) {
            // split by time; ranges set above
        } else if (t.estimatedRows > run.cfg.splitRows && (ranges = keyRanges(c, run, t)) != null) {
            // split by primary key; ranges set above
        } else {
            ranges = List.<String[]>of(new String[] {null, "all rows"});
        }
        List<Chunk> chunks = new ArrayList<>();
        int n = 0;
        for (String[] r : ranges) {
            n++;
            chunks.add(new Chunk(t, n, r[0], r[1], dir.resolve(String.format("%06d.csv", n))));
        }
        LOG.info("plan: {} -> {} chunk(s), {}", t.shown(), chunks.size(), t.split);
        return chunks;
    }

    /**
     * A source hypertable: one chunk per source chunk range (its real boundaries), read without ONLY (its rows
     * live in its chunks; compressed ones decompress as they are read). The last range stops at the
     * high-water mark, like any time split, so --catch-up can take what comes after.
     */
    List<Chunk> hypertableChunks(Connection c, MigrationRun run, TableInfo t, tsmigrate.timescale.SourceHypertables.Hypertable ht)
            throws SQLException {
        t.hypertableOnSource = true;
        Path dir = run.workDir.root().resolve(t.dirName());
        String qc = Pg.ident(ht.timeColumn());
        String cast = " AS " + ht.timeType() + ")";
        String max = Pg.queryString(c, "SELECT max(" + qc + ")::text FROM " + t.qualified());
        boolean finiteTime = !ht.integerTime();
        String hwm = max == null ? null : ht.integerTime() ? max : Pg.literal(max);
        List<Chunk> out = new ArrayList<>();
        List<tsmigrate.timescale.SourceHypertables.ChunkRange> ranges = ht.chunks();
        int n = 0;
        // no finite time now: every one is catch-up's (see timeRanges), so the bulk copy takes only infinite ones
        String noMark = finiteTime ? "(" + qc + " = CAST('-infinity'" + cast + " OR " + qc + " = CAST('infinity'" + cast + ")" : "false";
        for (tsmigrate.timescale.SourceHypertables.ChunkRange r : ranges) {
            List<String> conds = new ArrayList<>();
            if (r.start() != null) conds.add(qc + " >= CAST(" + r.start() + cast);
            if (r.end() != null) conds.add(qc + " < CAST(" + r.end() + cast);
            n++;
            if (n == ranges.size() && hwm != null) {
                conds.add("(" + qc + " <= CAST(" + hwm + cast + (finiteTime ? " OR " + qc + " = CAST('infinity'" + cast : "") + ")");
            }
            if (hwm == null) conds.add(noMark);
            out.add(new Chunk(t, n, conds.isEmpty() ? null : String.join(" AND ", conds),
                    "[" + (r.start() == null ? "-inf" : r.start()) + ", " + (r.end() == null ? "+inf" : r.end()) + ")"
                            + (r.compressed() ? " compressed" : ""),
                    dir.resolve(String.format("%06d.csv", n))));
        }
        if (out.isEmpty()) out.add(new Chunk(t, 1, hwm == null ? noMark : null, "all rows", dir.resolve(String.format("%06d.csv", 1))));
        t.timeColumn = ht.timeColumn();
        t.timeType = ht.timeType();
        t.highWater = max;
        t.split = "by the source's " + ranges.size() + " hypertable chunk range(s) on " + ht.timeColumn() + " (" + ht.timeType() + ")";
        LOG.info("plan: {} -> {} chunk(s), {}", t.shown(), out.size(), t.split);
        return out;
    }

    /** What the planner needs to know of a table's candidate time column; see TIME_COLUMNS. */
    private static final String TIME_COLUMN_FIELDS = "a.attname, pg_catalog.format_type(a.atttypid, NULL), a.attnotnull,"
            + " EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = a.attrelid AND i.indkey[0] = a.attnum) AS leads,"
            // what the planner's probes need: an index that finds the next value at once
            + " EXISTS (SELECT 1 FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid"
            + " JOIN pg_catalog.pg_am am ON am.oid = ic.relam WHERE i.indrelid = a.attrelid AND i.indkey[0] = a.attnum"
            + " AND am.amname = 'btree' AND i.indpred IS NULL AND i.indisvalid) AS ordered";

    /**
     * Each table's column to split on, in one round trip for all of them (a distant source costs a round trip per
     * statement): the configured one, else the time-typed column an index leads with, first in column order.
     */
    private static final String TIME_COLUMNS = "SELECT u.oid, x.* FROM ROWS FROM (pg_catalog.unnest(?::oid[]), pg_catalog.unnest(?::text[])) AS u (oid, configured)"
            + " LEFT JOIN LATERAL (SELECT " + TIME_COLUMN_FIELDS + " FROM pg_catalog.pg_attribute a"
            + " WHERE a.attrelid = u.oid AND a.attnum > 0 AND NOT a.attisdropped AND CASE WHEN u.configured IS NOT NULL"
            + " THEN a.attname = u.configured ELSE a.atttypid IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype) END"
            + " ORDER BY leads DESC, a.attnum LIMIT 1) x ON true";

    /** Time columns (rows of TIME_COLUMNS, attname null where there is none) and whole tables' {min, max}, by oid. */
    private final Map<Long, String[]> knownTimeColumns = new java.util.HashMap<>();
    private final Map<Long, String[]> knownMinMax = new java.util.HashMap<>();

    private static final Set<String> TIME_TYPES = Set.of("timestamp with time zone", "timestamp without time zone", "date");

    /** Tables whose min and max times one statement reads: a few hundred small aggregates plan in moments. */
    private static final int MIN_MAX_PER_STATEMENT = 200;

    /**
     * Reads ahead, in a few statements, what planning each table would ask the source one table at a time: its time
     * column and, for a table that will be one chunk (small, no interval asked for), its min and max time. With 2,000
     * tables that was 4,000 round trips, minutes against a distant source.
     */
    void readAhead(Connection c, MigrationRun run, List<TableInfo> tables) throws SQLException {
        if (tables.isEmpty()) return;
        try (PreparedStatement ps = c.prepareStatement(TIME_COLUMNS)) {
            Object[] oids = new Object[tables.size()];
            Object[] configured = new Object[tables.size()];
            for (int i = 0; i < tables.size(); i++) {
                oids[i] = tables.get(i).oid;
                configured[i] = tables.get(i).configuredTimeColumn(run.cfg.timeColumns);
            }
            ps.setArray(1, c.createArrayOf("bigint", oids));
            ps.setArray(2, c.createArrayOf("text", configured));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) knownTimeColumns.put(rs.getLong(1), timeColumnRow(rs, 2));
            }
        }
        List<TableInfo> whole = new ArrayList<>();
        for (TableInfo t : tables) {
            String[] row = knownTimeColumns.get(t.oid);
            // a configured column of another type is refused with its own message (judgeTimeColumn), not by this read
            if (isWhole(run, t) && row != null && row[0] != null && TIME_TYPES.contains(row[1])) whole.add(t);
        }
        for (int from = 0; from < whole.size(); from += MIN_MAX_PER_STATEMENT) {
            List<TableInfo> some = whole.subList(from, Math.min(whole.size(), from + MIN_MAX_PER_STATEMENT));
            StringBuilder sql = new StringBuilder();
            for (int i = 0; i < some.size(); i++) {
                TableInfo t = some.get(i);
                String[] row = knownTimeColumns.get(t.oid);
                if (i > 0) sql.append(" UNION ALL ");
                sql.append("(SELECT ").append(i).append(", ").append(minMaxOf(t, Pg.ident(row[0]), row[1])).append(")");
            }
            try (PreparedStatement ps = c.prepareStatement(sql.toString()); ResultSet rs = ps.executeQuery()) {
                while (rs.next()) knownMinMax.put(some.get(rs.getInt(1)).oid, new String[] {rs.getString(2), rs.getString(3)});
            }
        }
    }

    /** min and max of the finite times of the table (a select list and its FROM). */
    private static String minMaxOf(TableInfo t, String qc, String type) {
        return "min(" + qc + ")::text, max(" + qc + ")::text FROM ONLY " + t.qualified() + " WHERE " + qc + " > CAST('-infinity' AS " + type
                + ") AND " + qc + " < CAST('infinity' AS " + type + ")";
    }

    /** A small table is one chunk (its NULL times too), unless the interval was asked for: see timeRanges. */
    private static boolean isWhole(MigrationRun run, TableInfo t) {
        return !run.cfg.chunkIntervalGiven && t.bytes < SMALL_TABLE_BYTES;
    }

    /** {name, type, notnull, leads, ordered} from a TIME_COLUMN_FIELDS row starting at column `at`; name null if none. */
    private static String[] timeColumnRow(ResultSet rs, int at) throws SQLException {
        return new String[] {rs.getString(at), rs.getString(at + 1), rs.getBoolean(at + 2) ? "t" : "f", rs.getBoolean(at + 3) ? "t" : "f",
                rs.getBoolean(at + 4) ? "t" : "f"};
    }

    /** The table's time column as read ahead, or read now. */
    private String[] timeColumnOf(Connection c, MigrationRun run, TableInfo t) throws SQLException {
        String[] row = knownTimeColumns.get(t.oid);
        return row != null ? judgeTimeColumn(run, t, row) : timeColumn(c, run, t);
    }

    /** {name, type, notnull "t"/"f", a whole valid btree index leads with it "t"/"f"} of the column to split on, or null. */
    private static String[] timeColumn(Connection c, MigrationRun run, TableInfo t) throws SQLException {
        String configured = t.configuredTimeColumn(run.cfg.timeColumns);
        String sql = "SELECT " + TIME_COLUMN_FIELDS
                + " FROM pg_catalog.pg_attribute a WHERE a.attrelid = ? AND a.attnum > 0 AND NOT a.attisdropped"
                + (configured != null ? " AND a.attname = ?"
                        : " AND a.atttypid IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype)")
                + " ORDER BY leads DESC, a.attnum LIMIT 1";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setLong(1, t.oid);
            if (configured != null) ps.setString(2, configured);
            try (ResultSet rs = ps.executeQuery()) {
                return judgeTimeColumn(run, t, rs.next() ? timeColumnRow(rs, 1) : new String[5]);
            }
        }
    }

    /** The column to split on from what the source says of it ({name, type, notnull, leads, ordered}), or null. */
    private static String[] judgeTimeColumn(MigrationRun run, TableInfo t, String[] row) {
        String configured = t.configuredTimeColumn(run.cfg.timeColumns);
        if (row[0] == null) {
            if (configured != null) {
                throw new UserError("The time column '" + configured + "' configured for " + t.qualified() + " does not exist.",
                        "Fix timeColumns in the job file; the column names of the table are: " + String.join(", ", t.columns) + ".");
            }
            return null;
        }
        String type = row[1];
        if (configured != null && !TIME_TYPES.contains(type)) {
            throw new UserError("The time column '" + configured + "' of " + t.qualified() + " is of type " + type + ".",
                    "A time column must be timestamptz, timestamp or date.");
        }
        // Without an index each range would scan the whole table: not worth it unless asked for.
        if (configured == null && !"t".equals(row[3])) return null;
        return new String[] {row[0], type, row[2], row[4]};
    }

    /**
     * Time ranges, or null when the column's values reach past the last timestamp (294276 AD), where stepping
     * through them overflows: such a table is then split as if it had no time column.
     */
    private static List<String[]> timeRangesWithinTimestamps(Connection c, MigrationRun run, TableInfo t, String[] time, String[] minMax)
            throws SQLException {
        // The planner may read in the transaction that holds the exported snapshot: an error must not end it. A table
        // read ahead as one chunk asks nothing more.
        java.sql.Savepoint sp = c.getAutoCommit() || (minMax != null && isWhole(run, t)) ? null : c.setSavepoint();
        try {
            List<String[]> ranges = timeRanges(c, run, t, time[0], time[1], "t".equals(time[2]), "t".equals(time[3]), minMax);
            if (sp != null) c.releaseSavepoint(sp);
            return ranges;
        } catch (SQLException e) {
            if (!"22008".equals(e.getSQLState())) throw e; // datetime_field_overflow
            if (sp != null) c.rollback(sp);
            // Either the values are near the end or the interval is huge ('300000 years'): name both.
            run.warn("plan: " + t.qualified() + ": the values of " + time[0] + ", stepped by the chunk interval '" + run.cfg.chunkInterval
                    + "', reach the end of the timestamp range (294276 AD), so it is not split by time (" + Faults.firstLine(e) + ")");
            t.timeColumn = null;
            t.timeType = null;
            t.highWater = null;
            return null;
        }
    }

    private static List<String[]> timeRanges(Connection c, MigrationRun run, TableInfo t, String col, String type, boolean notNull,
            boolean indexed, String[] knownMinMax) throws SQLException {
        String qc = Pg.ident(col);
        String lo = "CAST('-infinity' AS " + type + ")";
        String hi = "CAST('infinity' AS " + type + ")";
        String min;
        String max;
        if (knownMinMax != null) {
            min = knownMinMax[0];
            max = knownMinMax[1];
        } else {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + minMaxOf(t, qc, type)); ResultSet rs = ps.executeQuery()) {
                rs.next();
                min = rs.getString(1);
                max = rs.getString(2);
            }
        }
        // A small table is one chunk (its NULL times too), unless the interval was asked for: each chunk costs a claim,
        // a transaction on each side and state writes (~5 ms on two cores), more than a few MiB take to copy.
        boolean whole = isWhole(run, t);
        // a date column steps whole days: an interval with part of a day is rounded up (13 hours: 1 day)
        String interval = type.equals("date") && !whole ? wholeDays(c, run.cfg.chunkInterval) : run.cfg.chunkInterval;
        long widen = 1;
        List<String> bounds;
        if (min == null || whole) {
            bounds = List.of();
        } else if (indexed) {
            // index probes skip the empty stretches; more non-empty intervals than the limit: wider ones, as wide as
            // it takes (at most the whole span: then there is no boundary)
            while ((bounds = probedBoundaries(c, t, qc, type, min, max, interval, widen, MAX_CHUNKS_PER_TABLE + 1)).size()
                    > MAX_CHUNKS_PER_TABLE) {
                widen *= 2;
            }
            if (widen > 1) {
                run.warn("plan: " + t.qualified() + " has more than " + MAX_CHUNKS_PER_TABLE + " intervals of " + interval
                        + " that hold rows; using " + widen + " times that interval instead");
            }
        } else {
            // the width first, from the span: generating every step of a tiny interval over a long span (to count
            // them) once filled the server's disk with a sort
            long span = spanInIntervals(c, type, min, max, interval);
            widen = Math.max(1, (span + MAX_CHUNKS_PER_TABLE - 1) / MAX_CHUNKS_PER_TABLE);
            while ((bounds = boundaries(c, type, min, max, interval, widen, MAX_CHUNKS_PER_TABLE + 1)).size() > MAX_CHUNKS_PER_TABLE) {
                widen *= 2; // months counted as 30 days made too few
            }
            if (widen > 1) {
                run.warn("plan: " + t.qualified() + " spans " + min + " .. " + max + ", which would be " + span + " chunks of "
                        + interval + "; using " + widen + " times that interval instead");
            }
        }
        t.timeColumn = col;
        t.timeType = type;
        t.highWater = max;
        t.split = "by " + col + " (" + type + "), " + (whole ? "one range (under " + SMALL_TABLE_BYTES / (1 << 20) + " MiB)"
                : (widen == 1 ? interval : widen + " x " + interval) + " ranges") + (min == null ? " (no finite values)" : " from " + min + " to " + max);
        List<String[]> ranges = new ArrayList<>();
        String cast = " AS " + type + ")";
        // Rows above the high-water mark are left to --catch-up, so a row written during the copy is
        // copied once, by one or the other; +infinity stays with the bulk copy.
        // Without a finite time now, every finite time is catch-up's (it has no mark to start above): a resumed run, in a
        // snapshot of its own, would otherwise copy rows written since, and catch-up the same again.
        String upTo = max == null ? " AND (" + qc + " = " + lo + " OR " + qc + " = " + hi + ")"
                : " AND (" + qc + " <= CAST(" + Pg.literal(max) + cast + " OR " + qc + " = " + hi + ")";
        if (whole) {
            // the rows a catch-up would take (above the mark) stay out, as in any time split
            ranges.add(new String[] {"(" + qc + " IS NULL OR (" + qc + " IS NOT NULL" + upTo + "))",
                    max == null ? "all rows without a finite " + col : "all rows up to " + col + " " + max});
            return ranges;
        }
        if (bounds.isEmpty()) {
            ranges.add(new String[] {qc + " IS NOT NULL" + upTo, max == null ? "infinite " + col : "all non-NULL " + col + " up to " + max});
        } else {
            ranges.add(new String[] {qc + " < CAST(" + Pg.literal(bounds.get(0)) + cast, "(-infinity, " + bounds.get(0) + ")"});
            for (int i = 1; i < bounds.size(); i++) {
                ranges.add(new String[] {qc + " >= CAST(" + Pg.literal(bounds.get(i - 1)) + cast + " AND " + qc + " < CAST("
                        + Pg.literal(bounds.get(i)) + cast, "[" + bounds.get(i - 1) + ", " + bounds.get(i) + ")"});
            }
            String last = bounds.get(bounds.size() - 1);
            ranges.add(new String[] {qc + " >= CAST(" + Pg.literal(last) + cast + upTo, "[" + last + ", " + max + "] and infinity"});
        }
        if (!notNull) ranges.add(new String[] {qc + " IS NULL", col + " IS NULL"});
        return ranges;
    }

    /**
     * Boundaries from min on, widen * interval apart, except across a stretch with no rows: where the interval
     * after a boundary holds none, the next boundary is the next row's own value, found by an index probe. So a
     * far outlier (a 9999-12-31 sentinel) adds one chunk, not thousands of empty ones, and every chunk holds rows.
     * One statement (a recursive query, one probe per boundary), so a distant source costs one round trip.
     */
    private static List<String> probedBoundaries(Connection c, TableInfo t, String qc, String type, String min, String max,
            String interval, long widen, int limit) throws SQLException {
        String series = seriesType(type);
        String step = "? * CAST(? AS interval)";
        String sql = "WITH RECURSIVE b(v) AS (SELECT CAST(CAST(? AS " + type + ") AS " + series + ")"
                + " UNION ALL SELECT CASE WHEN n.nxt >= s.nv + " + step + " THEN CAST(n.nxt AS " + series + ") ELSE s.nv END"
                + " FROM b CROSS JOIN LATERAL (SELECT b.v + " + step + " AS nv) s"
                + " CROSS JOIN LATERAL (SELECT min(" + qc + ") AS nxt FROM ONLY " + t.qualified()
                + " WHERE " + qc + " >= s.nv AND " + qc + " <= CAST(? AS " + type + ")) n"
                + " WHERE n.nxt IS NOT NULL)"
                + " SELECT CAST(v AS " + type + ")::text FROM b WHERE CAST(v AS " + type + ") > CAST(? AS " + type + ") LIMIT " + limit;
        List<String> out = new ArrayList<>();
        for (String v : texts(c, sql, min, widen, interval, widen, interval, max, min)) {
            // a date column with a sub-day interval: consecutive boundaries can fall on one day
            if (out.isEmpty() || !out.get(out.size() - 1).equals(v)) out.add(v);
        }
        return out;
    }

    /** The type to step through a column's values in: date has no generate_series and no date + interval. */
    private static String seriesType(String type) {
        return type.equals("timestamp with time zone") ? "timestamptz" : "timestamp";
    }

    /** The first column of a query's rows, as text; the parameters bound in order (Long or String). */
    private static List<String> texts(Connection c, String sql, Object... params) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) {
                if (params[i] instanceof Long n) ps.setLong(i + 1, n);
                else ps.setString(i + 1, (String) params[i]);
            }
            List<String> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) out.add(rs.getString(1));
            }
            return out;
        }
    }

    /** The interval rounded up to whole days, for a date column ('13 hours': '1 day', '36 hours': '2 days'). */
    private static String wholeDays(Connection c, String interval) throws SQLException {
        return texts(c, "SELECT CASE WHEN justify_hours(i) = date_trunc('day', justify_hours(i)) THEN i"
                + " ELSE date_trunc('day', justify_hours(i)) + interval '1 day' END::text FROM (SELECT CAST(? AS interval) AS i) v", interval).get(0);
    }

    /** About how many intervals lie between min and max (months count as 30 days), without generating them. */
    private static long spanInIntervals(Connection c, String type, String min, String max, String interval) throws SQLException {
        String series = seriesType(type);
        try (PreparedStatement ps = c.prepareStatement("SELECT ceil(extract(epoch FROM CAST(CAST(? AS " + type + ") AS " + series
                + ") - CAST(CAST(? AS " + type + ") AS " + series + ")) / extract(epoch FROM CAST(? AS interval)))::bigint")) {
            ps.setString(1, max);
            ps.setString(2, min);
            ps.setString(3, interval);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    /** min + k * widen * interval for k >= 1 while <= max, as text in the column's type, without repeats (dates). */
    private static List<String> boundaries(Connection c, String type, String min, String max, String interval, long widen, int limit)
            throws SQLException {
        String series = seriesType(type);
        String v = "CAST(g AS " + type + ")";
        String sql = "SELECT bt FROM (SELECT DISTINCT " + v + " AS bv, " + v + "::text AS bt FROM pg_catalog.generate_series("
                + "CAST(CAST(? AS " + type + ") AS " + series + ") + ? * CAST(? AS interval),"
                + " CAST(CAST(? AS " + type + ") AS " + series + "), ? * CAST(? AS interval)) g"
                + " WHERE " + v + " > CAST(? AS " + type + ")) b ORDER BY bv LIMIT " + limit;
        return texts(c, sql, min, widen, interval, max, widen, interval, min);
    }

    /** Ranges of a single-column integer primary key, about splitRows rows each; null when there is no such key. */
    private static List<String[]> keyRanges(Connection c, MigrationRun run, TableInfo t) throws SQLException {
        String key;
        try (PreparedStatement ps = c.prepareStatement("SELECT a.attname FROM pg_catalog.pg_index i JOIN pg_catalog.pg_attribute a"
                + " ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] WHERE i.indrelid = ? AND i.indisprimary AND i.indnatts = 1"
                + " AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)")) {
            ps.setLong(1, t.oid);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) return null;
                key = rs.getString(1);
            }
        }
        String qk = Pg.ident(key);
        long min;
        long max;
        try (PreparedStatement ps = c.prepareStatement("SELECT min(" + qk + "), max(" + qk + ") FROM ONLY " + t.qualified());
             ResultSet rs = ps.executeQuery()) {
            rs.next();
            if (rs.getObject(1) == null) return null;
            min = rs.getLong(1);
            max = rs.getLong(2);
        }
        long pieces = Math.min(MAX_CHUNKS_PER_TABLE, (t.estimatedRows + run.cfg.splitRows - 1) / run.cfg.splitRows);
        // Width in BigInteger terms: max - min can overflow a long for bigint keys spanning the whole range.
        java.math.BigInteger span = java.math.BigInteger.valueOf(max).subtract(java.math.BigInteger.valueOf(min)).add(java.math.BigInteger.ONE);
        java.math.BigInteger step = span.add(java.math.BigInteger.valueOf(pieces - 1)).divide(java.math.BigInteger.valueOf(pieces));
        List<Long> bounds = new ArrayList<>();
        for (long k = 1; k < pieces; k++) {
            java.math.BigInteger b = java.math.BigInteger.valueOf(min).add(step.multiply(java.math.BigInteger.valueOf(k)));
            if (b.compareTo(java.math.BigInteger.valueOf(max)) > 0) break;
            bounds.add(b.longValue());
        }
        if (bounds.isEmpty()) return null;
        t.split = "by primary key " + key + ", " + (bounds.size() + 1) + " ranges of about " + step + " values";
        List<String[]> ranges = new ArrayList<>();
        ranges.add(new String[] {qk + " < " + bounds.get(0), "(-inf, " + bounds.get(0) + ")"});
        for (int i = 1; i < bounds.size(); i++) {
            ranges.add(new String[] {qk + " >= " + bounds.get(i - 1) + " AND " + qk + " < " + bounds.get(i),
                    "[" + bounds.get(i - 1) + ", " + bounds.get(i) + ")"});
        }
        ranges.add(new String[] {qk + " >= " + bounds.get(bounds.size() - 1), "[" + bounds.get(bounds.size() - 1) + ", inf)"});
        return ranges;
    }

    /** For the plan file: chunks per table, in plan order. */
    static Map<TableInfo, List<Chunk>> byTable(List<Chunk> chunks) {
        Map<TableInfo, List<Chunk>> m = new LinkedHashMap<>();
        for (Chunk ch : chunks) m.computeIfAbsent(ch.table, k -> new ArrayList<>()).add(ch);
        return m;
    }
}
