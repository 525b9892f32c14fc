package tsmigrate.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.lowlevel.Compose;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.exceptions.ReaderException;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;

import tsmigrate.run.UserError;

/**
 * Reads a job YAML file into a {@link JobConfig}. Unknown keys are refused by name, so a typo never
 * silently falls back to a default.
 */
public final class JobFile {
    static final Set<String> KEYS = Set.of("name", "source", "target", "workDir", "workers", "chunkInterval",
            "splitRows", "include", "exclude", "timeColumns", "pgDump", "pgRestore", "snapshot", "progressSeconds",
            "routesDir", "verify", "onChunkError", "retries", "retryDelayMs", "maxRetryDelayMs", "leaseSeconds",
            "steps", "hypertables", "compressLikeSource", "copyFormat", "compressFiles", "keepFiles", "stream",
            "maintenanceWorkMem");
    static final Set<String> CONN_KEYS = Set.of("uri", "password");

    private JobFile() {
    }

    public static void apply(Path file, JobConfig cfg) {
        apply(file, cfg, false);
    }

    /**
     * @param appConfig the file is config/application.yaml: the same keys as a job file (every job's defaults),
     *                  plus a serve: section for the serve verb
     */
    public static void apply(Path file, JobConfig cfg, boolean appConfig) {
        apply(file, cfg, appConfig, file.toAbsolutePath().getParent());
    }

    /**
     * @param base the folder that relative paths in the file (workDir, routesDir, password file:) are relative to:
     *             the file's own folder, except for a job serve has moved to .processing/ (then the inbox)
     */
    public static void apply(Path file, JobConfig cfg, boolean appConfig, Path base) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new UserError("Cannot read the job file " + file + ": " + e.getMessage(),
                    "Check the path and that the file is readable.");
        }
        Object doc;
        try {
            doc = new Load(LoadSettings.builder().setLabel(file.toString()).build()).loadFromString(text);
        } catch (YamlEngineException e) {
            throw notYaml("The job file " + file, text, e);
        }
        if (doc == null) return;
        if (!(doc instanceof Map<?, ?> map)) {
            throw new UserError("The job file " + file + " must be a YAML mapping (key: value lines).",
                    "See config/job.example.yaml.");
        }
        Set<String> unknown = new TreeSet<>();
        for (Object k : map.keySet()) {
            if (!KEYS.contains(String.valueOf(k)) && !(appConfig && "serve".equals(k))) unknown.add(String.valueOf(k));
        }
        if (!unknown.isEmpty()) {
            throw new UserError("The job file " + file + " has unknown keys: " + String.join(", ", unknown) + ".",
                    "Known keys: " + String.join(", ", new TreeSet<>(KEYS)) + ".");
        }
        if (map.containsKey("name")) cfg.name = str(map, "name");
        if (map.containsKey("source")) cfg.source = conn(base, "source", map.get("source"));
        if (map.containsKey("target")) cfg.target = conn(base, "target", map.get("target"));
        if (map.containsKey("workDir")) cfg.workDir = base.resolve(str(map, "workDir"));
        if (map.containsKey("workers")) cfg.workers = intValue(map, text, "workers");
        if (map.containsKey("chunkInterval")) {
            cfg.chunkInterval = str(map, "chunkInterval");
            cfg.chunkIntervalGiven = !appConfig;
        }
        if (map.containsKey("splitRows")) cfg.splitRows = longValue(map, text, "splitRows");
        if (map.containsKey("include")) cfg.include.addAll(list(map, "include"));
        if (map.containsKey("exclude")) cfg.exclude.addAll(list(map, "exclude"));
        if (map.containsKey("timeColumns")) {
            if (!(map.get("timeColumns") instanceof Map<?, ?> tc)) throw bad("timeColumns", "a mapping of schema.table: column");
            tc.forEach((k, v) -> cfg.timeColumns.put(String.valueOf(k), String.valueOf(v)));
        }
        if (map.containsKey("pgDump")) cfg.pgDump = str(map, "pgDump");
        if (map.containsKey("pgRestore")) cfg.pgRestore = str(map, "pgRestore");
        if (map.containsKey("snapshot")) {
            if (!(map.get("snapshot") instanceof Boolean b)) throw bad("snapshot", "true or false");
            cfg.snapshot = b;
        }
        if (map.containsKey("progressSeconds")) cfg.progressSeconds = intValue(map, text, "progressSeconds");
        if (map.containsKey("keepFiles")) {
            if (!(map.get("keepFiles") instanceof Boolean b)) throw bad("keepFiles", "true or false");
            cfg.keepFiles = b;
        }
        if (map.containsKey("verify")) {
            if (!(map.get("verify") instanceof Boolean b)) throw bad("verify", "true or false");
            cfg.verify = b;
        }
        if (map.containsKey("onChunkError")) cfg.continueOnChunkError = onChunkError(str(map, "onChunkError"));
        if (map.containsKey("retries")) cfg.retries = intValue(map, text, "retries");
        if (map.containsKey("retryDelayMs")) cfg.retryDelayMs = longValue(map, text, "retryDelayMs");
        if (map.containsKey("maxRetryDelayMs")) cfg.maxRetryDelayMs = longValue(map, text, "maxRetryDelayMs");
        if (map.containsKey("leaseSeconds")) cfg.leaseSeconds = intValue(map, text, "leaseSeconds");
        if (map.containsKey("steps")) {
            cfg.steps.clear();
            for (String st : list(map, "steps")) cfg.steps.add(step(st));
        }
        if (map.containsKey("compressLikeSource")) {
            if (!(map.get("compressLikeSource") instanceof Boolean b)) throw bad("compressLikeSource", "true or false");
            cfg.compressLikeSource = b;
        }
        if (map.containsKey("hypertables")) {
            if (!(map.get("hypertables") instanceof Map<?, ?> hts)) throw bad("hypertables", "a mapping of schema.table: {timeColumn, chunkInterval}");
            for (Map.Entry<?, ?> e : hts.entrySet()) {
                if (!(e.getValue() instanceof Map<?, ?> spec) || !(spec.get("timeColumn") instanceof String col)) {
                    throw bad("hypertables." + e.getKey(), "a mapping with timeColumn (and optionally chunkInterval)");
                }
                Set<String> extra = new TreeSet<>();
                for (Object k : spec.keySet()) if (!Set.of("timeColumn", "chunkInterval").contains(String.valueOf(k))) extra.add(String.valueOf(k));
                if (!extra.isEmpty()) {
                    throw new UserError("The job file's hypertables." + e.getKey() + " has unknown keys: " + String.join(", ", extra) + ".",
                            "Known keys there: timeColumn, chunkInterval.");
                }
                cfg.hypertables.put(String.valueOf(e.getKey()), new JobConfig.HypertableSpec(col,
                        spec.get("chunkInterval") == null ? null : String.valueOf(spec.get("chunkInterval"))));
            }
        }
        if (map.containsKey("maintenanceWorkMem")) cfg.maintenanceWorkMem = str(map, "maintenanceWorkMem");
        if (map.containsKey("copyFormat")) cfg.copyFormat = str(map, "copyFormat");
        if (map.containsKey("compressFiles")) cfg.compressFiles = str(map, "compressFiles");
        if (map.containsKey("stream")) {
            if (!(map.get("stream") instanceof Boolean b)) throw bad("stream", "true or false");
            cfg.stream = b;
        }
        if (map.containsKey("routesDir")) cfg.routesDir = base.resolve(str(map, "routesDir"));
    }

    /** A step name from the fixed list, or a user error naming the list. */
    public static String step(String name) {
        if (!JobConfig.ALL_STEPS.contains(name)) {
            throw new UserError("Unknown step '" + name + "'.", "Steps are: " + String.join(", ", JobConfig.ALL_STEPS) + ".");
        }
        return name;
    }

    /** stop or continue: what a chunk that failed after its retries does to the migration. */
    public static boolean onChunkError(String v) {
        return switch (v) {
            case "stop" -> false;
            case "continue" -> true;
            default -> throw new UserError("onChunkError must be 'stop' or 'continue', not '" + v + "'.",
                    "stop ends the migration at the first failed chunk; continue records it and goes on.");
        };
    }

    /** source/target: either a URI string, or {uri: ..., password: ...} where password may be ${env:NAME} or file:PATH. */
    private static ConnInfo conn(Path base, String key, Object v) {
        if (v instanceof String s) return resolvePassword(key, ConnInfo.parse(key, s));
        if (v instanceof Map<?, ?> m) {
            Set<String> unknown = new TreeSet<>();
            for (Object k : m.keySet()) if (!CONN_KEYS.contains(String.valueOf(k))) unknown.add(String.valueOf(k));
            if (!unknown.isEmpty()) {
                throw new UserError("The job file's '" + key + "' has unknown keys: " + String.join(", ", unknown) + ".",
                        "Known keys under " + key + ": uri, password.");
            }
            ConnInfo ci = ConnInfo.parse(key, m.get("uri") == null ? null : String.valueOf(m.get("uri")));
            if (m.get("password") != null) ci = ci.withPassword(secret(base, key, String.valueOf(m.get("password"))));
            return resolvePassword(key, ci);
        }
        throw bad(key, "a postgresql:// URI, or a mapping with uri and password");
    }

    private static ConnInfo resolvePassword(String key, ConnInfo ci) {
        if (ci.hasPassword() && ci.password().startsWith("${env:")) return ci.withPassword(secret(null, key, ci.password()));
        return ci;
    }

    /** Reads ${env:NAME} or file:PATH, so the job file itself need not hold the secret. */
    static String secret(Path base, String key, String ref) {
        if (ref.startsWith("${env:") && ref.endsWith("}")) {
            String name = ref.substring(6, ref.length() - 1);
            String v = System.getenv(name);
            if (v == null) {
                throw new UserError("The " + key + " password refers to the environment variable " + name + ", which is not set.",
                        "Export " + name + " before running tsmigrate.");
            }
            return v;
        }
        if (ref.startsWith("file:")) {
            Path p = Path.of(ref.substring(5));
            if (base != null && !p.isAbsolute()) p = base.resolve(p);
            try {
                return Files.readString(p).strip();
            } catch (IOException e) {
                throw new UserError("Cannot read the " + key + " password file " + p + ".", "Check the path and its permissions.");
            }
        }
        return ref;
    }

    /** The serve: section of an application.yaml (inbox, concurrentJobs, port), as given; empty when absent. */
    public static Map<String, Object> serveSettings(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new UserError("Cannot read " + file + ": " + e.getMessage(), "Check the file (application.yaml).");
        }
        try {
            Object doc = new Load(LoadSettings.builder().setLabel(file.toString()).build()).loadFromString(text);
            if (doc instanceof Map<?, ?> m && m.get("serve") instanceof Map<?, ?> s) {
                Map<String, Object> out = new java.util.LinkedHashMap<>();
                for (Map.Entry<?, ?> e : s.entrySet()) {
                    String k = String.valueOf(e.getKey());
                    if (!Set.of("inbox", "concurrentJobs", "port", "host").contains(k)) {
                        throw new UserError(file + ": serve has an unknown key " + k + ".", "Known keys under serve: inbox, concurrentJobs, port, host.");
                    }
                    out.put(k, "inbox".equals(k) || "host".equals(k) ? e.getValue() : Integer.valueOf(intValue(s, text, "serve", k)));
                }
                return out;
            }
            return Map.of();
        } catch (YamlEngineException e) {
            throw notYaml(String.valueOf(file), text, e);
        }
    }

    /**
     * A YAML error in words: where (line, column) and what is wrong, never the file's text. SnakeYAML's own message
     * quotes the line around the error, and some of its problems quote a piece of it (an escape, an alias, a tag):
     * a password may be there.
     */
    static UserError notYaml(String what, String text, YamlEngineException e) {
        String where = "";
        String problem = "it cannot be read";
        if (e instanceof MarkedYamlEngineException m) {
            Mark mark = m.getProblemMark().or(m::getContextMark).orElse(null);
            if (mark != null) where = " at line " + (mark.getLine() + 1) + ", column " + (mark.getColumn() + 1);
            problem = withoutQuotes(m.getProblem());
            String context = m.getContext();
            if (context != null && context.matches("while (scanning|parsing|constructing) [a-zA-Z -]+")) {
                Mark start = m.getContextMark().orElse(null);
                problem += " (" + context + (start == null ? "" : " that starts at line " + (start.getLine() + 1) + ", column " + (start.getColumn() + 1)) + ")";
            }
        } else if (e instanceof ReaderException r) {
            int line = 1;
            int column = 1;
            for (int i = 0; i < r.getPosition() && i < text.length(); i++) {
                if (text.charAt(i) == '\n') {
                    line++;
                    column = 1;
                } else {
                    column++;
                }
            }
            where = " at line " + line + ", column " + column;
            problem = "it holds a control character, which YAML does not allow";
        }
        return new UserError(what + " is not valid YAML" + where + ": " + problem + ".",
                "Fix the YAML there (its text is not shown: it may hold a password). Quote a value that holds ': ' or ' #' or starts"
                        + " with a special character, or write the password apart (source: {uri: ..., password: file:PATH}).");
    }

    /** SnakeYAML problems that end in a piece of the file, and what to say instead. */
    private static final Map<String, String> QUOTING_PROBLEMS = Map.of(
            "found undefined alias", "found an undefined alias (a value that starts with *)",
            "could not determine a constructor for the tag", "found an unknown tag (a value that starts with !)",
            "found unknown escape character", "found an unknown escape sequence (a \\ in double quotes)",
            "found character", "found a character that cannot start a value");
    /** How SnakeYAML names a YAML token in a problem: '<block end>', <stream end>, ','. */
    private static final String TOKEN = "'<[a-zA-Z ]+>'|<[a-zA-Z ]+>|'[^\\w\\s'\"]'";

    /**
     * SnakeYAML's problem without the pieces of the file it may quote: kept whole when it names at most YAML tokens,
     * else cut at what it found.
     */
    private static String withoutQuotes(String problem) {
        if (problem == null) return "it cannot be read";
        String p = problem.strip();
        for (Map.Entry<String, String> q : QUOTING_PROBLEMS.entrySet()) {
            if (p.startsWith(q.getKey())) return q.getValue();
        }
        if (p.startsWith("found duplicate key ")) {
            String key = p.substring("found duplicate key ".length());
            return KEYS.contains(key) || CONN_KEYS.contains(key) ? p : "found a duplicate key";
        }
        if (p.replaceAll(TOKEN, "").matches("[a-zA-Z ,]+")) return p;
        int but = p.indexOf(", but found");
        if (but > 0 && p.substring(0, but).replaceAll(TOKEN, "").matches("[a-zA-Z0-9 ,-]+")) return p.substring(0, but) + ", but found something else";
        return "it cannot be read";
    }

    private static String str(Map<?, ?> map, String key) {
        Object v = map.get(key);
        if (v == null) throw bad(key, "a value");
        return String.valueOf(v);
    }

    private static int intValue(Map<?, ?> map, String text, String... path) {
        return (int) whole(map, text, Integer.MIN_VALUE, Integer.MAX_VALUE, path);
    }

    private static long longValue(Map<?, ?> map, String text, String... path) {
        return whole(map, text, Long.MIN_VALUE, Long.MAX_VALUE, path);
    }

    /**
     * The whole number at path (a key of map, then keys below it), from min to max. Anything else is refused, quoted
     * as the file writes it: a float is not cut to a whole number, nor a number too big for an int wrapped around
     * (99999999999 became 1215752191), as a cast would.
     */
    private static long whole(Map<?, ?> map, String text, long min, long max, String... path) {
        Object v = map.get(path[path.length - 1]);
        if ((v instanceof Integer || v instanceof Long) && ((Number) v).longValue() >= min && ((Number) v).longValue() <= max) {
            return ((Number) v).longValue();
        }
        throw new UserError("The job file's '" + String.join(".", path) + "' must be a whole number from " + min + " to " + max
                + ", not '" + writtenAs(text, path).orElse(String.valueOf(v)) + "'.", "See config/job.example.yaml.");
    }

    /** The text of the scalar at path as the file writes it (1e3, not 1000.0), read again only for a message. */
    private static java.util.Optional<String> writtenAs(String text, String... path) {
        try {
            Node node = new Compose(LoadSettings.builder().build()).composeString(text).orElse(null);
            for (String key : path) {
                if (!(node instanceof MappingNode m)) return java.util.Optional.empty();
                node = m.getValue().stream()
                        .filter(t -> t.getKeyNode() instanceof ScalarNode k && k.getValue().equals(key))
                        .map(NodeTuple::getValueNode).findFirst().orElse(null);
            }
            return node instanceof ScalarNode sc ? java.util.Optional.of(sc.getValue()) : java.util.Optional.empty();
        } catch (YamlEngineException e) {
            return java.util.Optional.empty();
        }
    }

    private static List<String> list(Map<?, ?> map, String key) {
        Object v = map.get(key);
        if (v instanceof String s) return List.of(s);
        if (v instanceof List<?> l) return l.stream().map(String::valueOf).toList();
        throw bad(key, "a list of patterns");
    }

    private static UserError bad(String key, String expected) {
        return new UserError("The job file's '" + key + "' must be " + expected + ".", "See config/job.example.yaml.");
    }
}
