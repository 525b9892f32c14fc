package tsmigrate.largeobjects;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.postgresql.PGConnection;
import org.postgresql.largeobject.LargeObject;
import org.postgresql.largeobject.LargeObjectManager;

import tsmigrate.copy.Progress;
import tsmigrate.db.Pg;
import tsmigrate.run.Durations;
import tsmigrate.run.Migration;
import tsmigrate.run.MigrationRun;
import tsmigrate.state.StateStore;

/**
 * The large-objects step, the data step's second half. pg_dump puts a large object's definition (oid, ACL,
 * comment) in pre-data, so the schema step creates it on the target, empty; its contents are in the data
 * section, which the procedure never restores. This step streams each one's contents from the source (in the
 * migration's snapshot) to the target a buffer at a time, and records it in {@code tsmigrate.large_object} in
 * the same target transaction: a resumed run skips those, and verify compares each one's SHA-256.
 */
public class LargeObjects {
    public static final String STEP = "large-objects";
    /** One read or write call per MiB; the JVM never holds more of a large object. */
    static final int BUFFER = 1 << 20;
    /** A target transaction commits after this many bytes or large objects: what a crash makes a resume redo. */
    static final long BATCH_BYTES = 64L << 20;
    static final int BATCH_OBJECTS = 1000;
    private static final String LIST = "SELECT oid::bigint FROM pg_catalog.pg_largeobject_metadata WHERE oid::bigint > ? ORDER BY oid LIMIT "
            + BATCH_OBJECTS;

    public void run(MigrationRun run) throws Exception {
        String[] counts = {""};
        run.state.exclusive(STEP, redo -> counts[0] = copy(run));
        run.counts(STEP, counts[0]);
    }

    private static String copy(MigrationRun run) throws Exception {
        try (Connection src = Pg.connect("source", run.cfg.source); Connection tgt = Pg.connect("target", run.cfg.target)) {
            try {
                beginSourceRead(run, src);
                tgt.setAutoCommit(false);
                long total = count(src);
                if (total == 0) {
                    warnExtras(run, tgt, 0);
                    return "no large objects on the source";
                }
                long estimate = estimatedBytes(src);
                long[] done = {0, 0, 0}; // copied now, copied before, bytes
                try (Progress p = new Progress(STEP, (int) Math.min(Integer.MAX_VALUE, total), estimate, false, run.cfg.progressSeconds)
                        .unit("large objects")) {
                    p.onTick(() -> tsmigrate.report.StatusFile.write(run, p));
                    copyAll(run, src, tgt, p, done);
                }
                tgt.commit();
                warnExtras(run, tgt, total);
                return done[0] + " large object(s) copied, " + Durations.bytes(done[2])
                        + (done[1] > 0 ? "; " + done[1] + " copied by an earlier run" : "");
            } finally {
                endQuietly(src);
                endQuietly(tgt);
            }
        }
    }

    private static void copyAll(MigrationRun run, Connection src, Connection tgt, Progress p, long[] done) throws Exception {
        LargeObjectManager in = src.unwrap(PGConnection.class).getLargeObjectAPI();
        LargeObjectManager out = tgt.unwrap(PGConnection.class).getLargeObjectAPI();
        byte[] buf = new byte[BUFFER];
        MessageDigest md = sha256();
        long after = -1;
        long batchBytes = 0;
        int batchObjects = 0;
        for (List<Long> oids; !(oids = list(src, after)).isEmpty(); after = oids.get(oids.size() - 1)) {
            Set<Long> before = run.state.largeObjectsCopied(tgt, oids);
            Set<Long> absent = absent(tgt, oids);
            for (long oid : oids) {
                if (run.stopping) {
                    tgt.commit(); // what is copied stays copied
                    throw new Migration.Interrupted();
                }
                if (before.contains(oid)) {
                    done[1]++;
                    p.chunkDone(0);
                    continue;
                }
                // made on the source after the schema step: the same oid, so the tables' references hold
                if (absent.contains(oid)) Pg.queryString(tgt, "SELECT pg_catalog.lo_create(" + oid + ")");
                String print;
                LargeObject r = open(in, oid, LargeObjectManager.READ, "source");
                try (LargeObject w = open(out, oid, LargeObjectManager.WRITE, "target")) {
                    w.truncate64(0);
                    print = stream(r, buf, md, w, p);
                } finally {
                    r.close();
                }
                run.state.largeObjectCopied(tgt, oid, bytesOf(print), print);
                done[0]++;
                done[2] += bytesOf(print);
                p.chunkDone(0);
                batchBytes += bytesOf(print);
                if (++batchObjects >= BATCH_OBJECTS || batchBytes >= BATCH_BYTES) {
                    tgt.commit();
                    batchObjects = 0;
                    batchBytes = 0;
                }
            }
        }
    }

    /** The source's large objects that the connected role may not read: not the owner (or a member), no SELECT grant. */
    private static final String UNREADABLE = """
            SELECT count(*), min(m.oid::bigint) FROM pg_catalog.pg_largeobject_metadata m
            WHERE NOT ((SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)
                    OR pg_catalog.current_setting('lo_compat_privileges')::boolean
                    OR pg_catalog.pg_has_role(m.lomowner, 'USAGE')
                    OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(m.lomacl) a
                               WHERE a.privilege_type = 'SELECT' AND (a.grantee = 0 OR pg_catalog.pg_has_role(a.grantee, 'USAGE'))))""";

    /** Preflight: every large object must be readable, or the step would fail after the whole data step. */
    public static void checkReadable(Connection src) throws SQLException {
        try (java.sql.Statement st = src.createStatement(); ResultSet rs = st.executeQuery(UNREADABLE)) {
            rs.next();
            long n = rs.getLong(1);
            if (n == 0) return;
            throw new tsmigrate.run.UserError("The source role cannot read " + n + " large object(s), e.g. large object " + rs.getLong(2) + ".",
                    "Migrate as their owner or a superuser, or grant it SELECT on each, e.g. GRANT SELECT ON LARGE OBJECT "
                            + rs.getLong(2) + " TO <the source role>.");
        }
    }

    /** A repeatable-read transaction on the source, in the migration's snapshot when it still exists. */
    private static void beginSourceRead(MigrationRun run, Connection src) throws SQLException {
        src.setAutoCommit(false);
        Pg.exec(src, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
        if (run.snapshotId == null) return;
        try {
            run.joinSnapshot(src);
        } catch (java.sql.SQLTransientException gone) {
            src.rollback();
            Pg.exec(src, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
        }
    }

    /** Large objects on the target that the source does not have: left as they are, and named. */
    private static void warnExtras(MigrationRun run, Connection tgt, long sourceCount) throws SQLException {
        long extra = count(tgt) - sourceCount;
        if (extra > 0) {
            run.warn(STEP + ": " + extra + " large object(s) on the target that the source does not have (removed there after the"
                    + " schema step?); they are left as they are");
        }
    }

    /**
     * Reads r to its end, a buffer at a time, into md and (when given) w; returns the fingerprint
     * {@code bytes/sha256}. A read shorter than the buffer is the last one.
     */
    static String stream(LargeObject r, byte[] buf, MessageDigest md, LargeObject w, Progress p) throws SQLException {
        md.reset();
        long n = 0;
        int k;
        do {
            k = r.read(buf, 0, buf.length);
            if (k <= 0) break;
            md.update(buf, 0, k);
            if (w != null) w.write(buf, 0, k);
            n += k;
            if (p != null) p.addBytes(k);
        } while (k == buf.length);
        return n + "/" + java.util.HexFormat.of().formatHex(md.digest());
    }

    static long bytesOf(String print) {
        return Long.parseLong(print.substring(0, print.indexOf('/')));
    }

    static LargeObject open(LargeObjectManager m, long oid, int mode, String side) throws SQLException {
        try {
            return m.open(oid, mode);
        } catch (SQLException e) {
            throw new SQLException("cannot open large object " + oid + " on the " + side + ": " + e.getMessage(), e.getSQLState(), e);
        }
    }

    public static long count(Connection c) throws SQLException {
        return Long.parseLong(Pg.queryString(c, "SELECT count(*) FROM pg_catalog.pg_largeobject_metadata"));
    }

    /** The size of pg_largeobject on disk: about the large objects' bytes (their contents are readable only one by one). */
    public static long estimatedBytes(Connection c) throws SQLException {
        return Long.parseLong(Pg.queryString(c, "SELECT pg_catalog.pg_relation_size('pg_catalog.pg_largeobject')"));
    }

    /** The next oids after {@code after}, in order. */
    static List<Long> list(Connection c, long after) throws SQLException {
        List<Long> oids = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(LIST)) {
            ps.setLong(1, after);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) oids.add(rs.getLong(1));
            }
        }
        return oids;
    }

    /** Of oids, those that c's database has no large object for. */
    static Set<Long> absent(Connection c, List<Long> oids) throws SQLException {
        Set<Long> out = new HashSet<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT o FROM unnest(CAST(? AS bigint[])) o WHERE NOT EXISTS"
                + " (SELECT 1 FROM pg_catalog.pg_largeobject_metadata m WHERE m.oid::bigint = o)")) {
            ps.setArray(1, c.createArrayOf("bigint", oids.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) out.add(rs.getLong(1));
            }
        }
        return out;
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Ends c's transaction (rolled back if still open) and gives back autocommit, so the pool may keep c. */
    static void endQuietly(Connection c) {
        try {
            if (!c.isClosed() && !c.getAutoCommit()) {
                c.rollback();
                c.setAutoCommit(true);
            }
        } catch (SQLException | RuntimeException broken) {
            // a broken driver state throws unchecked exceptions too: the connection is not kept, and the first error stands
            Pg.discard(c);
        }
    }

    // ---- verify ----

    /** What verify found: large objects checked now, verified in all, those that differ, and those not copied yet. */
    public record Verified(long checked, long verified, List<String> mismatches, long notCopied) {
    }

    /**
     * Compares each copied large object's target contents with the source's: the fingerprint taken while copying,
     * or with {@code fresh} (the verify verb) the source's contents now. With fresh, also counts the source's large
     * objects that no run has copied yet.
     */
    public static Verified verify(MigrationRun run, boolean fresh) throws SQLException {
        List<String> mismatches = new ArrayList<>();
        long checked = 0;
        long verified = 0;
        long notCopied = 0;
        try (Connection tgt = Pg.connect("target", run.cfg.target); Connection src = fresh ? Pg.connect("source", run.cfg.source) : null) {
            if (Pg.queryString(tgt, "SELECT to_regclass('tsmigrate.large_object')") == null) { // state of an older tsmigrate
                return new Verified(0, 0, List.of(), fresh ? count(src) : 0);
            }
            try {
                tgt.setAutoCommit(false);
                if (src != null) src.setAutoCommit(false);
                LargeObjectManager out = tgt.unwrap(PGConnection.class).getLargeObjectAPI();
                LargeObjectManager in = src == null ? null : src.unwrap(PGConnection.class).getLargeObjectAPI();
                byte[] buf = new byte[BUFFER];
                MessageDigest md = sha256();
                long after = -1;
                for (List<StateStore.LargeObjectRow> rows; !(rows = run.state.largeObjects(tgt, after, BATCH_OBJECTS, fresh)).isEmpty();
                     after = rows.get(rows.size() - 1).oid()) {
                    List<Long> oids = rows.stream().map(StateStore.LargeObjectRow::oid).toList();
                    Set<Long> goneOnTarget = absent(tgt, oids);
                    Set<Long> goneOnSource = src == null ? Set.of() : absent(src, oids);
                    for (StateStore.LargeObjectRow row : rows) {
                        String source = src == null ? row.sourceFingerprint() : goneOnSource.contains(row.oid()) ? "missing" : print(in, row.oid(), buf, md, "source");
                        String target = goneOnTarget.contains(row.oid()) ? "missing" : print(out, row.oid(), buf, md, "target");
                        boolean ok = source.equals(target);
                        run.state.largeObjectVerified(tgt, row.oid(), target, ok);
                        checked++;
                        if (ok) verified++;
                        else mismatches.add("large object " + row.oid() + ": source " + describe(source) + ", target " + describe(target));
                    }
                    tgt.commit();
                    if (src != null) src.commit();
                }
                if (!fresh) verified = countVerified(run, tgt); // with those verified by earlier runs
                if (fresh) {
                    after = -1;
                    for (List<Long> oids; !(oids = list(src, after)).isEmpty(); after = oids.get(oids.size() - 1)) {
                        notCopied += oids.size() - run.state.largeObjectsCopied(tgt, oids).size();
                    }
                }
                tgt.commit();
            } finally {
                endQuietly(tgt);
                if (src != null) endQuietly(src);
            }
        }
        return new Verified(checked, verified, mismatches, notCopied);
    }

    private static long countVerified(MigrationRun run, Connection tgt) throws SQLException {
        try (PreparedStatement ps = tgt.prepareStatement("SELECT count(*) FROM tsmigrate.large_object WHERE migration = ? AND state = 'verified'")) {
            ps.setString(1, run.state.migrationId);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    private static String print(LargeObjectManager m, long oid, byte[] buf, MessageDigest md, String side) throws SQLException {
        try (LargeObject r = open(m, oid, LargeObjectManager.READ, side)) {
            return stream(r, buf, md, null, null);
        }
    }

    private static String describe(String print) {
        if (print.equals("missing")) return "missing";
        int slash = print.indexOf('/');
        return print.substring(0, slash) + " bytes (sha256 " + print.substring(slash + 1, slash + 13) + "...)";
    }
}
