package tsmigrate.preflight;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import tsmigrate.db.Pg;
import tsmigrate.plan.Planner;
import tsmigrate.run.MigrationRun;
import tsmigrate.run.Refusal;
import tsmigrate.run.UserError;
import tsmigrate.schema.PgTool;
import tsmigrate.state.StateStore;

/**
 * The preflight step: everything that can be checked before the target is touched. A refusal here
 * leaves the target exactly as it was.
 */
public class Preflight {
    private static final Logger LOG = LoggerFactory.getLogger(Preflight.class);

    public void run(MigrationRun run) throws SQLException {
        run.workDir.prepare();
        if (run.cfg.source.host().equals(run.cfg.target.host()) && run.cfg.source.port() == run.cfg.target.port()
                && run.cfg.source.database().equals(run.cfg.target.database())) {
            throw new UserError("Source and target are the same database (" + run.cfg.target.masked() + ").",
                    "The target must be a different, empty database.");
        }
        run.workDirLease = tsmigrate.run.WorkDirLease.take(run.workDir, run.state.migrationId,
                run.cfg.source.masked() + " -> " + run.cfg.target.masked());
        // ours now: what a killed run of it left beside pg_dump or pg_restore goes (its passfile holds the password)
        try {
            tsmigrate.schema.PgTool.removeLeftovers(run.workDir.root());
        } catch (java.io.IOException e) {
            run.warn("preflight: cannot clear what an earlier run left in the work dir: " + e.getMessage());
        }
        try (Connection src = Pg.connect("source", run.cfg.source); Connection tgt = Pg.connect("target", run.cfg.target);
                MigrationRun.OnStop s = run.cancelOnStop(src);
                tsmigrate.report.LockWaits waits = tsmigrate.report.LockWaits.ofSession("preflight", "source", run.cfg.source, src,
                        run.cfg.progressSeconds);
                tsmigrate.report.LockWaits targetWaits = tsmigrate.report.LockWaits.ofSession("preflight", "target", run.cfg.target, tgt,
                        run.cfg.progressSeconds)) {
            checkBoth(run, src, tgt);
            boolean known = run.state.exists(tgt);
            if (known && run.cfg.restart) {
                confirmRestart(run);
                // before forgetting: a refusal must leave the progress there, to resume
                if (run.runs("preflight")) checkTargetEmpty(run, tgt);
                if (run.runs("pre-data")) checkNoEarlierSchema(run, tgt);
                run.state.forget(tgt);
                known = false;
            }
            if (known && run.cfg.catchUp && !run.state.dataFinishedOnce(tgt)) {
                throw new UserError("There is no finished migration to catch up: the data step of this migration has not completed.",
                        "Run the same migrate command without --catch-up first (it resumes where it stopped).");
            }
            if (known) {
                run.resumed = true;
                LOG.info("resuming migration {} from the state on the target (schema {})", run.state.migrationId, StateStore.SCHEMA);
            } else {
                if (run.cfg.catchUp) {
                    throw new UserError("There is no migration to catch up between these databases.", "Run migrate without --catch-up first.");
                }
                if (run.runs("preflight")) checkTargetEmpty(run, tgt);
            }
            // Only while a schema step is still to run: a catch-up restores no grants.
            boolean restores = (run.runs("pre-data") && !(known && "done".equals(run.state.stepStatus(tgt, "pre-data"))))
                    || (run.runs("post-data") && !(known && "done".equals(run.state.stepStatus(tgt, "post-data"))));
            if (restores) checkRolesOnTarget(src, tgt);
            if (run.runs("pre-data")) {
                String preData = known ? run.state.stepStatus(tgt, "pre-data") : null;
                if (preData == null) checkSchemasNotThere(run, src, tgt); // a pre-data cut short made them: redone with --clean
                if (!"done".equals(preData)) checkSchemasWritable(run, src, tgt);
            }
            // The first write to the target: the state store, once every check has passed.
            run.state.create(tgt, run.cfg.source, run.cfg.chunkInterval);
            if (run.cfg.snapshot && (run.runs("data") || run.runs("pre-data"))) exportSnapshot(run);
        }
        run.counts("preflight", "source PG " + run.sourceMajor + ", target PG " + run.targetMajor
                + (run.snapshotId != null ? ", snapshot " + run.snapshotId : ""));
    }

    /** The read-only checks of both ends. A stop cancels what they run on either (the source's for the whole step). */
    private static void checkBoth(MigrationRun run, Connection src, Connection tgt) throws SQLException {
        try (MigrationRun.OnStop t = run.cancelOnStop(tgt)) {
            run.sourceMajor = Pg.serverMajor(src);
            run.targetMajor = Pg.serverMajor(tgt);
            String srcTs = Pg.timescaleVersion(src);
            String tgtTs = Pg.timescaleVersion(tgt);
            LOG.info("source: PostgreSQL {}{} at {}", Pg.queryString(src, "SHOW server_version"),
                    srcTs == null ? "" : ", TimescaleDB " + srcTs, run.cfg.source.masked());
            LOG.info("target: PostgreSQL {}{} at {}", Pg.queryString(tgt, "SHOW server_version"),
                    tgtTs == null ? "" : ", TimescaleDB " + tgtTs, run.cfg.target.masked());
            if (run.sourceMajor != run.targetMajor) {
                run.warn("preflight: source is PostgreSQL " + run.sourceMajor + " and target " + run.targetMajor
                        + "; the procedure asks for the same major version on both");
            }
            if (run.runs("pre-data") || run.runs("post-data")) checkTools(run); // no pg_dump needed otherwise
            Planner.validateInterval(tgt, run.cfg.chunkInterval);
            Planner.validateSelection(src, run);
            if (run.runs("data")) tsmigrate.largeobjects.LargeObjects.checkReadable(src);
            if (run.runs("data")) checkRowSecurity(run, src);
            if (run.runs("data") && run.runs("post-data")) checkForeignKeysToLeftOut(run, src);
            if (run.runs("verify") && run.cfg.verify) checkVerifiable(run, src, tgt);
            if (run.runs("pre-data") || run.runs("data")) checkLeftOutSchemas(run, src, srcTs != null);
            if (run.runs("hypertables")) tsmigrate.timescale.TimescaleSteps.validateConfig(src, tgt, run.cfg);
            if (run.runs("preflight")) {
                for (String w : tsmigrate.timescale.TimescaleSteps.preflightWarnings(src, tgt)) run.warn("preflight: " + w);
            }
        }
    }

    private static void checkTools(MigrationRun run) {
        PgTool dump = run.pgDumpLookup != null ? PgTool.await(run.pgDumpLookup) : PgTool.locate("pg_dump", run.cfg.pgDump);
        PgTool restore = run.pgRestoreLookup != null ? PgTool.await(run.pgRestoreLookup) : PgTool.locate("pg_restore", run.cfg.pgRestore);
        if (dump.major() < run.sourceMajor) {
            throw new UserError(dump.path() + " is version " + dump.major() + ", older than the source server (PostgreSQL "
                    + run.sourceMajor + "); pg_dump cannot dump a newer server.",
                    "Install postgresql-client-" + run.sourceMajor + " or newer and pass its path with --pg-dump.");
        }
        if (restore.major() < dump.major()) {
            throw new UserError(restore.path() + " is version " + restore.major() + ", older than pg_dump " + dump.major()
                    + "; it may not read the dump.", "Use pg_restore from the same installation as pg_dump (--pg-restore).");
        }
        run.pgDump = dump;
        run.pgRestore = restore;
        LOG.info("tools: {} ({}), {} ({})", dump.path(), dump.major(), restore.path(), restore.major());
        String w = olderTargetWarning(dump.major(), run.targetMajor);
        if (w != null) run.warn("preflight: " + w);
    }

    /**
     * pg_dump writes SQL for its own major version: PostgreSQL does not promise that it loads into an older server,
     * not even when the dump was taken from one (a PostgreSQL 14 source and target, dumped with the machine's
     * pg_dump 15). Null when the target is not older than pg_dump.
     */
    static String olderTargetWarning(int dumpMajor, int targetMajor) {
        if (targetMajor <= 0 || targetMajor >= dumpMajor) return null;
        return "pg_dump is version " + dumpMajor + ", newer than the target (PostgreSQL " + targetMajor + "); its output is not"
                + " guaranteed to load into an older server. If a schema step fails, pass --pg-dump and --pg-restore of version "
                + targetMajor + " (at least the source's major)";
    }

    /** --restart throws saved progress away: only with --yes, or a "yes" typed at a terminal. */
    private static void confirmRestart(MigrationRun run) {
        if (run.cfg.yes) return;
        java.io.Console console = System.console();
        if (console != null) {
            String answer = console.readLine("Forget the saved progress of migration %s (%s -> %s) and start over? Type yes: ",
                    run.state.migrationId, run.cfg.source.masked(), run.cfg.target.masked());
            if (answer != null && answer.strip().equalsIgnoreCase("yes")) return;
        }
        throw new UserError("--restart throws away this migration's saved progress and was not confirmed.",
                "Answer yes at the prompt, or add --yes. The target must then be empty again (e.g. a new database).");
    }

    /**
     * --restart starts over with pre-data, which would fail on the tables the earlier attempt created (and with
     * --clean could not drop tables that foreign keys of its post-data point at): they must be gone first.
     */
    private static void checkNoEarlierSchema(MigrationRun run, Connection tgt) throws SQLException {
        List<String> tables = Pg.userRelations(tgt, 'r');
        tables.addAll(Pg.userRelations(tgt, 'p'));
        if (tables.isEmpty()) return;
        throw new Refusal("--restart starts over from the schema, but the target " + run.cfg.target.masked() + " still holds "
                + tables.size() + " table(s) of the earlier attempt, e.g. " + UserError.someOf(tables)
                + ". Nothing was changed.", "Drop the target database and create it again (or migrate into a new one), then run"
                + " migrate without --restart: a new database holds no saved progress.");
    }

    /**
     * Tables whose row-level security is forced get it on the target too, and the verify step, after post-data, could
     * not read them back as a target role that does not bypass it: said now, not after the whole copy.
     */
    private static void checkVerifiable(MigrationRun run, Connection src, Connection tgt) throws SQLException {
        if (Planner.bypassesRowSecurity(tgt)) return;
        List<String> forced = Planner.forcedRowSecurity(src, run);
        if (forced.isEmpty()) return;
        throw new UserError("The target role " + run.cfg.target.user() + " could not read back " + forced.size() + " table(s) to verify them,"
                + " e.g. " + UserError.someOf(forced) + ": their row-level security is forced"
                + " on their owner, which it will be on the target.", "Migrate as a target role with BYPASSRLS (ALTER ROLE ... BYPASSRLS)"
                + " or a superuser, or pass --no-verify (catch-up cannot load into these tables either).");
    }

    /** tsmigrate's state tables: a source that was itself the target of a migration has them, and they are not data. */
    private static final Set<String> STATE_TABLES = Set.of("migration", "step", "source_table", "chunk", "large_object");

    /**
     * The procedure leaves out the schemas named _timescaledb* (TimescaleDB's internals), and tsmigrate its own
     * state's schema. A source without TimescaleDB whose schema has such a name, or whose schema tsmigrate holds
     * other tables, would lose them without a word: refused, to be renamed first.
     */
    private static void checkLeftOutSchemas(MigrationRun run, Connection src, boolean sourceHasTimescale) throws SQLException {
        List<String> lost = new ArrayList<>();
        try (java.sql.Statement st = src.createStatement(); java.sql.ResultSet rs = st.executeQuery("SELECT n.nspname, c.relname"
                + " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                + " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND (n.nspname = 'tsmigrate' OR n.nspname LIKE '\\_timescaledb%')"
                + " ORDER BY 1, 2")) {
            while (rs.next()) {
                String schema = rs.getString(1);
                boolean leftOutOnPurpose = schema.equals(StateStore.SCHEMA) ? STATE_TABLES.contains(rs.getString(2)) : sourceHasTimescale;
                if (!leftOutOnPurpose) lost.add(Pg.qualified(schema, rs.getString(2)));
            }
        }
        if (lost.isEmpty()) return;
        throw new UserError("The source has " + lost.size() + " relation(s) in schemas that a migration leaves out, e.g. "
                + UserError.someOf(lost) + ": the schema tsmigrate is tsmigrate's own state on the"
                + " target, and schemas named _timescaledb* are TimescaleDB's internals (left out even without TimescaleDB).",
                "Rename the schema on the source (ALTER SCHEMA ... RENAME TO ...), then run again.");
    }

    /** Row-level security would make the export fail (row_security is off in every session): say so before anything is written. */
    private static void checkRowSecurity(MigrationRun run, Connection src) throws SQLException {
        List<String> hidden = Planner.hiddenByRowSecurity(src, run);
        if (hidden.isEmpty()) return;
        throw new UserError("Row-level security hides rows of " + hidden.size() + " table(s) from the source role " + run.cfg.source.user()
                + ", e.g. " + UserError.someOf(hidden) + ": a copy would leave them out.",
                "Migrate as a role with BYPASSRLS (ALTER ROLE ... BYPASSRLS) or a superuser, or as the tables' owner once FORCE ROW"
                        + " LEVEL SECURITY is off, or leave these tables out with --exclude.");
    }

    /**
     * The roles the schema's grants, default privileges and policies name, which the dump restores (--no-owner drops
     * only the owners): the target must have them, or pg_restore fails on the first one. An owner's own privileges are
     * not named: pg_dump writes no GRANT for them, and the target's objects belong to the migrating role.
     */
    static final String ROLES_NAMED = """
            WITH user_ns AS (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE %s),
            named AS (
              SELECT a.grantee AS r FROM pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) a
                WHERE n.oid IN (SELECT oid FROM user_ns) AND a.grantee <> n.nspowner
              UNION SELECT a.grantee FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
                WHERE c.relnamespace IN (SELECT oid FROM user_ns) AND a.grantee <> c.relowner
              UNION SELECT a.grantee FROM pg_catalog.pg_attribute t JOIN pg_catalog.pg_class c ON c.oid = t.attrelid,
                pg_catalog.aclexplode(t.attacl) a WHERE c.relnamespace IN (SELECT oid FROM user_ns) AND a.grantee <> c.relowner
              UNION SELECT a.grantee FROM pg_catalog.pg_proc p, pg_catalog.aclexplode(p.proacl) a
                WHERE p.pronamespace IN (SELECT oid FROM user_ns) AND a.grantee <> p.proowner
              UNION SELECT a.grantee FROM pg_catalog.pg_type t, pg_catalog.aclexplode(t.typacl) a
                WHERE t.typnamespace IN (SELECT oid FROM user_ns) AND a.grantee <> t.typowner
              UNION SELECT a.grantee FROM pg_catalog.pg_largeobject_metadata l, pg_catalog.aclexplode(l.lomacl) a WHERE a.grantee <> l.lomowner
              UNION SELECT a.grantee FROM pg_catalog.pg_default_acl d, pg_catalog.aclexplode(d.defaclacl) a
              UNION SELECT d.defaclrole FROM pg_catalog.pg_default_acl d
              UNION SELECT pg_catalog.unnest(p.polroles) FROM pg_catalog.pg_policy p
              UNION SELECT a.grantee FROM pg_catalog.pg_foreign_data_wrapper w, pg_catalog.aclexplode(w.fdwacl) a WHERE a.grantee <> w.fdwowner
              UNION SELECT a.grantee FROM pg_catalog.pg_foreign_server v, pg_catalog.aclexplode(v.srvacl) a WHERE a.grantee <> v.srvowner
              UNION SELECT a.grantee FROM pg_catalog.pg_language l, pg_catalog.aclexplode(l.lanacl) a WHERE a.grantee <> l.lanowner
              UNION SELECT m.umuser FROM pg_catalog.pg_user_mappings m
              -- an owner whose own privileges differ from an owner's default: pg_dump revokes and grants them by name
              UNION SELECT n.nspowner FROM pg_catalog.pg_namespace n WHERE n.oid IN (SELECT oid FROM user_ns) AND %s
              UNION SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.relnamespace IN (SELECT oid FROM user_ns) AND %s
              UNION SELECT p.proowner FROM pg_catalog.pg_proc p WHERE p.pronamespace IN (SELECT oid FROM user_ns) AND %s
              UNION SELECT t.typowner FROM pg_catalog.pg_type t WHERE t.typnamespace IN (SELECT oid FROM user_ns) AND %s
              UNION SELECT l.lomowner FROM pg_catalog.pg_largeobject_metadata l WHERE %s)
            SELECT DISTINCT r.rolname FROM named JOIN pg_catalog.pg_roles r ON r.oid = named.r ORDER BY 1""";

    /** The query: ROLES_NAMED for the source's user schemas. */
    static String rolesNamed() {
        return String.format(ROLES_NAMED, Pg.SYSTEM_SCHEMA_FILTER, ownPrivilegesChanged("n.nspacl", "n.nspowner", "'n'"),
                ownPrivilegesChanged("c.relacl", "c.relowner", "CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END"),
                ownPrivilegesChanged("p.proacl", "p.proowner", "'f'"), ownPrivilegesChanged("t.typacl", "t.typowner", "'T'"),
                ownPrivilegesChanged("l.lomacl", "l.lomowner", "'L'"));
    }

    /** The owner's privileges (with their grant options) in an object's ACL differ from those an owner has by default. */
    private static String ownPrivilegesChanged(String acl, String owner, String kind) {
        String own = "(SELECT pg_catalog.array_agg(a.privilege_type || a.is_grantable::text ORDER BY a.privilege_type || a.is_grantable::text)"
                + " FROM pg_catalog.aclexplode(%s) a WHERE a.grantee = " + owner + ")";
        return acl + " IS NOT NULL AND " + String.format(own, acl) + " IS DISTINCT FROM "
                + String.format(own, "pg_catalog.acldefault(CAST(" + kind + " AS \"char\"), " + owner + ")");
    }

    private static void checkRolesOnTarget(Connection src, Connection tgt) throws SQLException {
        List<String> named = names(src, rolesNamed(), null);
        if (named.isEmpty()) return;
        List<String> missing = names(tgt, "SELECT r FROM unnest(CAST(? AS text[])) r"
                + " WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) ORDER BY 1", named).stream().map(Pg::ident).toList();
        if (missing.isEmpty()) return;
        throw new UserError("The source's grants or policies name " + missing.size() + " role(s) that the target lacks: "
                + UserError.someOf(missing) + (missing.size() > 5 ? ", ..." : "") + ". pg_restore would fail on them.",
                "Create them on the target first (CREATE ROLE ...; pg_dumpall --roles-only on the source shows how they are"
                        + " made), then run again.");
    }

    /** The source's schemas that hold objects pre-data restores (not an extension's), by name. */
    private static final String SCHEMAS_WITH_OBJECTS = """
            SELECT n.nspname FROM pg_catalog.pg_namespace n WHERE %s AND (
              EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c')
                      AND %s)
              OR EXISTS (SELECT 1 FROM pg_catalog.pg_proc p WHERE p.pronamespace = n.oid AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                      WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'))
              OR EXISTS (SELECT 1 FROM pg_catalog.pg_type t WHERE t.typnamespace = n.oid AND t.typtype IN ('d', 'e', 'r', 'm')
                      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                      WHERE d.classid = 'pg_catalog.pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')))
            ORDER BY 1""";

    /**
     * pre-data creates every schema of the source but public (not those its extensions make): one the target already has
     * fails pg_restore ("already exists"), whoever runs it, after the state was written.
     */
    private static void checkSchemasNotThere(MigrationRun run, Connection src, Connection tgt) throws SQLException {
        List<String> schemas = names(src, "SELECT n.nspname FROM pg_catalog.pg_namespace n"
                + " WHERE " + Pg.SYSTEM_SCHEMA_FILTER + " AND n.nspname <> 'public' AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d"
                + " WHERE d.classid = 'pg_catalog.pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e')", null);
        if (schemas.isEmpty()) return;
        List<String> there = names(tgt, "SELECT n.nspname FROM pg_catalog.pg_namespace n WHERE n.nspname = ANY (CAST(? AS text[])) ORDER BY 1",
                schemas).stream().map(Pg::ident).toList();
        if (there.isEmpty()) return;
        throw new Refusal("The target " + run.cfg.target.masked() + " already has " + there.size() + " schema(s) that pre-data creates: "
                + UserError.someOf(there) + (there.size() > 5 ? ", ..." : "") + ". pg_restore would fail on them (already exists)."
                + " Nothing was written.", "Drop them on the target if they hold nothing of yours (DROP SCHEMA "
                + String.join(", ", there.stream().limit(5).toList()) + (there.size() > 5 ? ", ..." : "") + ";), or migrate into a new"
                + " database, then run again.");
    }

    /**
     * pre-data creates the source's objects in public, which the target always has: the target role needs CREATE there.
     * PostgreSQL 15 gives it only to the database's owner, and pg_restore then failed on "permission denied for schema
     * public", after the state was written. (Other schemas are pre-data's own, made by the migrating role.)
     */
    private static void checkSchemasWritable(MigrationRun run, Connection src, Connection tgt) throws SQLException {
        List<String> schemas = names(src, String.format(SCHEMAS_WITH_OBJECTS, Pg.SYSTEM_SCHEMA_FILTER + " AND n.nspname = 'public'",
                Pg.NOT_EXTENSION_MEMBER), null);
        if (schemas.isEmpty()) return;
        List<String> denied = names(tgt, "SELECT n.nspname FROM pg_catalog.pg_namespace n WHERE n.nspname = ANY (CAST(? AS text[]))"
                + " AND NOT pg_catalog.has_schema_privilege(n.oid, 'CREATE') ORDER BY 1", schemas).stream().map(Pg::ident).toList();
        if (denied.isEmpty()) return;
        String role = Pg.ident(Pg.queryString(tgt, "SELECT current_user"));
        String db = Pg.ident(Pg.queryString(tgt, "SELECT current_database()"));
        // both at once, so that one round of grants is enough (without this one, the state store's creation names it)
        boolean noSchemas = "false".equals(Pg.queryString(tgt, "SELECT pg_catalog.has_database_privilege(current_database(), 'CREATE')::text"));
        List<String> grants = new ArrayList<>();
        if (noSchemas) grants.add("GRANT CREATE ON DATABASE " + db + " TO " + role);
        denied.stream().limit(5).forEach(n -> grants.add("GRANT CREATE ON SCHEMA " + n + " TO " + role));
        throw new UserError("The target role " + role + " may not create objects in " + denied.size() + " schema(s) of the target that"
                + " pre-data restores the source's objects into: " + UserError.someOf(denied) + (denied.size() > 5 ? ", ..." : "")
                + (noSchemas ? "; nor create schemas in the database " + db + " (for the source's, and the one tsmigrate keeps its state in)" : "")
                + ". Nothing was written.",
                "Run on the target, as a superuser or the owner of what each GRANT names (public's is the database's owner, unless"
                        + " changed): " + String.join("; ", grants) + (denied.size() > 5 ? "; ..." : "") + "; then run again.");
    }

    /** The first column of a query's rows; {@code among}, when given, is its one parameter, a text[]. */
    private static List<String> names(Connection c, String sql, List<String> among) throws SQLException {
        List<String> out = new ArrayList<>();
        try (java.sql.PreparedStatement ps = c.prepareStatement(sql)) {
            if (among != null) ps.setArray(1, c.createArrayOf("text", among.toArray()));
            try (java.sql.ResultSet rs = ps.executeQuery()) {
                while (rs.next()) out.add(rs.getString(1));
            }
        }
        return out;
    }

    /** A foreign key to a table whose rows are left out fails post-data, after every row was copied: refused first. */
    public static void checkForeignKeysToLeftOut(MigrationRun run, Connection src) throws SQLException {
        List<String> keys = Planner.foreignKeysToLeftOut(src, run);
        if (keys.isEmpty()) return;
        throw new UserError(keys.size() + " foreign key(s) of tables to copy refer to tables whose rows are left out"
                + " (--include/--exclude): " + String.join("; ", keys.subList(0, Math.min(5, keys.size()))) + (keys.size() > 5 ? "; ..." : "")
                + ". post-data could not add them on the target once the rows are there.",
                "Copy the tables they refer to as well, or leave out these tables too.");
    }

    /** Refuses a target whose user tables hold rows: migrating into it could mix or duplicate data. */
    static void checkTargetEmpty(MigrationRun run, Connection tgt) throws SQLException {
        List<String> withRows;
        try (MigrationRun.OnStop t = run.cancelOnStop(tgt)) { // a read of every table: one may wait behind a lock (QA)
            withRows = tablesWithRows(tgt);
        }
        if (!withRows.isEmpty()) {
            throw new Refusal("The target " + run.cfg.target.masked() + " is not empty: " + withRows.size() + " table(s) hold rows, e.g. "
                    + UserError.someOf(withRows) + ". Nothing was changed.",
                    "Migrate into a new, empty database (CREATE DATABASE ...), or empty these tables first.");
        }
    }

    /** The user tables of the database that hold rows, quoted. */
    public static List<String> tablesWithRows(Connection c) throws SQLException {
        List<String> withRows = new ArrayList<>();
        for (String t : Pg.userRelations(c, 'r')) {
            if (Pg.hasRows(c, t)) withRows.add(t);
        }
        return withRows;
    }

    /**
     * Opens a transaction on the source and exports its snapshot; pg_dump and every export worker join it,
     * so schema and all chunks see the source at one instant.
     */
    private static void exportSnapshot(MigrationRun run) throws SQLException {
        Connection holder = Pg.connect("source", run.cfg.source);
        try {
            Pg.exec(holder, "SET idle_in_transaction_session_timeout = 0");
            holder.setAutoCommit(false);
            Pg.exec(holder, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
            run.snapshotId = Pg.queryString(holder, "SELECT pg_catalog.pg_export_snapshot()");
            run.snapshotHolder = holder;
        } catch (SQLException e) {
            Pg.closeQuietly(holder);
            run.warn("preflight: cannot export a snapshot of the source (" + e.getMessage().lines().findFirst().orElse("")
                    + "); chunks are read without one, so tables written during the copy may be caught at different moments");
        }
    }
}
