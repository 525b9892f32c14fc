package tsmigrate.plan;

import java.util.regex.Pattern;

import tsmigrate.run.UserError;

/**
 * An --include/--exclude pattern: {@code schema.table}, each part a glob with * and ?; a part may be
 * double-quoted to hold dots or to be taken literally. Without a dot it names a table in any schema.
 */
public final class TablePattern {
    private final String text;
    private final Pattern schema;
    private final Pattern table;

    private TablePattern(String text, Pattern schema, Pattern table) {
        this.text = text;
        this.schema = schema;
        this.table = table;
    }

    public static TablePattern parse(String text) {
        String[] parts = split(text);
        if (parts.length == 1) return new TablePattern(text, Pattern.compile(".*", Pattern.DOTALL), glob(parts[0]));
        return new TablePattern(text, glob(parts[0]), glob(parts[1]));
    }

    private static String[] split(String text) {
        StringBuilder cur = new StringBuilder();
        String first = null;
        boolean quoted = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '"') {
                if (quoted && i + 1 < text.length() && text.charAt(i + 1) == '"') {
                    cur.append("\\\"");
                    i++;
                } else {
                    quoted = !quoted;
                }
            } else if (c == '.' && !quoted) {
                if (first != null) throw bad(text);
                first = cur.toString();
                cur.setLength(0);
            } else if (quoted && (c == '*' || c == '?' || c == '\\')) {
                cur.append('\\').append(c); // literal inside quotes
            } else {
                cur.append(c);
            }
        }
        if (quoted || text.isBlank()) throw bad(text);
        return first == null ? new String[] {cur.toString()} : new String[] {first, cur.toString()};
    }

    private static Pattern glob(String g) {
        StringBuilder re = new StringBuilder();
        for (int i = 0; i < g.length(); i++) {
            char c = g.charAt(i);
            if (c == '\\' && i + 1 < g.length()) re.append(Pattern.quote(String.valueOf(g.charAt(++i))));
            else if (c == '*') re.append(".*");
            else if (c == '?') re.append('.');
            else re.append(Pattern.quote(String.valueOf(c)));
        }
        return Pattern.compile(re.toString(), Pattern.DOTALL);
    }

    private static UserError bad(String text) {
        return new UserError("The table pattern '" + text + "' cannot be read.",
                "Write schema.table with * and ? as wildcards, e.g. public.* or \"Sales Ops\".\"Orders Log\".");
    }

    public boolean matches(String schemaName, String tableName) {
        return schema.matcher(schemaName).matches() && table.matcher(tableName).matches();
    }

    @Override
    public String toString() {
        return text;
    }
}
