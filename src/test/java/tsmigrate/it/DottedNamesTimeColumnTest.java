package tsmigrate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * --time-column for tables whose names hold dots: "a.b".c and a."b.c" are two tables, and a.b.c could be either
 * (QA: the quoted forms were refused, and a.b.c was applied to both).
 */
class DottedNamesTimeColumnTest {
    static String[] dbs;
    @TempDir
    Path work;

    @BeforeAll
    static void source() throws Exception {
        dbs = Clusters.newPair("dotted");
        Clusters.runSql(Clusters.source(), dbs[0], """
                CREATE SCHEMA a; CREATE SCHEMA "a.b";
                CREATE TABLE "a.b".c (ts timestamptz NOT NULL, v int);
                CREATE TABLE a."b.c" (ts timestamptz NOT NULL, v int);
                INSERT INTO "a.b".c SELECT timestamptz '2024-01-01' + i * interval '1 day', i FROM generate_series(1, 10) i;
                INSERT INTO a."b.c" SELECT * FROM "a.b".c;
                """);
    }

    private Cli.Result plan(String timeColumn) {
        return Cli.run("plan", "--source", Clusters.source().uri(dbs[0]), "--target", Clusters.target().uri(dbs[1]),
                "--work-dir", work.toString(), "--chunk-interval", "1 day", "--time-column", timeColumn);
    }

    @Test
    void aQuotedKeyNamesOneTable() {
        Cli.Result r = plan("\"a.b\".c=ts");
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().matches("(?s).*\\n  \"a\\.b\"\\.\"c\" +10 .*"), r.out());
        assertTrue(r.out().matches("(?s).*\\n  \"a\"\\.\"b\\.c\" +1 .*"), "the other one stays whole:\n" + r.out());
    }

    /** A column double-quoted as in SQL is that column (it was refused: no column '"ts"'). */
    @Test
    void aQuotedColumnIsTheColumn() {
        Cli.Result r = plan("\"a.b\".c=\"ts\"");
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().matches("(?s).*\\n  \"a\\.b\"\\.\"c\" +10 .*"), r.out());
    }

    @Test
    void anUnquotedKeyThatCouldBeEitherIsRefused() {
        Cli.Result r = plan("a.b.c=ts");
        assertEquals(2, r.exit(), r.all());
        assertTrue(r.err().contains("which could be any of"), r.err());
    }
}
