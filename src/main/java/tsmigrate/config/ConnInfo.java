package tsmigrate.config;

import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import tsmigrate.run.UserError;

/**
 * A connection as libpq writes it: {@code postgresql://user:pass@host:port/db?sslmode=...}.
 * The password is kept apart so that nothing that prints a ConnInfo can print it.
 */
public final class ConnInfo {
    private static final Pattern URI = Pattern.compile(
            "^(postgres(?:ql)?)://(?:([^@/?#]*)@)?([^/?#]*)(?:/([^?#]*))?(?:\\?([^#]*))?$");

    private final String user;
    private final String password;
    private final String host;
    private final int port;
    private final String database;
    /** Query parameters other than user/password, in their given order (sslmode, application_name, ...). */
    private final Map<String, String> params;

    /** What to do about a password that breaks the URI. */
    private static String encodeHint(String what) {
        return "Percent-encode these characters in the user name and password: @ as %40, # as %23, / as %2F, ? as %3F, % as %25;"
                + " or give the password apart in the job file: " + what + ": {uri: postgresql://user@host/db, password: file:PATH}"
                + " (or password: ${env:NAME}).";
    }
    /** The start of a string that may be a URI and cannot be user info: a scheme, even a mistyped one, and a user name. */
    private static final Pattern SCHEME_AND_USER = Pattern.compile("^\\s*(?:[A-Za-z][A-Za-z0-9+.-]*:?/+)?(?:[^:/@]*:)?");

    private ConnInfo(String user, String password, String host, int port, String database, Map<String, String> params) {
        this.user = user;
        this.password = password;
        this.host = host;
        this.port = port;
        this.database = database;
        this.params = params;
    }

    public static ConnInfo parse(String what, String uri) {
        if (uri == null || uri.isBlank()) {
            throw new UserError("No " + what + " connection given.",
                    "Pass --" + what + " postgresql://user:password@host:5432/dbname (or set '" + what + "' in the job file).");
        }
        Matcher m = URI.matcher(uri.trim());
        if (!m.matches()) {
            // With the scheme right, only a '#' stops the pattern: in a URI it starts a fragment.
            boolean scheme = uri.trim().matches("(?s)postgres(ql)?://.*");
            throw new UserError("The " + what + " connection '" + maskLoosely(uri) + "' is not a PostgreSQL URI: "
                    + (scheme ? "it holds a '#', which ends a URI (a '#' in a password must be written %23)."
                            : "it does not start with postgresql:// (or postgres://)."),
                    "Write it as libpq does: postgresql://user:password@host:5432/dbname?sslmode=require" + (scheme ? ". " + encodeHint(what) : ""));
        }
        String user = null;
        String password = null;
        if (m.group(2) != null) {
            String userInfo = m.group(2);
            int colon = userInfo.indexOf(':');
            user = decode(what, colon < 0 ? userInfo : userInfo.substring(0, colon));
            if (colon >= 0) password = decode(what, userInfo.substring(colon + 1));
        }
        String hostPort = m.group(3);
        if (hostPort.contains("@") || (m.group(4) != null && m.group(4).contains("@")) || (m.group(5) != null && m.group(5).contains("@"))) {
            // An '@' after the first one means the password held an unencoded '@', '/' or '?': never echo any of it.
            throw new UserError("The " + what + " connection cannot be read (and is not shown): its user name or password seems to hold"
                    + " an unencoded '@', '/' or '?'.", encodeHint(what));
        }
        if (hostPort.contains(",")) {
            throw new UserError("The " + what + " connection names several hosts; tsmigrate needs exactly one.",
                    "Give the URI of the primary you want to read from or write to.");
        }
        String host = hostPort;
        int port = 5432;
        int colon = hostPort.lastIndexOf(':');
        if (colon >= 0 && !hostPort.endsWith("]")) {
            host = hostPort.substring(0, colon);
            port = port(what, hostPort.substring(colon + 1));
        }
        host = decode(what, host);
        if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
        if (host.isEmpty()) host = "localhost";
        String database = m.group(4) == null || m.group(4).isEmpty() ? null : decode(what, m.group(4));
        Map<String, String> params = new LinkedHashMap<>();
        if (m.group(5) != null && !m.group(5).isEmpty()) {
            for (String kv : m.group(5).split("&")) {
                if (kv.isEmpty()) continue;
                int eq = kv.indexOf('=');
                String k = decode(what, eq < 0 ? kv : kv.substring(0, eq));
                String v = eq < 0 ? "" : decode(what, kv.substring(eq + 1));
                switch (k) {
                    case "user" -> user = v;
                    case "password" -> password = v;
                    case "dbname" -> database = v;
                    case "host" -> host = v;
                    case "port" -> port = port(what, v);
                    default -> params.put(k, v);
                }
            }
        }
        if (user == null || user.isEmpty()) user = System.getProperty("user.name");
        if (database == null) database = user;
        return new ConnInfo(user, password, host, port, database, params);
    }

    /**
     * The port's text is not echoed: when a password holds an unencoded '/', the text before it lands here,
     * and the error message must not print it.
     */
    private static int port(String what, String p) {
        try {
            int port = Integer.parseInt(p);
            if (port >= 1 && port <= 65535) return port;
        } catch (NumberFormatException e) {
            // fall through to the user error
        }
        throw new UserError("The " + what + " connection has an invalid port.",
                "Use a number from 1 to 65535 (host:5432). " + encodeHint(what));
    }

    private static String decode(String what, String s) {
        try {
            return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new UserError("The " + what + " connection has a bad %-escape.", encodeHint(what));
        }
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    /** A copy with the password replaced, e.g. one resolved from ${env:NAME} or a file. */
    public ConnInfo withPassword(String newPassword) {
        return new ConnInfo(user, newPassword, host, port, database, params);
    }

    public String user() { return user; }
    public String password() { return password; }
    public boolean hasPassword() { return password != null; }
    public String host() { return host; }
    public int port() { return port; }
    public String database() { return database; }
    public Map<String, String> params() { return params; }

    public String jdbcUrl() {
        String h = host.contains(":") ? "[" + host + "]" : host;
        return "jdbc:postgresql://" + h + ":" + port + "/" + enc(database);
    }

    /** Driver properties; libpq parameters PgJDBC understands under the same name are passed through. */
    public Properties jdbcProperties(String applicationName) {
        Properties p = new Properties();
        p.setProperty("user", user);
        if (password != null) p.setProperty("password", password);
        p.setProperty("ApplicationName", applicationName);
        for (Map.Entry<String, String> e : params.entrySet()) {
            switch (e.getKey()) {
                case "sslmode", "sslcert", "sslkey", "sslrootcert", "sslpassword", "options" -> p.setProperty(e.getKey(), e.getValue());
                case "connect_timeout" -> p.setProperty("connectTimeout", e.getValue());
                case "application_name" -> p.setProperty("ApplicationName", e.getValue());
                default -> { /* libpq-only parameters (e.g. gssencmode) have no PgJDBC twin */ }
            }
        }
        return p;
    }

    /** The URI for child processes (pg_dump, pg_restore): everything but the secrets (password, sslpassword). */
    public String uriWithoutPassword() {
        StringBuilder sb = new StringBuilder("postgresql://").append(enc(user)).append('@');
        sb.append(host.contains(":") ? "[" + host + "]" : enc(host)).append(':').append(port).append('/').append(enc(database));
        String sep = "?";
        for (Map.Entry<String, String> e : params.entrySet()) {
            if (e.getKey().equals("sslpassword")) continue;
            sb.append(sep).append(enc(e.getKey())).append('=').append(enc(e.getValue()));
            sep = "&";
        }
        return sb.toString();
    }

    /** The passphrase of the client key (sslpassword), or null: a secret like the password. */
    public String sslPassword() {
        return params.get("sslpassword");
    }

    /** What is shown to people: the password, if any, as ****, and so the client key's sslpassword. */
    public String masked() {
        String u = uriWithoutPassword();
        if (sslPassword() != null) u += (u.contains("?") ? "&" : "?") + "sslpassword=****";
        return password == null ? u : u.replaceFirst("@", ":****@");
    }

    @Override
    public String toString() {
        return masked();
    }

    /**
     * Masks a string that failed to parse, in case it still carries a password: password=... parameters, and
     * everything before the last '@' (the password may hold an '@' of its own) bar the scheme and user name.
     */
    public static String maskLoosely(String s) {
        String out = s.replaceAll("(?i)(password\\s*=\\s*)('(?:[^'\\\\]|\\\\.)*'?|[^&\\s]*)", "$1****");
        int at = out.lastIndexOf('@');
        if (at < 0) return out;
        Matcher m = SCHEME_AND_USER.matcher(out);
        int keep = m.lookingAt() ? Math.min(m.end(), at) : 0;
        return out.substring(0, keep) + "****" + out.substring(at);
    }
}
