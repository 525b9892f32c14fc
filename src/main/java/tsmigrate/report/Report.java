package tsmigrate.report;

import java.io.IOException;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

import tsmigrate.plan.Chunk;
import tsmigrate.plan.TableInfo;
import tsmigrate.run.Durations;
import tsmigrate.run.MigrationRun;
import tsmigrate.run.WorkDir;

/**
 * The report written at the end of a migration: {@code report.md} and {@code report.html} in the work dir
 * (0600). Both hold the result, the steps, the tables (rows, bytes, time, rate, verification) and the warnings;
 * the HTML page also draws the run's steps and a timeline of the chunks, one lane per worker, as inline SVG
 * (no script, style sheet or font from elsewhere: the page works offline).
 * <p>
 * Connections are shown only in their masked form; every name, range and message is escaped.
 */
public final class Report {
    static final String EXPORT_COLOUR = "#4e79a7";
    static final String LOAD_COLOUR = "#f28e2b";
    /** Chunk states in the order they are listed; others follow alphabetically. */
    private static final List<String> STATES = List.of("verified", "mismatch", "loaded", "exported", "failed", "planned");
    private static final String[] STEP_COLOURS = {"#9ecae1", "#a1d99b", "#fdd0a2", "#bcbddc", "#c7e9c0", "#fdae6b", "#d9d9d9", "#9ebcda"};
    private static final DateTimeFormatter DATE_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss xxx", Locale.ROOT);
    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss", Locale.ROOT);

    /** SVG geometry: total width, left margin (lane labels), right margin, lane height, bar height. */
    static final int WIDTH = 1100;
    private static final int LEFT = 100;
    private static final int RIGHT = 24;
    private static final int LANE = 22;
    private static final int BAR = 14;

    private Report() {
    }

    /** Writes report.md and report.html into the work dir; totalMs is the wall time of the whole run. */
    public static void write(MigrationRun run, long totalMs) throws IOException {
        Data d = new Data(run, totalMs, System.currentTimeMillis());
        WorkDir.writePrivate(run.workDir.root().resolve("report.md"), markdown(d));
        WorkDir.writePrivate(run.workDir.root().resolve("report.html"), html(d));
    }

    // ------------------------------------------------------------------ the numbers, computed once

    /** Counters of a group of chunks: a table, a worker, or all of them. */
    static final class Tally {
        final String label;
        int chunks;
        long rows;
        long bytes;
        /** Rows and bytes of the chunks this run loaded: what its rates are over. */
        long runRows;
        long runBytes;
        long exportMs;
        long loadMs;
        long first = Long.MAX_VALUE;
        long last;
        final Map<String, Integer> states = new TreeMap<>();

        Tally(String label) {
            this.label = label;
        }

        void add(Chunk ch) {
            chunks++;
            if (ch.loadedRows >= 0) rows += ch.loadedRows;
            if (ch.bytes >= 0) bytes += ch.bytes;
            if (finished(ch.exportStartMs, ch.exportEndMs)) {
                exportMs += ch.exportEndMs - ch.exportStartMs;
                first = Math.min(first, ch.exportStartMs);
                last = Math.max(last, ch.exportEndMs);
            }
            if (finished(ch.loadStartMs, ch.loadEndMs)) {
                runRows += Math.max(0, ch.loadedRows);
                runBytes += Math.max(0, ch.bytes);
                loadMs += ch.loadEndMs - ch.loadStartMs;
                first = Math.min(first, ch.loadStartMs);
                last = Math.max(last, ch.loadEndMs);
            }
            states.merge(ch.state == null ? "?" : ch.state, 1, Integer::sum);
        }

        /** From the first chunk's start to the last chunk's end, in this run. */
        long wallMs() {
            return first == Long.MAX_VALUE || last < first ? 0 : last - first;
        }

        int state(String s) {
            return states.getOrDefault(s, 0);
        }
    }

    record Step(String name, long start, long end, String counts, int warnings, Tally data) {
    }

    /** Everything the two renderings show. */
    static final class Data {
        final MigrationRun run;
        final long startMs;
        final long endMs;
        final long totalMs;
        final List<Chunk> chunks;
        final List<Step> steps = new ArrayList<>();
        final List<Tally> tables = new ArrayList<>();
        final List<Tally> workers = new ArrayList<>();
        final Tally total = new Tally("TOTAL");
        final List<String> warnings;
        /** step name -> its warnings (those that start with "step:"); the rest under "". */
        final Map<String, List<String>> warningsByStep = new LinkedHashMap<>();
        final String failedStep;
        final boolean stopped;
        final boolean ok;
        final String stepsText;
        final String verifyText;
        /** Chunks that this run did not touch although they are done: an earlier run or another instance copied them. */
        final int doneEarlier;
        final int notStarted;

        Data(MigrationRun run, long totalMs, long now) {
            this.run = run;
            this.chunks = new ArrayList<>(run.getChunks());
            this.warnings = run.warnings();
            Map<String, long[]> times;
            synchronized (run.stepTimes()) {
                times = new LinkedHashMap<>();
                run.stepTimes().forEach((k, v) -> times.put(k, v.clone()));
            }
            Map<String, String> counts;
            synchronized (run.stepCounts()) {
                counts = new LinkedHashMap<>(run.stepCounts());
            }

            // when: normally the report is written right after the run, so it ended now; when the recorded
            // times are older than that (a report made later), the first step's start anchors the run
            long earliest = Long.MAX_VALUE;
            for (long[] t : times.values()) if (t[0] > 0) earliest = Math.min(earliest, t[0]);
            for (Chunk ch : chunks) {
                if (ch.exportStartMs > 0) earliest = Math.min(earliest, ch.exportStartMs);
                if (ch.loadStartMs > 0) earliest = Math.min(earliest, ch.loadStartMs);
            }
            long wall = Math.max(0, totalMs);
            if (earliest != Long.MAX_VALUE && earliest < now - wall - 5_000) {
                startMs = earliest;
                endMs = earliest + wall;
            } else {
                startMs = now - wall;
                endMs = now;
            }
            this.totalMs = wall;

            for (String w : warnings) {
                String step = "";
                for (String s : times.keySet()) if (w.startsWith(s + ":")) step = s;
                warningsByStep.computeIfAbsent(step, k -> new ArrayList<>()).add(w);
            }

            // tables in plan order, then any table only the chunks know
            Map<TableInfo, Tally> byTable = new LinkedHashMap<>();
            for (TableInfo t : run.getTables()) byTable.put(t, new Tally(t.shown()));
            Map<String, Tally> byWorker = new TreeMap<>(Report::compareWorkers);
            int earlier = 0;
            int idle = 0;
            for (Chunk ch : chunks) {
                byTable.computeIfAbsent(ch.table, t -> new Tally(t.shown())).add(ch);
                this.total.add(ch);
                boolean touched = ch.exportStartMs > 0 || ch.loadStartMs > 0;
                if (touched && ch.worker != null) byWorker.computeIfAbsent(ch.worker, Tally::new).add(ch);
                if (!touched) {
                    if (List.of("loaded", "verified", "mismatch").contains(ch.state)) earlier++;
                    else idle++;
                }
            }
            tables.addAll(byTable.values());
            workers.addAll(byWorker.values());
            doneEarlier = earlier;
            notStarted = idle;

            for (Map.Entry<String, long[]> e : times.entrySet()) {
                long s = e.getValue()[0];
                long end = e.getValue()[1];
                Tally t = new Tally(e.getKey());
                long until = end > 0 ? end : endMs;
                for (Chunk ch : chunks) if (ch.loadEndMs > 0 && ch.loadEndMs >= s && ch.loadEndMs <= until) t.add(ch);
                steps.add(new Step(e.getKey(), s, end, counts.getOrDefault(e.getKey(), ""),
                        warningsByStep.getOrDefault(e.getKey(), List.of()).size(), t));
            }

            stopped = run.stopping;
            String failed = run.currentStep();
            if (failed == null) {
                for (Step s : steps) {
                    if (s.end <= 0) {
                        failed = s.name;
                        break;
                    }
                }
            }
            failedStep = failed;
            int verified = total.state("verified");
            int mismatch = total.state("mismatch");
            int unverified = chunks.size() - verified - mismatch;
            ok = failed == null && !stopped && !steps.isEmpty() && mismatch == 0 && run.failedChunks.isEmpty();
            if (steps.isEmpty()) stepsText = "no step ran";
            else if (failed == null && !stopped) stepsText = "all " + steps.size() + " steps ok";
            else if (stopped) stepsText = "stopped" + (failed == null ? "" : " during step " + failed) + " (run the same command again to resume)";
            else stepsText = "failed in step " + failed;
            verifyText = "verification: " + num(verified) + " chunk" + (verified == 1 ? "" : "s") + " verified, " + num(mismatch) + " mismatched"
                    + (unverified > 0 ? ", " + num(unverified) + " not verified" : "")
                    + (run.cfg.verify ? "" : " (verification is off)")
                    + (run.failedChunks.isEmpty() ? "" : "; " + run.failedChunks.size() + " chunk(s) failed");
        }

        String status(Step s) {
            if (s.end > 0) return "ok";
            if (stopped) return "stopped";
            return s.name.equals(failedStep) ? "FAILED" : "did not finish";
        }

        long stepMs(Step s) {
            return (s.end > 0 ? s.end : endMs) - s.start;
        }
    }

    /** worker-2 before worker-10: names compared with their trailing numbers as numbers. */
    static int compareWorkers(String a, String b) {
        String pa = a.replaceAll("\\d+$", "");
        String pb = b.replaceAll("\\d+$", "");
        int c = pa.compareTo(pb);
        if (c != 0) return c;
        String na = a.substring(pa.length());
        String nb = b.substring(pb.length());
        if (!na.isEmpty() && !nb.isEmpty()) {
            c = Integer.compare(na.length(), nb.length());
            if (c != 0) return c;
        }
        return na.compareTo(nb);
    }

    private static boolean finished(long start, long end) {
        return start > 0 && end >= start;
    }

    // ------------------------------------------------------------------ formatting helpers

    static String num(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }

    static String rate(long rows, long bytes, long ms) {
        if (ms <= 0 || (rows == 0 && bytes == 0)) return "-";
        return String.format(Locale.ROOT, "%,.0f rows/s, %s/s", rows * 1000.0 / ms, Durations.bytes(Math.round(bytes * 1000.0 / ms)));
    }

    static String dur(long ms) {
        return ms <= 0 ? "-" : Durations.format(ms);
    }

    static String dateTime(long ms) {
        return DATE_TIME.format(Instant.ofEpochMilli(ms).atZone(ZoneId.systemDefault()));
    }

    static String clock(long ms) {
        return CLOCK.format(Instant.ofEpochMilli(ms).atZone(ZoneId.systemDefault()));
    }

    /** "12 verified, 1 mismatch" in a fixed order. */
    static String states(Tally t) {
        List<String> parts = new ArrayList<>();
        for (String s : STATES) if (t.state(s) > 0) parts.add(num(t.state(s)) + " " + s);
        for (Map.Entry<String, Integer> e : t.states.entrySet()) {
            if (!STATES.contains(e.getKey())) parts.add(num(e.getValue()) + " " + e.getKey());
        }
        return parts.isEmpty() ? "-" : String.join(", ", parts);
    }

    /** Text for HTML, in element content and in attribute values alike. */
    static String h(String s) {
        if (s == null) return "";
        StringBuilder sb = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> sb.append("&amp;");
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '"' -> sb.append("&quot;");
                case '\'' -> sb.append("&#39;");
                default -> {
                    if (c < 0x20 && c != '\n' && c != '\t') sb.append(' ');
                    else sb.append(c);
                }
            }
        }
        return sb.toString();
    }

    /** Text for Markdown (one line): the characters that would start markup or HTML are backslash-escaped. */
    static String md(String s) {
        if (s == null) return "";
        String one = s.replace("\r", "").replace('\n', ' ');
        StringBuilder sb = new StringBuilder(one.length() + 16);
        for (int i = 0; i < one.length(); i++) {
            char c = one.charAt(i);
            if ("\\`*_[]<>|&~".indexOf(c) >= 0 || (i == 0 && "#+-=!".indexOf(c) >= 0)) sb.append('\\');
            sb.append(c);
        }
        return sb.toString();
    }

    /** A Markdown code span that holds any text, backticks included. */
    static String mdCode(String s) {
        String one = s.replace('\n', ' ');
        int longest = 0;
        int run = 0;
        for (char c : one.toCharArray()) {
            run = c == '`' ? run + 1 : 0;
            longest = Math.max(longest, run);
        }
        String fence = "`".repeat(longest + 1);
        String pad = one.startsWith("`") || one.endsWith("`") ? " " : "";
        return fence + pad + one + pad + fence;
    }

    private static String f(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }

    // ------------------------------------------------------------------ Markdown

    static String markdown(Data d) {
        MigrationRun run = d.run;
        StringBuilder sb = new StringBuilder();
        sb.append("# tsmigrate report: ").append(md(run.cfg.name)).append("\n\n");
        sb.append("**Result: ").append(d.ok ? "OK" : "NOT OK").append("**: ").append(md(d.stepsText)).append("; ")
                .append(md(d.verifyText)).append("\n\n");
        sb.append("- Source: ").append(mdCode(run.cfg.source.masked())).append('\n');
        sb.append("- Target: ").append(mdCode(run.cfg.target.masked())).append('\n');
        sb.append("- Started: ").append(dateTime(d.startMs)).append('\n');
        sb.append("- Ended: ").append(dateTime(d.endMs)).append('\n');
        sb.append("- Wall time: ").append(Durations.format(d.totalMs)).append('\n');
        sb.append("- Workers: ").append(run.cfg.workers).append(run.resumed ? " (this run resumed an earlier one)" : "").append('\n');
        sb.append("- Work dir: ").append(mdCode(run.workDir.root().toString())).append('\n');
        sb.append("- Warnings: ").append(d.warnings.size()).append('\n');
        sb.append("\nThe timeline of the chunks, one lane per worker, is in report.html.\n");

        sb.append("\n## Steps\n\n");
        sb.append("| step | result | started | duration | rows | bytes | rate | warnings | counts |\n");
        sb.append("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |\n");
        for (Step s : d.steps) {
            boolean data = s.data.chunks > 0;
            sb.append("| ").append(md(s.name)).append(" | ").append(md(d.status(s))).append(" | ").append(clock(s.start))
                    .append(" | ").append(dur(d.stepMs(s))).append(" | ").append(data ? num(s.data.rows) : "")
                    .append(" | ").append(data ? Durations.bytes(s.data.bytes) : "").append(" | ")
                    .append(data ? rate(s.data.rows, s.data.bytes, d.stepMs(s)) : "").append(" | ")
                    .append(s.warnings == 0 ? "" : String.valueOf(s.warnings)).append(" | ").append(md(s.counts)).append(" |\n");
        }
        if (d.steps.isEmpty()) sb.append("| (none) | | | | | | | | |\n");

        sb.append("\n## Tables\n\n");
        sb.append("| table | chunks | rows | bytes | export | load | wall | rate | verification |\n");
        sb.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n");
        for (Tally t : d.tables) mdTally(sb, md(t.label), t);
        mdTally(sb, "**TOTAL**", d.total);
        sb.append("\nRows and bytes count the table's chunks copied so far, by this run or earlier ones. Export and load are the"
                + " time this run's workers spent on the table's chunks (added up over workers); wall runs from its first chunk's start"
                + " to its last chunk's end in this run; the rate is of the rows this run copied, over that wall time.\n");
        if (d.doneEarlier > 0) {
            sb.append("\n").append(d.doneEarlier).append(" chunk(s) had been copied by an earlier run or another instance.\n");
        }

        if (!d.workers.isEmpty()) {
            sb.append("\n## Workers\n\n| worker | chunks | rows | export | load | busy |\n| --- | ---: | ---: | ---: | ---: | ---: |\n");
            long span = d.total.wallMs();
            for (Tally w : d.workers) {
                sb.append("| ").append(md(w.label)).append(" | ").append(num(w.chunks)).append(" | ").append(num(w.rows)).append(" | ").append(dur(w.exportMs)).append(" | ")
                        .append(dur(w.loadMs)).append(" | ").append(span > 0 ? Math.round(100.0 * (w.exportMs + w.loadMs) / span) + " %" : "-")
                        .append(" |\n");
            }
        }

        sb.append("\n## Warnings\n\n");
        if (d.warnings.isEmpty()) sb.append("None.\n");
        for (String w : d.warnings) {
            List<String> lines = w.strip().lines().toList();
            sb.append("- ");
            for (int i = 0; i < lines.size(); i++) {
                if (i > 0) sb.append("\\\n  "); // hard line break inside the list item
                sb.append(md(lines.get(i)));
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    private static void mdTally(StringBuilder sb, String label, Tally t) {
        sb.append("| ").append(label).append(" | ").append(num(t.chunks)).append(" | ").append(num(t.rows)).append(" | ")
                .append(Durations.bytes(t.bytes)).append(" | ").append(dur(t.exportMs)).append(" | ").append(dur(t.loadMs))
                .append(" | ").append(dur(t.wallMs())).append(" | ").append(rate(t.runRows, t.runBytes, t.wallMs())).append(" | ")
                .append(md(states(t))).append(" |\n");
    }

    // ------------------------------------------------------------------ HTML

    private static final String CSS = """
            body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:24px auto;padding:0 20px;color:#222;max-width:1120px}
            h1{font-size:22px;margin:0 0 10px}
            h2{font-size:17px;margin:30px 0 10px;border-bottom:1px solid #ddd;padding-bottom:4px}
            table{border-collapse:collapse;font-size:13px;margin:4px 0}
            th,td{padding:3px 9px;border-bottom:1px solid #e6e6e6;text-align:left;vertical-align:top}
            th{background:#f4f5f7;font-weight:600}
            .n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
            tr.total td{font-weight:600;border-top:2px solid #bbb}
            table.kv th{background:none;font-weight:normal;color:#666;padding-left:0}
            .result{padding:9px 14px;border-radius:5px;font-weight:600;margin:8px 0 14px}
            .result.ok{background:#e6f4ea;color:#1b5e20}
            .result.bad{background:#fdecea;color:#a61b1b}
            .bad-text{color:#a61b1b;font-weight:600}
            code,pre{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12.5px}
            .note{color:#666;font-size:12.5px;margin:6px 0}
            .legend{font-size:12.5px;margin:4px 0 6px}
            .legend i{display:inline-block;width:12px;height:12px;vertical-align:-2px;margin:0 5px 0 14px;border-radius:2px}
            .legend i:first-child{margin-left:0}
            ul.warnings{padding-left:20px}
            ul.warnings li{margin:3px 0}
            ul.warnings pre{white-space:pre-wrap;word-break:break-word;margin:0}
            .step-tag{color:#666;font-size:12px}
            svg{display:block;max-width:100%;height:auto;margin:4px 0}
            svg text{font-size:11px;fill:#333;font-family:system-ui,"DejaVu Sans",sans-serif}
            svg .axis{font-size:10.5px;fill:#555}
            svg .mark{font-size:11px;fill:#444}
            rect.ex{fill:EXPORT}
            rect.ld{fill:LOAD}
            """.replace("EXPORT", EXPORT_COLOUR).replace("LOAD", LOAD_COLOUR);

    static String html(Data d) {
        MigrationRun run = d.run;
        StringBuilder sb = new StringBuilder(64 * 1024 + d.chunks.size() * 400);
        sb.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
                .append("<title>tsmigrate report: ").append(h(run.cfg.name)).append("</title>\n<style>\n").append(CSS).append("</style>\n</head>\n<body>\n");
        sb.append("<h1>tsmigrate report: ").append(h(run.cfg.name)).append("</h1>\n");
        sb.append("<div class=\"result ").append(d.ok ? "ok" : "bad").append("\">").append(d.ok ? "OK" : "NOT OK").append(": ")
                .append(h(d.stepsText)).append("; ").append(h(d.verifyText)).append("</div>\n");
        sb.append("<table class=\"kv\">\n");
        kv(sb, "source", "<code>" + h(run.cfg.source.masked()) + "</code>");
        kv(sb, "target", "<code>" + h(run.cfg.target.masked()) + "</code>");
        kv(sb, "started", h(dateTime(d.startMs)));
        kv(sb, "ended", h(dateTime(d.endMs)));
        kv(sb, "wall time", h(Durations.format(d.totalMs)));
        kv(sb, "workers", run.cfg.workers + (run.resumed ? " (this run resumed an earlier one)" : ""));
        kv(sb, "work dir", "<code>" + h(run.workDir.root().toString()) + "</code>");
        kv(sb, "copied", h(num(d.total.rows) + " rows, " + Durations.bytes(d.total.bytes) + " in " + num(d.total.chunks) + " chunks of "
                + d.tables.size() + " table" + (d.tables.size() == 1 ? "" : "s")));
        kv(sb, "warnings", d.warnings.isEmpty() ? "none" : "<a href=\"#warnings\">" + d.warnings.size() + "</a>");
        sb.append("</table>\n");

        sb.append("<h2>Steps</h2>\n");
        stepStrip(sb, d);
        sb.append("<table>\n<tr><th>step</th><th>result</th><th>started</th><th class=\"n\">duration</th><th class=\"n\">rows</th>"
                + "<th class=\"n\">bytes</th><th class=\"n\">rate</th><th class=\"n\">warnings</th><th>counts</th></tr>\n");
        for (Step s : d.steps) {
            boolean data = s.data.chunks > 0;
            String status = d.status(s);
            sb.append("<tr><td>").append(h(s.name)).append("</td><td").append(status.equals("ok") ? "" : " class=\"bad-text\"").append('>')
                    .append(h(status)).append("</td><td>").append(clock(s.start)).append("</td><td class=\"n\">").append(h(dur(d.stepMs(s))))
                    .append("</td><td class=\"n\">").append(data ? num(s.data.rows) : "").append("</td><td class=\"n\">")
                    .append(data ? h(Durations.bytes(s.data.bytes)) : "").append("</td><td class=\"n\">")
                    .append(data ? h(rate(s.data.rows, s.data.bytes, d.stepMs(s))) : "").append("</td><td class=\"n\">")
                    .append(s.warnings == 0 ? "" : "<a href=\"#warnings\">" + s.warnings + "</a>").append("</td><td>").append(h(s.counts))
                    .append("</td></tr>\n");
        }
        if (d.steps.isEmpty()) sb.append("<tr><td colspan=\"9\">no step ran</td></tr>\n");
        sb.append("</table>\n");

        sb.append("<h2>Timeline of the chunks</h2>\n");
        timeline(sb, d);

        sb.append("<h2>Tables</h2>\n<table>\n<tr><th>table</th><th class=\"n\">chunks</th><th class=\"n\">rows</th><th class=\"n\">bytes</th>"
                + "<th class=\"n\">export</th><th class=\"n\">load</th><th class=\"n\">wall</th><th class=\"n\">rate</th><th>verification</th></tr>\n");
        for (Tally t : d.tables) htmlTally(sb, "<td>" + h(t.label) + "</td>", t, "");
        htmlTally(sb, "<td>TOTAL</td>", d.total, " class=\"total\"");
        sb.append("</table>\n<p class=\"note\">Rows and bytes count the table's chunks copied so far, by this run or earlier ones."
                + " Export and load are the time this run's workers spent on the table's chunks, added up over workers; wall runs from"
                + " the table's first chunk start to its last chunk end in this run; the rate is of the rows this run copied, over that"
                + " wall time.</p>\n");

        sb.append("<h2 id=\"warnings\">Warnings (").append(d.warnings.size()).append(")</h2>\n");
        if (d.warnings.isEmpty()) {
            sb.append("<p>None.</p>\n");
        } else {
            sb.append("<ul class=\"warnings\">\n");
            for (String w : d.warnings) sb.append("<li><pre>").append(h(w.strip())).append("</pre></li>\n");
            sb.append("</ul>\n");
        }
        sb.append("<p class=\"note\">Written by tsmigrate at ").append(h(dateTime(d.endMs))).append(".</p>\n</body>\n</html>\n");
        return sb.toString();
    }

    private static void kv(StringBuilder sb, String key, String valueHtml) {
        sb.append("<tr><th>").append(h(key)).append("</th><td>").append(valueHtml).append("</td></tr>\n");
    }

    private static void htmlTally(StringBuilder sb, String labelCell, Tally t, String rowAttr) {
        String states = states(t);
        sb.append("<tr").append(rowAttr).append('>').append(labelCell).append("<td class=\"n\">").append(num(t.chunks))
                .append("</td><td class=\"n\">").append(num(t.rows)).append("</td><td class=\"n\">").append(h(Durations.bytes(t.bytes)))
                .append("</td><td class=\"n\">").append(h(dur(t.exportMs))).append("</td><td class=\"n\">").append(h(dur(t.loadMs)))
                .append("</td><td class=\"n\">").append(h(dur(t.wallMs()))).append("</td><td class=\"n\">")
                .append(h(rate(t.runRows, t.runBytes, t.wallMs()))).append("</td><td").append(t.state("mismatch") > 0 ? " class=\"bad-text\"" : "")
                .append('>').append(h(states)).append("</td></tr>\n");
    }

    // ------------------------------------------------------------------ SVG

    /** Tick spacing in seconds: about ten ticks over the span. */
    static double tickStep(double spanSec) {
        double[] nice = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600,
                7200, 10800, 21600, 43200, 86400};
        for (double n : nice) if (spanSec / n <= 10) return n;
        return 86400 * Math.ceil(spanSec / 86400 / 10);
    }

    static String tickLabel(double v, double step) {
        if (v == 0) return "0";
        if (step < 1) {
            int decimals = step < 0.01 ? 3 : step < 0.1 ? 2 : 1;
            return String.format(Locale.ROOT, "%." + decimals + "f s", v);
        }
        if (step < 60) return Math.round(v) + " s";
        long m = Math.round(v / 60);
        if (m < 60) return m + " min";
        return m / 60 + " h" + (m % 60 == 0 ? "" : " " + m % 60 + " min");
    }

    /** Rough width of SVG text at 11 px. */
    private static double textWidth(String s) {
        return s.length() * 6.4 + 2;
    }

    /** Ticks and grid lines for [0, spanMs] drawn between y0 and y1, labels under y1. */
    private static void axis(StringBuilder sb, long spanMs, double plotW, double y0, double y1) {
        double spanSec = spanMs / 1000.0;
        double step = tickStep(spanSec);
        sb.append("<g class=\"ticks\">\n");
        for (int i = 0; ; i++) {
            double v = i * step;
            if (v > spanSec * 1.0001) break;
            double x = LEFT + v / spanSec * plotW;
            sb.append("<line x1=\"").append(f(x)).append("\" y1=\"").append(f(y0)).append("\" x2=\"").append(f(x)).append("\" y2=\"")
                    .append(f(y1 + 4)).append("\" stroke=\"").append(i == 0 ? "#999" : "#dcdcdc").append("\" stroke-width=\"1\"/>\n");
            String label = tickLabel(v, step);
            String anchor = x + textWidth(label) / 2 > WIDTH - 2 ? "end" : "middle";
            sb.append("<text class=\"axis\" x=\"").append(f(x)).append("\" y=\"").append(f(y1 + 16)).append("\" text-anchor=\"")
                    .append(anchor).append("\">").append(h(label)).append("</text>\n");
        }
        sb.append("<line x1=\"").append(LEFT).append("\" y1=\"").append(f(y1)).append("\" x2=\"").append(f(LEFT + plotW))
                .append("\" y2=\"").append(f(y1)).append("\" stroke=\"#999\" stroke-width=\"1\"/>\n</g>\n");
    }

    /** The whole run as one bar, a segment per step, so a glance shows which steps took the time. */
    private static void stepStrip(StringBuilder sb, Data d) {
        if (d.steps.isEmpty()) return;
        long from = d.startMs;
        long to = d.endMs;
        for (Step s : d.steps) {
            from = Math.min(from, s.start);
            to = Math.max(to, s.end);
        }
        long span = Math.max(1, to - from);
        double plotW = WIDTH - LEFT - RIGHT;
        int top = 4;
        int h = 24;
        int height = top + h + 30;
        sb.append("<svg class=\"steps\" xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(WIDTH).append("\" height=\"").append(height)
                .append("\" viewBox=\"0 0 ").append(WIDTH).append(' ').append(height).append("\" role=\"img\" aria-label=\"steps over time\">\n");
        sb.append("<text x=\"").append(LEFT - 8).append("\" y=\"").append(top + 16).append("\" text-anchor=\"end\">whole run</text>\n");
        axis(sb, span, plotW, top, top + h);
        int i = 0;
        for (Step s : d.steps) {
            long end = s.end > 0 ? s.end : to;
            double x = LEFT + (s.start - from) * plotW / span;
            double w = Math.max(1, (end - s.start) * plotW / span);
            String status = d.status(s);
            String fill = status.equals("ok") ? STEP_COLOURS[i++ % STEP_COLOURS.length] : "#e57373";
            sb.append("<rect class=\"st\" x=\"").append(f(x)).append("\" y=\"").append(top).append("\" width=\"").append(f(w))
                    .append("\" height=\"").append(h).append("\" fill=\"").append(fill).append("\" stroke=\"#fff\" stroke-width=\"1\"><title>")
                    .append(h(s.name + ": " + status + ", " + dur(d.stepMs(s)) + " from " + clock(s.start) + (s.counts.isEmpty() ? "" : "\n" + s.counts)))
                    .append("</title></rect>\n");
            String label = s.name + " " + dur(d.stepMs(s));
            if (textWidth(label) + 8 > w) label = s.name;
            if (textWidth(label) + 8 <= w) {
                sb.append("<text x=\"").append(f(x + 4)).append("\" y=\"").append(top + 16).append("\" pointer-events=\"none\">")
                        .append(h(label)).append("</text>\n");
            }
        }
        sb.append("</svg>\n<p class=\"note\">Time since the run started; hover over a step for its duration and counts.</p>\n");
    }

    /** A step boundary inside the timeline: where it is, its label (may be empty) and its tooltip. */
    private static final class Mark {
        final double x;
        final List<String> starts = new ArrayList<>();
        final List<String> ends = new ArrayList<>();
        final List<String> tips = new ArrayList<>();
        int row = -1;
        double labelX;
        String anchor;

        Mark(double x) {
            this.x = x;
        }

        String label() {
            if (!starts.isEmpty()) return String.join(" · ", starts);
            return ends.isEmpty() ? "" : String.join(" · ", ends) + " done";
        }
    }

    private static void timeline(StringBuilder sb, Data d) {
        List<Chunk> drawn = new ArrayList<>();
        long t0 = Long.MAX_VALUE;
        long t1 = 0;
        for (Chunk ch : d.chunks) {
            if (ch.worker == null || (ch.exportStartMs <= 0 && ch.loadStartMs <= 0)) continue;
            drawn.add(ch);
            for (long s : new long[] {ch.exportStartMs, ch.loadStartMs}) if (s > 0) t0 = Math.min(t0, s);
            t1 = Math.max(t1, Math.max(Math.max(ch.exportStartMs, ch.exportEndMs), Math.max(ch.loadStartMs, ch.loadEndMs)));
        }
        String skipped = (d.doneEarlier > 0 ? d.doneEarlier + " chunk" + (d.doneEarlier == 1 ? " was" : "s were")
                + " copied by an earlier run (or another tsmigrate instance) and " + (d.doneEarlier == 1 ? "is" : "are") + " not drawn. " : "")
                + (d.notStarted > 0 ? d.notStarted + " chunk" + (d.notStarted == 1 ? " was" : "s were") + " not started. " : "");
        if (drawn.isEmpty()) {
            sb.append("<p>No chunk was copied by this run. ").append(h(skipped)).append("</p>\n");
            return;
        }
        long span = Math.max(1, t1 - t0);
        double plotW = WIDTH - LEFT - RIGHT;
        List<String> lanes = new ArrayList<>();
        for (Tally w : d.workers) lanes.add(w.label);

        // step boundaries: the steps that overlap the chunks' time, their starts and ends clamped into it (the data
        // step starts a moment before its first chunk and ends a moment after its last)
        List<Mark> marks = new ArrayList<>();
        for (Step s : d.steps) {
            long end = s.end > 0 ? s.end : Long.MAX_VALUE;
            if (s.start >= t1 || end <= t0) continue;
            addMark(marks, Math.max(s.start, t0), t0, span, plotW, s.name, true, "step " + s.name + " started at " + clock(s.start));
            if (s.end > 0) addMark(marks, Math.min(s.end, t1), t0, span, plotW, s.name, false, "step " + s.name + " ended at " + clock(s.end));
        }
        // labels in up to three rows above the lanes; a label that fits nowhere is left to the tooltip
        List<List<double[]>> rows = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        int rowsUsed = 0;
        for (Mark m : marks) {
            String label = m.label();
            if (label.isEmpty()) continue;
            double w = textWidth(label);
            boolean right = m.x + 4 + w <= WIDTH - 2;
            double a = right ? m.x + 4 : m.x - 4 - w;
            double b = a + w;
            for (int r = 0; r < rows.size(); r++) {
                boolean free = true;
                for (double[] iv : rows.get(r)) if (a < iv[1] + 6 && b > iv[0] - 6) free = false;
                if (free) {
                    rows.get(r).add(new double[] {a, b});
                    m.row = r;
                    m.labelX = right ? m.x + 4 : m.x - 4;
                    m.anchor = right ? "start" : "end";
                    rowsUsed = Math.max(rowsUsed, r + 1);
                    break;
                }
            }
        }
        int laneTop = 6 + rowsUsed * 15 + (rowsUsed > 0 ? 4 : 0);
        int laneBottom = laneTop + lanes.size() * LANE;
        int height = laneBottom + 40;

        sb.append("<p class=\"legend\"><i style=\"background:").append(EXPORT_COLOUR).append("\"></i>export (source to file)<i style=\"background:")
                .append(LOAD_COLOUR).append("\"></i>load (file to target)<i style=\"background:none;border-left:1px dashed #777;border-radius:0;width:1px\"></i>"
                        + "step boundary</p>\n");
        sb.append("<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(WIDTH).append("\" height=\"").append(height)
                .append("\" viewBox=\"0 0 ").append(WIDTH).append(' ').append(height).append("\" role=\"img\" aria-label=\"chunks over time, one lane per worker\">\n");
        // lanes: alternating backgrounds and worker names
        for (int i = 0; i < lanes.size(); i++) {
            int y = laneTop + i * LANE;
            Tally w = d.workers.get(i);
            sb.append("<rect class=\"bg\" x=\"").append(LEFT).append("\" y=\"").append(y).append("\" width=\"").append(f(plotW)).append("\" height=\"")
                    .append(LANE).append("\" fill=\"").append(i % 2 == 0 ? "#f7f7f7" : "#eeeeee").append("\"/>\n");
            String name = lanes.get(i);
            String shown = name.length() > 14 ? name.substring(0, 13) + "…" : name;
            sb.append("<text class=\"lane\" x=\"").append(LEFT - 8).append("\" y=\"").append(y + 15).append("\" text-anchor=\"end\">")
                    .append(h(shown)).append("<title>").append(h(name + ": " + w.chunks + " chunks, export " + dur(w.exportMs) + ", load "
                            + dur(w.loadMs) + ", busy " + Math.round(100.0 * (w.exportMs + w.loadMs) / span) + " % of the timeline"))
                    .append("</title></text>\n");
        }
        axis(sb, span, plotW, laneTop, laneBottom);
        // the bars
        Map<String, Integer> laneOf = new LinkedHashMap<>();
        for (int i = 0; i < lanes.size(); i++) laneOf.put(lanes.get(i), i);
        drawn.sort(Comparator.comparingLong(ch -> ch.exportStartMs > 0 ? ch.exportStartMs : ch.loadStartMs));
        int unfinished = 0;
        for (Chunk ch : drawn) {
            // A failed run's report is written while its other workers wind down: a chunk may have got its worker
            // after the lanes were counted. It is left out rather than failing the report.
            Integer lane = laneOf.get(ch.worker);
            if (lane == null) continue;
            int y = laneTop + lane * LANE + (LANE - BAR) / 2;
            String tip = chunkTip(ch);
            if (ch.exportStartMs > 0) {
                if (finished(ch.exportStartMs, ch.exportEndMs)) bar(sb, "ex", ch.exportStartMs, ch.exportEndMs, t0, span, plotW, y, "export: " + tip);
                else unfinished++;
            }
            if (ch.loadStartMs > 0) {
                if (finished(ch.loadStartMs, ch.loadEndMs)) bar(sb, "ld", ch.loadStartMs, ch.loadEndMs, t0, span, plotW, y, "load: " + tip);
                else unfinished++;
            }
        }
        // step boundaries over the lanes
        for (Mark m : marks) {
            double lineTop = m.row >= 0 ? 6 + m.row * 15 : laneTop;
            sb.append("<line class=\"mark\" x1=\"").append(f(m.x)).append("\" y1=\"").append(f(lineTop)).append("\" x2=\"").append(f(m.x))
                    .append("\" y2=\"").append(laneBottom).append("\" stroke=\"#555\" stroke-width=\"1\" stroke-dasharray=\"4 3\"><title>")
                    .append(h(String.join("\n", m.tips))).append("</title></line>\n");
            if (m.row >= 0) {
                sb.append("<text class=\"mark\" x=\"").append(f(m.labelX)).append("\" y=\"").append(6 + m.row * 15 + 11).append("\" text-anchor=\"")
                        .append(m.anchor).append("\">").append(h(m.label())).append("<title>").append(h(String.join("\n", m.tips)))
                        .append("</title></text>\n");
            }
        }
        sb.append("<text class=\"axis\" x=\"").append(WIDTH - RIGHT).append("\" y=\"").append(laneBottom + 34).append("\" text-anchor=\"end\">")
                .append(h("time since the first chunk started (" + clock(t0) + ")")).append("</text>\n");
        sb.append("</svg>\n");
        sb.append("<p class=\"note\">").append(num(drawn.size())).append(" chunk").append(drawn.size() == 1 ? "" : "s").append(" drawn over ")
                .append(h(Durations.format(span))).append(". Hover over a bar for its table, range, rows, bytes and durations. ")
                .append(h(skipped))
                .append(unfinished > 0 ? unfinished + " export or load attempt" + (unfinished == 1 ? "" : "s") + " that did not finish " + (unfinished == 1 ? "is" : "are") + " not drawn." : "")
                .append("</p>\n");

        sb.append("<table>\n<tr><th>worker</th><th class=\"n\">chunks</th><th class=\"n\">rows</th><th class=\"n\">export</th><th class=\"n\">load</th>"
                + "<th class=\"n\">busy</th></tr>\n");
        for (Tally w : d.workers) {
            sb.append("<tr><td>").append(h(w.label)).append("</td><td class=\"n\">").append(num(w.chunks)).append("</td><td class=\"n\">")
                    .append(num(w.rows)).append("</td><td class=\"n\">").append(h(dur(w.exportMs))).append("</td><td class=\"n\">")
                    .append(h(dur(w.loadMs))).append("</td><td class=\"n\">").append(Math.round(100.0 * (w.exportMs + w.loadMs) / span))
                    .append(" %</td></tr>\n");
        }
        sb.append("</table>\n<p class=\"note\">Busy: the share of the timeline the worker spent exporting or loading; the rest it waited "
                + "for a chunk or for the state store.</p>\n");
    }

    private static void addMark(List<Mark> marks, long t, long t0, long span, double plotW, String step, boolean start, String tip) {
        double x = LEFT + (t - t0) * plotW / span;
        Mark m = null;
        for (Mark o : marks) if (Math.abs(o.x - x) < 4) m = o;
        if (m == null) {
            m = new Mark(x);
            marks.add(m);
            marks.sort(Comparator.comparingDouble(o -> o.x));
        }
        (start ? m.starts : m.ends).add(step);
        m.tips.add(tip);
    }

    private static String chunkTip(Chunk ch) {
        long ex = finished(ch.exportStartMs, ch.exportEndMs) ? ch.exportEndMs - ch.exportStartMs : -1;
        long ld = finished(ch.loadStartMs, ch.loadEndMs) ? ch.loadEndMs - ch.loadStartMs : -1;
        long rows = ch.loadedRows >= 0 ? ch.loadedRows : ch.exportedRows;
        return ch.table.shown() + " #" + ch.number + "\n" + (ch.range == null ? "" : ch.range + "\n")
                + (rows >= 0 ? num(rows) + " rows, " : "") + (ch.bytes >= 0 ? Durations.bytes(ch.bytes) + ", " : "")
                + "export " + (ex >= 0 ? Durations.format(ex) : "-") + ", load " + (ld >= 0 ? Durations.format(ld) : "-") + "\n"
                + ch.worker + ", " + ch.state;
    }

    private static void bar(StringBuilder sb, String cls, long s, long e, long t0, long span, double plotW, int y, String tip) {
        double x = LEFT + (s - t0) * plotW / span;
        double w = Math.max(1, (e - s) * plotW / span);
        sb.append("<rect class=\"").append(cls).append("\" x=\"").append(String.format(Locale.ROOT, "%.2f", x)).append("\" y=\"").append(y)
                .append("\" width=\"").append(String.format(Locale.ROOT, "%.2f", w)).append("\" height=\"").append(BAR).append("\"><title>")
                .append(h(tip)).append("</title></rect>\n");
    }
}
