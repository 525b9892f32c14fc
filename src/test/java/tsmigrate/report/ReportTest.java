package tsmigrate.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.xml.parsers.DocumentBuilderFactory;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import tsmigrate.config.ConnInfo;
import tsmigrate.config.JobConfig;
import tsmigrate.plan.Chunk;
import tsmigrate.plan.TableInfo;
import tsmigrate.run.MigrationRun;

class ReportTest {
    static final String ODD = "Sales \"Ops\" <&>";

    /** A finished run built by hand: nothing connects anywhere. */
    static final class Sample {
        final MigrationRun run;
        final long totalMs;
        int exportBars;
        int loadBars;
        final List<String> workers = new ArrayList<>();

        Sample(Path workDir, int chunksWanted, int workers) {
            JobConfig cfg = new JobConfig();
            cfg.name = "nightly <copy> & \"more\"";
            cfg.source = ConnInfo.parse("source", "postgresql://u:s3cret@h:5432/a");
            cfg.target = ConnInfo.parse("target", "postgresql://u:t0psecret@h:5432/b");
            cfg.workDir = workDir;
            cfg.workers = workers;
            run = new MigrationRun(cfg);
            run.resumed = true;
            for (int w = 1; w <= workers; w++) this.workers.add("worker-" + w);

            TableInfo metrics = table("public", "metrics", 1, 40_000_000, 6L << 30);
            TableInfo odd = table("public", ODD, 2, 2_000_000, 300L << 20);
            TableInfo small = table("ops", "devices", 3, 1_200, 200_000);
            run.getTables().addAll(List.of(metrics, odd, small));

            Random rnd = new Random(42);
            long t = 1_800_000_000_000L; // shifted at the end so that the run ends just before now
            long runStart = t;
            step("preflight", t, t += 1_800, "3 tables, source PostgreSQL 15, target PostgreSQL 15");
            step("pre-data", t, t += 4_200, "pg_restore done");
            step("plan", t, t += 600, chunksWanted + " chunks");
            long dataStart = t;

            // the chunks: most of metrics, a few of the odd table, one of the small one
            List<Chunk> chunks = new ArrayList<>();
            int oddChunks = Math.max(3, chunksWanted / 20);
            int metricsChunks = chunksWanted - oddChunks - 1;
            for (int i = 0; i < metricsChunks; i++) {
                chunks.add(chunk(metrics, i + 1, "[2024-01-" + (1 + i % 28) + " +" + i + "d, next)"));
            }
            for (int i = 0; i < oddChunks; i++) chunks.add(chunk(odd, i + 1, "[" + (i * 1000) + ", " + (i * 1000 + 1000) + ")"));
            chunks.add(chunk(small, 1, "whole table"));
            run.getChunks().addAll(chunks);

            // the workers take chunks in turn, each as soon as it is free; the first chunk was done by an earlier run
            long[] free = new long[workers];
            for (int w = 0; w < workers; w++) free[w] = dataStart + 40 + w * 15L;
            for (int i = 0; i < chunks.size(); i++) {
                Chunk ch = chunks.get(i);
                if (i == 0) {
                    ch.state = "verified";
                    continue;
                }
                int w = 0;
                for (int k = 1; k < workers; k++) if (free[k] < free[w]) w = k;
                long rows = ch.table == small ? 1_200 : 150_000 + rnd.nextInt(100_000);
                ch.worker = "worker-" + (w + 1);
                ch.exportedRows = rows;
                ch.bytes = rows * (110 + rnd.nextInt(30));
                ch.exportStartMs = free[w];
                ch.exportEndMs = ch.exportStartMs + (long) (rows / 60.0 * (0.7 + rnd.nextDouble()));
                ch.loadStartMs = ch.exportEndMs + 3 + rnd.nextInt(10);
                ch.loadEndMs = ch.loadStartMs + (long) (rows / 35.0 * (0.7 + rnd.nextDouble()));
                ch.loadedRows = rows;
                ch.state = "verified";
                free[w] = ch.loadEndMs + 2 + rnd.nextInt(25);
                exportBars++;
                loadBars++;
            }
            chunks.get(chunks.size() - 2).state = "mismatch"; // one chunk of the odd table differs
            long dataEnd = 0;
            for (long f : free) dataEnd = Math.max(dataEnd, f);
            t = dataEnd + 120;
            step("data", dataStart, t, chunksWanted + " chunks");
            step("post-data", t, t += 95_000, "indexes and constraints");
            step("sequences", t, t += 300, "4 sequences");
            step("analyze", t, t += 21_000, "ANALYZE done");
            // verify finds the mismatch and fails: the step never ends
            run.stepStarted("verify");
            run.counts("verify", (chunksWanted - 1) + " chunk(s) checked now, " + (chunksWanted - 1) + " of " + chunksWanted
                    + " verified, 1 MISMATCH");
            run.stepTimes().get("verify")[0] = t;
            t += 52_000;
            run.warn("pre-data: pg_restore reported a known-harmless problem: pg_restore: error: could not execute query: "
                    + "ERROR:  must be owner of extension timescaledb <owned by postgres> & co");
            run.warn("post-data: pg_restore reported a known-harmless problem: pg_restore: error: relation \"metrics_pkey\" already exists");
            run.warn("the source snapshot 00000003-0000001B-1 is gone; later chunks are read without it");
            totalMs = t - runStart + 400;
            long shift = System.currentTimeMillis() - 200 - t;
            for (Chunk ch : chunks) {
                if (ch.exportStartMs > 0) {
                    ch.exportStartMs += shift;
                    ch.exportEndMs += shift;
                    ch.loadStartMs += shift;
                    ch.loadEndMs += shift;
                }
            }
            for (long[] times : run.stepTimes().values()) {
                times[0] += shift;
                if (times[1] > 0) times[1] += shift;
            }
        }

        private static TableInfo table(String schema, String name, int number, long rows, long bytes) {
            TableInfo ti = new TableInfo(schema, name, 16384 + number, List.of("time", "value"), rows, bytes);
            ti.number = number;
            return ti;
        }

        private static Chunk chunk(TableInfo t, int n, String range) {
            return new Chunk(t, n, "true", range, Path.of("/nonexistent").resolve(t.dirName()).resolve(String.format("%06d.csv", n)));
        }

        private void step(String name, long start, long end, String counts) {
            run.stepStarted(name);
            run.counts(name, counts);
            run.stepEnded(name);
            long[] times = run.stepTimes().get(name);
            times[0] = start;
            times[1] = end;
        }
    }

    private static int count(String haystack, String needle) {
        int n = 0;
        for (int i = haystack.indexOf(needle); i >= 0; i = haystack.indexOf(needle, i + needle.length())) n++;
        return n;
    }

    @Test
    void writesBothReportsPrivatelyWithoutPasswordsAndWithEverythingEscaped(@TempDir Path dir) throws Exception {
        Sample s = new Sample(dir, 40, 3);
        Report.write(s.run, s.totalMs);

        Path md = dir.resolve("report.md");
        Path html = dir.resolve("report.html");
        for (Path p : List.of(md, html)) {
            assertTrue(Files.isRegularFile(p), p + " exists");
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(p)), p + " is private");
        }
        String m = Files.readString(md);
        String h = Files.readString(html);
        for (String text : List.of(m, h)) {
            assertFalse(text.contains("s3cret"), "no source password");
            assertFalse(text.contains("t0psecret"), "no target password");
            assertTrue(text.contains("postgresql://u:****@h:5432/a"), "masked source");
            assertTrue(text.contains("postgresql://u:****@h:5432/b"), "masked target");
            assertTrue(text.contains("1 mismatched"), "the mismatch count in the result");
            assertTrue(text.contains("1 mismatch"), "the mismatch in the tables");
        }

        // one lane label per worker, one rect per export bar and per load bar
        assertEquals(3, count(h, "<text class=\"lane\""));
        for (String w : s.workers) assertEquals(1, count(h, ">" + w + "<title>"), "lane label of " + w);
        assertEquals(39, s.exportBars);
        assertEquals(s.exportBars, count(h, "<rect class=\"ex\""));
        assertEquals(s.loadBars, count(h, "<rect class=\"ld\""));
        assertTrue(h.contains("1 chunk was copied by an earlier run"), "the resumed chunk is mentioned");

        // the job name in the title, the odd table name escaped in HTML and in Markdown
        assertTrue(h.contains("<title>tsmigrate report: nightly &lt;copy&gt; &amp; &quot;more&quot;</title>"));
        assertTrue(h.contains("<td>&quot;public&quot;.&quot;Sales &quot;&quot;Ops&quot;&quot; &lt;&amp;&gt;&quot;</td>"));
        assertFalse(h.contains("<&>"));
        assertFalse(h.contains("<copy>"));
        assertTrue(m.contains("| \"public\".\"Sales \"\"Ops\"\" \\<\\&\\>\" |"));

        // warnings, escaped
        assertTrue(h.contains("must be owner of extension timescaledb &lt;owned by postgres&gt; &amp; co"));
        assertTrue(h.contains("relation &quot;metrics_pkey&quot; already exists"));
        assertTrue(h.contains("Warnings (3)"));
        assertTrue(m.contains("must be owner of extension timescaledb \\<owned by postgres\\> \\& co"));
        assertTrue(m.contains("the source snapshot 00000003-0000001B-1 is gone"));

        // steps with their results and durations; verify found the mismatch and failed
        assertTrue(h.contains("<td>post-data</td><td>ok</td>"));
        assertTrue(m.contains("| post-data | ok |"));
        assertTrue(h.contains("NOT OK: failed in step verify; verification: 39 chunks verified, 1 mismatched"));
        assertTrue(h.contains("<td>verify</td><td class=\"bad-text\">FAILED</td>"));
        assertTrue(h.contains("1:35"), "post-data took 95 s");

        // offline: nothing fetched from elsewhere
        assertFalse(h.contains("<script"));
        assertFalse(h.contains("src="));
        assertFalse(h.contains("<link"));
        assertEquals(count(h, "http"), count(h, "xmlns=\"http://www.w3.org/2000/svg\""));

        // every SVG is well-formed XML (escaping inside titles and labels)
        Matcher svg = Pattern.compile("<svg .*?</svg>", Pattern.DOTALL).matcher(h);
        int svgs = 0;
        while (svg.find()) {
            DocumentBuilderFactory.newInstance().newDocumentBuilder()
                    .parse(new ByteArrayInputStream(svg.group().getBytes(StandardCharsets.UTF_8)));
            svgs++;
        }
        assertEquals(2, svgs, "the steps strip and the timeline");

        String out = System.getProperty("tsmigrate.reportSample");
        if (out != null) {
            // -Dtsmigrate.reportSample=DIR also writes a realistic report (200 chunks, 3 workers) there to look at
            Path sampleDir = Files.createDirectories(Path.of(out));
            Path work = Files.createDirectories(dir.resolve("sample"));
            Sample big = new Sample(work, Integer.getInteger("tsmigrate.reportSample.chunks", 200),
                    Integer.getInteger("tsmigrate.reportSample.workers", 3));
            Report.write(big.run, big.totalMs);
            for (String f : List.of("report.md", "report.html")) {
                Files.copy(work.resolve(f), sampleDir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    @Test
    void aFailedRunSaysWhichStepFailedAndDrawsNoChunksWhenNoneRan(@TempDir Path dir) throws Exception {
        JobConfig cfg = new JobConfig();
        cfg.source = ConnInfo.parse("source", "postgresql://u:s3cret@h:5432/a");
        cfg.target = ConnInfo.parse("target", "postgresql://u:t0psecret@h:5432/b");
        cfg.workDir = dir;
        MigrationRun run = new MigrationRun(cfg);
        run.stepStarted("preflight");
        run.stepEnded("preflight");
        run.stepStarted("pre-data"); // fails: never ends
        Report.write(run, 1_234);
        String h = Files.readString(dir.resolve("report.html"));
        String m = Files.readString(dir.resolve("report.md"));
        assertTrue(h.contains("NOT OK: failed in step pre-data"));
        assertTrue(m.contains("**Result: NOT OK**: failed in step pre-data"));
        assertTrue(h.contains("No chunk was copied by this run."));
        assertEquals(0, count(h, "<rect class=\"ex\""));
        assertTrue(h.contains("<title>tsmigrate report: migration</title>"));
    }

    @Test
    void workersSortByTheirNumberAndTicksAreRound() {
        List<String> names = new ArrayList<>(List.of("worker-10", "worker-2", "worker-1"));
        names.sort(Report::compareWorkers);
        assertEquals(List.of("worker-1", "worker-2", "worker-10"), names);
        assertEquals(30, Report.tickStep(240));
        assertEquals(0.5, Report.tickStep(4.2));
        assertEquals("2 min", Report.tickLabel(120, 60));
        assertEquals("1 h 30 min", Report.tickLabel(5400, 900));
        assertEquals("45 s", Report.tickLabel(45, 15));
    }

    /**
     * A failed run's report is written while its other workers wind down: a chunk can get its worker and its start
     * after the report counted the lanes. The report leaves that chunk out; it used to fail with a NullPointerException.
     */
    @Test
    void aChunkTakenAfterTheLanesWereCountedIsLeftOut(@TempDir Path dir) {
        Sample s = new Sample(dir, 12, 2);
        Report.Data d = new Report.Data(s.run, s.totalMs, System.currentTimeMillis());
        Chunk late = s.run.getChunks().get(0); // done by an earlier run: no worker, no times, when the lanes were counted
        late.worker = "worker-3";
        late.exportStartMs = System.currentTimeMillis() - 100;
        String h = Report.html(d);
        assertEquals(s.exportBars, count(h, "<rect class=\"ex\""), "the late chunk is not drawn");
        assertFalse(h.contains("worker-3"), "nor given a lane");
    }

    /**
     * The summary's seconds per table are the wall time this run spent on it, within the data step; they were its
     * export time plus its load time, which overlap, and exceeded the run's own wall time (QA).
     */
    @Test
    void summarySecondsPerTableAreWithinTheDataStep(@TempDir Path dir) {
        Sample s = new Sample(dir, 60, 1);
        long[] data = s.run.stepTimes().get("data");
        String text = Summary.render(s.run, s.totalMs);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^  \"public\"\\.\"metrics\" +\\d+ +[\\d,]+ +\\S+ \\S+ +([\\d.]+) ").matcher(text);
        assertTrue(m.find(), text);
        assertTrue(Double.parseDouble(m.group(1)) <= (data[1] - data[0]) / 1000.0, "within the data step's " + (data[1] - data[0]) + " ms:\n" + text);
        assertTrue(text.contains("TOTAL (wall time of this run)"), text);
    }
}
