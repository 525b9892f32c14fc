package tsmigrate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Map;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Large objects live outside every table: pg_dump puts their definitions in pre-data and their contents in the
 * data section, which the procedure never restores. They must arrive with their contents, and verify must
 * compare them.
 */
class LargeObjectsTest {
    @TempDir
    Path work;

    /** Large objects of 0 bytes, a few bytes, and 3.2 MB (several read buffers), one with a comment, referenced from a table. */
    private static final String SOURCE = """
            CREATE TABLE docs (id int PRIMARY KEY, t timestamptz NOT NULL, body oid);
            INSERT INTO docs VALUES
              (1, '2026-01-01', lo_from_bytea(0, '')),
              (2, '2026-01-02', lo_from_bytea(0, '\\x00ff00'::bytea)),
              (3, '2026-01-03', lo_from_bytea(0, (SELECT string_agg(md5(i::text), '')::bytea FROM generate_series(1, 100000) i)));
            SELECT lo_from_bytea(424242, 'unreferenced, with a comment');
            COMMENT ON LARGE OBJECT 424242 IS 'kept';
            """;

    @Test
    void largeObjectsArriveWithTheirContents() throws Exception {
        String[] dbs = Clusters.newPair("lo");
        Clusters.runSql(Clusters.source(), dbs[0], SOURCE);
        Cli.Result plan = Cli.run("plan", "--source", Clusters.source().uri(dbs[0]), "--target", Clusters.target().uri(dbs[1]),
                "--work-dir", work.toString());
        assertEquals(0, plan.exit(), plan.all());
        assertTrue(plan.out().contains("Large objects: 4 ("), plan.out());
        Cli.Result r = migrate(dbs);
        assertEquals(0, r.exit(), r.all());
        try (Connection s = Clusters.source().connect(dbs[0]); Connection t = Clusters.target().connect(dbs[1])) {
            Map<Long, String> src = contents(s);
            assertEquals(4, src.size());
            assertEquals(src, contents(t));
            assertEquals("kept", single(t, "SELECT obj_description(424242, 'pg_largeobject')"));
        }
        assertTrue(r.out().contains("large-objects") && r.out().contains("4 large object(s)"), r.out());
        assertTrue(r.out().contains("4 large object(s) verified"), r.out());
        // run again: each large object is recorded as copied, so none is copied twice
        Cli.Result again = migrate(dbs);
        assertEquals(0, again.exit(), again.all());
        assertTrue(again.out().contains("0 large object(s) copied, 0 B; 4 copied by an earlier run"), again.out());
    }

    @Test
    void largeObjectsMadeOrChangedAfterTheSchemaStepArriveAsTheyAreWhenCopied() throws Exception {
        String[] dbs = Clusters.newPair("lo");
        Clusters.runSql(Clusters.source(), dbs[0], SOURCE);
        Cli.Result first = migrate(dbs, "--steps", "preflight,pre-data");
        assertEquals(0, first.exit(), first.all());
        // the schema step created them, empty; now one changes, one goes and one comes
        Clusters.runSql(Clusters.source(), dbs[0], """
                SELECT lo_put(424242, 0, 'changed');
                SELECT lo_unlink(body) FROM docs WHERE id = 2;
                UPDATE docs SET body = lo_from_bytea(0, 'new') WHERE id = 2;
                """);
        Cli.Result r = migrate(dbs);
        assertEquals(0, r.exit(), r.all());
        try (Connection s = Clusters.source().connect(dbs[0]); Connection t = Clusters.target().connect(dbs[1])) {
            Map<Long, String> src = contents(s);
            Map<Long, String> tgt = contents(t);
            for (Map.Entry<Long, String> e : src.entrySet()) assertEquals(e.getValue(), tgt.get(e.getKey()), "large object " + e.getKey());
            // the one removed on the source since the schema step is left on the target (empty), and named
            assertEquals(src.size() + 1, tgt.size(), tgt.toString());
        }
        assertTrue(r.all().contains("1 large object(s) on the target that the source does not have"), r.all());
    }

    @Test
    void verifyComparesLargeObjects() throws Exception {
        String[] dbs = Clusters.newPair("lo");
        Clusters.runSql(Clusters.source(), dbs[0], SOURCE);
        assertEquals(0, migrate(dbs).exit());
        Cli.Result same = Cli.run("verify", "--source", Clusters.source().uri(dbs[0]), "--target", Clusters.target().uri(dbs[1]),
                "--work-dir", work.toString());
        assertEquals(0, same.exit(), same.all());
        assertTrue(same.out().contains("4 large object(s) verified"), same.out());
        Clusters.runSql(Clusters.target(), dbs[1], "SELECT lo_put(424242, 3, 'X')");
        Cli.Result differ = Cli.run("verify", "--source", Clusters.source().uri(dbs[0]), "--target", Clusters.target().uri(dbs[1]),
                "--work-dir", work.toString());
        assertNotEquals(0, differ.exit(), differ.all());
        assertTrue(differ.out().contains("1 large object(s) that differ") && differ.out().contains("large object 424242: source"), differ.out());
    }

    /**
     * The verify verb compares with the source as it is now: a large object changed there since the copy differs. That
     * must not rewrite what the copy recorded, or every later run would fail on a copy that was right.
     */
    @Test
    void theVerifyVerbLeavesTheCopysFingerprintsAlone() throws Exception {
        String[] dbs = Clusters.newPair("lo");
        Clusters.runSql(Clusters.source(), dbs[0], SOURCE);
        assertEquals(0, migrate(dbs).exit());
        Clusters.runSql(Clusters.source(), dbs[0], "SELECT lo_put(424242, 0, 'changed since')");
        Cli.Result now = Cli.run("verify", "--source", Clusters.source().uri(dbs[0]), "--target", Clusters.target().uri(dbs[1]),
                "--work-dir", work.toString());
        assertNotEquals(0, now.exit(), now.all());
        assertTrue(now.out().contains("large object 424242: source"), now.out());
        Cli.Result again = migrate(dbs);
        assertEquals(0, again.exit(), "the copy was right as of its snapshot:\n" + again.all());
        assertTrue(again.out().contains("4 large object(s) verified"), again.out());
    }

    @Test
    void aSourceRoleThatCannotReadEveryLargeObjectIsToldBeforeAnythingIsWritten() throws Exception {
        String[] dbs = Clusters.newPair("lo");
        Clusters.ensureRole(Clusters.source(), "lo_reader", "lo-pw");
        Clusters.runSql(Clusters.source(), dbs[0], """
                GRANT CONNECT ON DATABASE %s TO lo_reader;
                SELECT lo_from_bytea(0, 'readable');
                SELECT lo_from_bytea(0, 'not readable');
                """.formatted(dbs[0]));
        try (Connection s = Clusters.source().connect(dbs[0]); Statement st = s.createStatement()) { // only the first one
            st.execute("GRANT SELECT ON LARGE OBJECT " + single(s, "SELECT min(oid) FROM pg_largeobject_metadata") + " TO lo_reader");
        }
        String source = "postgresql://lo_reader:lo-pw@127.0.0.1:" + Clusters.source().port() + "/" + dbs[0];
        Cli.Result r = Cli.run("migrate", "--source", source, "--target", Clusters.target().uri(dbs[1]), "--work-dir", work.toString());
        assertEquals(2, r.exit(), r.all());
        assertTrue(r.all().contains("The source role cannot read 1 large object(s)"), r.all());
        try (Connection t = Clusters.target().connect(dbs[1])) {
            assertEquals(null, single(t, "SELECT to_regclass('tsmigrate.migration')"), "nothing written to the target");
        }
    }

    private Cli.Result migrate(String[] dbs, String... more) {
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("migrate", "--source", Clusters.source().uri(dbs[0]),
                "--target", Clusters.target().uri(dbs[1]), "--work-dir", work.toString(), "--workers", "2"));
        args.addAll(java.util.List.of(more));
        return Cli.run(args.toArray(String[]::new));
    }

    /** oid -> md5 of its contents. */
    private static Map<Long, String> contents(Connection c) throws Exception {
        Map<Long, String> m = new TreeMap<>();
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT oid::bigint, md5(lo_get(oid)) FROM pg_largeobject_metadata")) {
            while (rs.next()) m.put(rs.getLong(1), rs.getString(2));
        }
        return m;
    }

    private static String single(Connection c, String sql) throws Exception {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
