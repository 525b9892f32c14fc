package tsmigrate.schema;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

/** Messages as in the TimescaleDB procedure "Migrate schema and data separately", Troubleshooting. */
class RestoreLogTest {
    private static final String NOT_OWNER = """
            pg_restore: creating EXTENSION "timescaledb"
            pg_restore: creating COMMENT "EXTENSION timescaledb"
            pg_restore: while PROCESSING TOC:
            pg_restore: from TOC entry 6239; 0 0 COMMENT EXTENSION timescaledb
            pg_restore: error: could not execute query: ERROR:  must be owner of extension timescaledb
            Command was: COMMENT ON EXTENSION timescaledb IS 'Enables scalable inserts and complex queries for time-series data';
            """;
    private static final String NO_CAGG_TABLE =
            "pg_restore: error: could not execute query: ERROR:  relation \"_timescaledb_internal._materialized_hypertable_3\" does not exist\n"
            + "Command was: ALTER TABLE _timescaledb_internal._materialized_hypertable_3 OWNER TO tsdbadmin;\n";
    private static final String NO_PRIVILEGES = "pg_restore: WARNING:  no privileges were granted for \"metrics\"\n";
    private static final String RELATION_EXISTS =
            "pg_restore: error: could not execute query: ERROR:  relation \"metrics_time_idx\" already exists\n"
            + "Command was: CREATE INDEX metrics_time_idx ON public.metrics USING btree (\"time\" DESC);\n";
    private static final String BLOCKER_EXISTS =
            "pg_restore: error: could not execute query: ERROR:  trigger \"ts_insert_blocker\" for relation \"metrics\" already exists\n"
            + "Command was: CREATE TRIGGER ts_insert_blocker BEFORE INSERT ON public.metrics FOR EACH ROW EXECUTE FUNCTION _timescaledb_internal.insert_blocker();\n";
    private static final String TYPE_EXISTS =
            "pg_restore: error: could not execute query: ERROR:  type \"mood\" already exists\n"
            + "Command was: CREATE TYPE public.mood AS ENUM ('sad', 'ok', 'happy');\n";
    private static final String SUMMARY = "pg_restore: warning: errors ignored on restore: 4\n";

    private static RestoreLog preData(String stderr) {
        return RestoreLog.parse(stderr, false);
    }

    private static RestoreLog postData(String stderr) {
        return RestoreLog.parse(stderr, true);
    }

    private static void assertOnlyWarning(RestoreLog log, String expectedText) {
        assertEquals(List.of(), log.errors);
        assertEquals(1, log.warnings.size(), log.warnings::toString);
        assertTrue(log.warnings.get(0).contains(expectedText), log.warnings.get(0));
    }

    @Test
    void notOwnerOfTimescaledbIsAWarning() {
        assertOnlyWarning(preData(NOT_OWNER), "must be owner of extension timescaledb");
    }

    @Test
    void tocContextLinesAreNeitherWarningsNorErrors() {
        RestoreLog log = preData(NOT_OWNER);
        assertTrue(log.warnings.stream().noneMatch(w -> w.contains("PROCESSING TOC") || w.contains("from TOC entry")));
    }

    @Test
    void missingMaterializedHypertableIsAWarning() {
        assertOnlyWarning(preData(NO_CAGG_TABLE), "_materialized_hypertable_3");
    }

    @Test
    void missingOrdinaryRelationIsAnError() {
        RestoreLog log = preData("pg_restore: error: could not execute query: ERROR:  relation \"public.orders\" does not exist\n");
        assertEquals(1, log.errors.size());
    }

    @Test
    void noPrivilegesGrantedIsAWarning() {
        assertOnlyWarning(preData(NO_PRIVILEGES), "no privileges were granted");
    }

    @Test
    void harmlessMessagesAreHarmlessInPostDataToo() {
        RestoreLog log = postData(NOT_OWNER + NO_CAGG_TABLE + NO_PRIVILEGES);
        assertEquals(List.of(), log.errors);
        assertEquals(3, log.warnings.size(), log.warnings::toString);
    }

    @Test
    void relationAlreadyExistsIsAWarningInPostData() {
        assertOnlyWarning(postData(RELATION_EXISTS), "relation \"metrics_time_idx\" already exists");
    }

    @Test
    void insertBlockerAlreadyExistsIsAWarningInPostData() {
        assertOnlyWarning(postData(BLOCKER_EXISTS), "ts_insert_blocker");
    }

    @Test
    void relationAlreadyExistsIsAnErrorInPreData() {
        RestoreLog log = preData(RELATION_EXISTS);
        assertEquals(1, log.errors.size());
        assertEquals(List.of(), log.warnings);
    }

    @Test
    void insertBlockerAlreadyExistsIsAnErrorInPreData() {
        RestoreLog log = preData(BLOCKER_EXISTS);
        assertEquals(1, log.errors.size());
        assertEquals(List.of(), log.warnings);
    }

    @Test
    void otherTriggerAlreadyExistsIsAnErrorInPostData() {
        RestoreLog log = postData("pg_restore: error: could not execute query: ERROR:  trigger \"audit_orders\" for relation \"orders\" already exists\n"
                + "Command was: CREATE TRIGGER audit_orders AFTER INSERT ON public.orders FOR EACH ROW EXECUTE FUNCTION public.audit();\n");
        assertEquals(1, log.errors.size(), log.warnings::toString);
    }

    @Test
    void otherAlreadyExistsIsAnErrorEvenInPostData() {
        RestoreLog log = postData(TYPE_EXISTS);
        assertEquals(1, log.errors.size());
        assertEquals(List.of(), log.warnings);
    }

    @Test
    void errorKeepsItsTextAndCommand() {
        RestoreLog log = preData(TYPE_EXISTS);
        assertEquals(1, log.errors.size());
        String e = log.errors.get(0);
        assertTrue(e.contains("ERROR:  type \"mood\" already exists"), e);
        assertTrue(e.contains("Command was: CREATE TYPE public.mood AS ENUM ('sad', 'ok', 'happy');"), e);
    }

    @Test
    void syntaxErrorIsAnError() {
        RestoreLog log = postData("""
                pg_restore: while PROCESSING TOC:
                pg_restore: from TOC entry 215; 1259 16390 VIEW v
                pg_restore: error: could not execute query: ERROR:  syntax error at or near "FORM"
                LINE 1: SELECT 1 FORM t;
                                 ^
                Command was: CREATE VIEW public.v AS SELECT 1 FORM t;
                """);
        assertEquals(1, log.errors.size());
        assertTrue(log.errors.get(0).contains("syntax error"), log.errors.get(0));
        assertTrue(log.errors.get(0).contains("Command was: CREATE VIEW public.v"), log.errors.get(0));
    }

    @Test
    void errorsIgnoredSummaryIsNeitherWarningNorError() {
        RestoreLog log = postData(SUMMARY);
        assertEquals(List.of(), log.errors);
        assertEquals(List.of(), log.warnings);
    }

    @Test
    void fullPreDataRunSortsEachMessage() {
        RestoreLog log = preData(NOT_OWNER + NO_CAGG_TABLE + NO_PRIVILEGES + TYPE_EXISTS + SUMMARY);
        assertEquals(3, log.warnings.size(), log.warnings::toString);
        assertEquals(1, log.errors.size(), log.errors::toString);
        assertTrue(log.errors.get(0).contains("type \"mood\""));
    }

    @Test
    void harmlessErrorDoesNotSwallowTheNextErrorsCommand() {
        RestoreLog log = preData(NOT_OWNER + TYPE_EXISTS);
        assertTrue(log.warnings.get(0).contains("COMMENT ON EXTENSION"), log.warnings.get(0));
        assertFalse(log.warnings.get(0).contains("CREATE TYPE"), log.warnings.get(0));
        assertTrue(log.errors.get(0).contains("CREATE TYPE"), log.errors.get(0));
    }

    @Test
    void windowsLineEndingsAreRead() {
        RestoreLog log = postData(RELATION_EXISTS.replace("\n", "\r\n") + TYPE_EXISTS.replace("\n", "\r\n"));
        assertEquals(1, log.warnings.size());
        assertEquals(1, log.errors.size());
    }

    @Test
    void emptyStderrGivesNothing() {
        RestoreLog log = postData("");
        assertEquals(List.of(), log.errors);
        assertEquals(List.of(), log.warnings);
    }
}
