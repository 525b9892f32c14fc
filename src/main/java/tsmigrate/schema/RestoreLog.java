package tsmigrate.schema;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Reads pg_restore's stderr. Errors the procedure documents as harmless become warnings; any other error
 * fails the step with pg_restore's own words.
 */
public final class RestoreLog {
    /** Harmless in every section (procedure: "Migrate schema pre-data", Troubleshooting). */
    static final List<Pattern> HARMLESS = List.of(
            // TimescaleDB (or another extension) is pre-installed on the target and owned by someone else.
            Pattern.compile("must be owner of extension \\S+"),
            // Continuous aggregates are recreated later from their definitions.
            Pattern.compile("relation \"_timescaledb_internal\\._materialized_hypertable_\\d+\" does not exist"),
            Pattern.compile("no privileges were granted for"));
    /** Harmless after the data load (procedure: "Migrate schema post-data", Troubleshooting). */
    static final List<Pattern> HARMLESS_POST_DATA = List.of(
            Pattern.compile("ERROR:\\s+relation \"[^\"]*\" already exists"),
            // A redo's --clean: a partition's key is its partitioned parent's, dropped (and made again) with the parent's.
            Pattern.compile("ERROR:\\s+cannot drop inherited constraint \"[^\"]*\" of relation \"[^\"]*\""),
            Pattern.compile("trigger \"ts_insert_blocker\" for relation \"[^\"]*\" already exists"));

    public final List<String> warnings = new ArrayList<>();
    public final List<String> errors = new ArrayList<>();

    public static RestoreLog parse(String stderr, boolean postData) {
        RestoreLog log = new RestoreLog();
        List<String> entries = new ArrayList<>();
        StringBuilder cur = null;
        for (String line : stderr.split("\\R")) {
            if (line.startsWith("pg_restore: ")) {
                if (cur != null) entries.add(cur.toString());
                cur = new StringBuilder(line);
            } else if (cur != null && !line.isBlank()) {
                cur.append('\n').append(line); // continuation, e.g. "Command was: ..."
            }
        }
        if (cur != null) entries.add(cur.toString());
        for (String e : entries) {
            String head = e.substring("pg_restore: ".length());
            if (head.startsWith("error: ")) {
                if (harmless(e, postData)) log.warnings.add(e);
                else log.errors.add(e);
            } else if (head.startsWith("WARNING: ") || head.startsWith("warning: ")) {
                if (!head.startsWith("warning: errors ignored on restore")) log.warnings.add(e);
            }
            // "from TOC entry", "while PROCESSING TOC", "creating ..." (with -v) are context, not outcomes.
        }
        return log;
    }

    private static boolean harmless(String entry, boolean postData) {
        String first = entry.lines().findFirst().orElse("");
        for (Pattern p : HARMLESS) if (p.matcher(first).find()) return true;
        if (postData) for (Pattern p : HARMLESS_POST_DATA) if (p.matcher(first).find()) return true;
        return false;
    }
}
