package tsmigrate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Time values at the far end of what the types hold: a date past the last timestamp (294276 AD), or timestamps
 * within one interval of it. Splitting by time steps through timestamps, which overflowed and failed the plan
 * step ("date out of range for timestamp", "timestamp out of range"), after pre-data had already run.
 */
class TimeRangeEdgesTest {
    @TempDir
    Path work;

    @ParameterizedTest
    @ValueSource(strings = {
            "CREATE TABLE e (t date, v int); CREATE INDEX ON e (t); INSERT INTO e VALUES ('2024-01-01', 1), ('2024-03-01', 2), ('5874897-12-31', 3)",
            "CREATE TABLE e (t timestamptz, v int); CREATE INDEX ON e (t);"
                    + " INSERT INTO e VALUES ('294276-12-01 00:00:00+00', 1), ('294276-12-31 12:00:00+00', 2)"})
    void tablesReachingTheEndOfTimeAreCopied(String source) throws Exception {
        String[] dbs = Clusters.newPair("timeedge");
        Clusters.runSql(Clusters.source(), dbs[0], source);
        Cli.Result r = Cli.run("migrate", "--source", Clusters.source().uri(dbs[0]), "--target", Clusters.target().uri(dbs[1]),
                "--work-dir", work.toString(), "--chunk-interval", "1 day");
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.all().contains("stepped by the chunk interval '1 day', reach the end of the timestamp range"), r.all());
        try (Connection s = Clusters.source().connect(dbs[0]); Connection t = Clusters.target().connect(dbs[1])) {
            assertEquals(DbCompare.allRows(s), DbCompare.allRows(t));
        }
    }

    /** An interval of 300,000 years overflows from any value: the warning names the interval, not only the values. */
    @org.junit.jupiter.api.Test
    void anIntervalPastTheEndOfTimeIsNamed() throws Exception {
        String[] dbs = Clusters.newPair("timeedge_iv");
        Clusters.runSql(Clusters.source(), dbs[0], "CREATE TABLE e (t timestamptz, v int); CREATE INDEX ON e (t);"
                + " INSERT INTO e SELECT timestamptz '2024-01-01' + i * interval '1 hour', i FROM generate_series(1, 50) i");
        Cli.Result r = Cli.run("migrate", "--source", Clusters.source().uri(dbs[0]), "--target", Clusters.target().uri(dbs[1]),
                "--work-dir", work.toString(), "--chunk-interval", "300000 years");
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.all().contains("stepped by the chunk interval '300000 years', reach the end"), r.all());
        try (Connection s = Clusters.source().connect(dbs[0]); Connection t = Clusters.target().connect(dbs[1])) {
            assertEquals(DbCompare.allRows(s), DbCompare.allRows(t));
        }
    }
}
