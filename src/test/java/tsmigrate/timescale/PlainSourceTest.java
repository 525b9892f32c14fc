package tsmigrate.timescale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;

import tsmigrate.config.JobConfig;
import tsmigrate.it.PgliteFront;
import tsmigrate.run.MigrationRun;
import tsmigrate.run.UserError;

/**
 * A plain PostgreSQL source (an engine whose timescaledb extension is dropped) and a TimescaleDB target: the job's
 * hypertables section decides which tables become hypertables; the TimescaleDB-only steps say they have nothing to do.
 * Then the target loses TimescaleDB too, and every step says it is skipped.
 */
@EnabledIf(value = "tsmigrate.it.PgliteFront#available", disabledReason = "node >= 20 is not installed")
class PlainSourceTest {
    static PgliteFront source;
    static PgliteFront target;

    @TempDir
    static Path work;

    static final String TABLES = """
            CREATE SCHEMA "Sales Ops";
            CREATE TABLE "Sales Ops"."Orders Log" ("Time" timestamptz NOT NULL, device int, v double precision);
            CREATE TABLE metrics (time timestamptz NOT NULL, device int, v double precision);
            CREATE TABLE counters (n bigint NOT NULL, v int);
            CREATE TABLE keyed (id int PRIMARY KEY, t timestamptz NOT NULL);
            CREATE TABLE texts (t text NOT NULL);
            """;

    @BeforeAll
    static void engines() throws Exception {
        List<PgliteFront> two = PgliteFront.start(2);
        source = two.get(0);
        target = two.get(1);
        try (Connection s = source.connect(); Connection t = target.connect()) {
            TsFixture.run(s, "DROP EXTENSION timescaledb;");
            TsFixture.run(s, TABLES);
            TsFixture.run(t, TABLES.replace("id int PRIMARY KEY", "id int"));
        }
    }

    @AfterAll
    static void stop() {
        if (source != null) source.close();
        if (target != null) target.close();
    }

    private static MigrationRun run(String... specs) {
        MigrationRun run = TsFixture.run(source, target, work);
        for (int i = 0; i < specs.length; i += 3) run.cfg.hypertables.put(specs[i], new JobConfig.HypertableSpec(specs[i + 1], specs[i + 2]));
        return run;
    }

    @Test
    void configuredTablesBecomeHypertablesAndTheRestIsSkipped() throws Exception {
        MigrationRun run = run("public.metrics", "time", "6 hours", "Sales Ops.Orders Log", "Time", null, "public.counters", "n", "1000");
        try (Connection s = source.connect(); Connection t = target.connect()) {
            TimescaleSteps.validateConfig(s, t, run.cfg);
            assertEquals(List.of(), TimescaleSteps.preflightWarnings(s, t), "a plain source has nothing the target lacks");
            assertEquals(java.util.Map.of(), SourceHypertables.read(s));
        }
        TimescaleSteps steps = new TimescaleSteps();
        assertEquals("3 hypertables (3 created, 0 already there), 0 space/extra dimensions, 0 integer_now functions, compression enabled on 0",
                steps.hypertables(run));
        assertEquals("3 hypertables (0 created, 3 already there), 0 space/extra dimensions, 0 integer_now functions, compression enabled on 0",
                steps.hypertables(run), "again: nothing to do");
        try (Connection t = target.connect()) {
            assertEquals(List.of(
                    List.of("hypertable_schema=Sales Ops", "hypertable_name=Orders Log", "column_name=Time", "time_interval=7 days", "integer_interval=null"),
                    List.of("hypertable_schema=public", "hypertable_name=counters", "column_name=n", "time_interval=null", "integer_interval=1000"),
                    List.of("hypertable_schema=public", "hypertable_name=metrics", "column_name=time", "time_interval=06:00:00", "integer_interval=null")),
                    TsFixture.rows(t, "SELECT hypertable_schema, hypertable_name, column_name, time_interval, integer_interval"
                            + " FROM timescaledb_information.dimensions ORDER BY 1, 2"));
            assertEquals(List.of(List.of("indexname=metrics_time_idx")),
                    TsFixture.rows(t, "SELECT indexname FROM pg_indexes WHERE tablename = 'metrics'"), "the procedure's create_hypertable: default index");
        }
        assertEquals(TimescaleSteps.NO_SOURCE, steps.compress(run));
        assertEquals(TimescaleSteps.NO_SOURCE, steps.caggs(run));
        assertEquals(TimescaleSteps.NO_SOURCE, steps.policies(run));
    }

    @Test
    void badHypertableConfigNamesWhatIsWrong() throws Exception {
        TimescaleSteps steps = new TimescaleSteps();
        UserError e = assertThrows(UserError.class, () -> steps.hypertables(run("public.nosuch", "time", "1 day")));
        assertTrue(e.getMessage().contains("'public.nosuch'"), e.getMessage());
        e = assertThrows(UserError.class, () -> steps.hypertables(run("public.texts", "tme", "1 day")));
        assertTrue(e.getMessage().contains("'tme'") && e.hint().contains("t."), e.getMessage() + " / " + e.hint());
        e = assertThrows(UserError.class, () -> steps.hypertables(run("public.counters", "n", "6 hours")));
        assertTrue(e.getMessage().contains("must be a number"), e.getMessage());
        e = assertThrows(UserError.class, () -> steps.hypertables(run("public.texts", "t", "1 day")));
        assertTrue(e.getMessage().contains("is of type text"), e.getMessage());
        try (Connection s = source.connect(); Connection t = target.connect()) {
            e = assertThrows(UserError.class, () -> TimescaleSteps.validateConfig(s, t, run("public.keyed", "t", "1 day").cfg));
            assertTrue(e.getMessage().contains("keyed_pkey"), e.getMessage());
            e = assertThrows(UserError.class, () -> TimescaleSteps.validateConfig(s, t, run("public.metrics", "time", "7 parsecs").cfg));
            assertTrue(e.getMessage().contains("7 parsecs"), e.getMessage());
            e = assertThrows(UserError.class, () -> TimescaleSteps.validateConfig(s, t, run("public.nosuch", "time", null).cfg));
            assertTrue(e.getMessage().contains("'public.nosuch'"), e.getMessage());
        }
    }

    @Test
    void withoutTimescaleOnEitherSideEveryStepIsSkipped() throws Exception {
        PgliteFront other = PgliteFront.start();
        try (other; Connection o = other.connect(); Connection t = target.connect()) {
            // TimescaleDB on the source side only: preflight says what will not happen
            TsFixture.run(o, "CREATE TABLE x (t timestamptz NOT NULL);");
            try (Connection plain = source.connect()) {
                List<String> w = TimescaleSteps.preflightWarnings(o, plain);
                assertEquals(2, w.size(), w.toString());
                assertTrue(w.get(0).startsWith("the source has TimescaleDB 2."), w.get(0));
                assertTrue(w.get(1).startsWith("extension timescaledb 2.") && w.get(1).endsWith("run CREATE EXTENSION \"timescaledb\" on the target first"),
                        w.get(1));
            }
            MigrationRun tsToPlain = new MigrationRun(cfg(other, source));
            assertEquals(TimescaleSteps.NO_TARGET, new TimescaleSteps().hypertables(tsToPlain));
            assertEquals(TimescaleSteps.NO_TARGET, new TimescaleSteps().caggs(tsToPlain));
            assertEquals(TimescaleSteps.NO_TARGET, new TimescaleSteps().policies(tsToPlain));
            assertEquals(TimescaleSteps.NO_TARGET, new TimescaleSteps().compress(tsToPlain));
            assertTrue(tsToPlain.warnings().get(0).contains("hypertables arrive as plain tables"), tsToPlain.warnings().toString());
        }
        MigrationRun plainToPlain = new MigrationRun(cfg(source, source));
        assertEquals(TimescaleSteps.NO_TARGET, new TimescaleSteps().hypertables(plainToPlain));
        assertEquals(TimescaleSteps.NO_TARGET, new TimescaleSteps().caggs(plainToPlain));
        assertEquals(TimescaleSteps.NO_TARGET, new TimescaleSteps().policies(plainToPlain));
        plainToPlain.cfg.hypertables.put("public.metrics", new JobConfig.HypertableSpec("time", "1 day"));
        UserError e = assertThrows(UserError.class, () -> new TimescaleSteps().hypertables(plainToPlain));
        assertTrue(e.getMessage().contains("has no TimescaleDB extension"), e.getMessage());
    }

    private static JobConfig cfg(PgliteFront from, PgliteFront to) {
        JobConfig cfg = new JobConfig();
        cfg.source = tsmigrate.config.ConnInfo.parse("source", from.uri());
        cfg.target = tsmigrate.config.ConnInfo.parse("target", to.uri());
        cfg.workDir = work;
        return cfg;
    }
}
