package tsmigrate.copy;

import java.io.IOException;
import java.sql.SQLException;
import java.util.Set;

import tsmigrate.db.Pg;

/** Which failures are worth retrying: lost connections and servers restarting, not bad data or bad SQL. */
public final class Faults {
    /** Connection exceptions (08), server shutting down or starting (57P0x), too many connections, snapshot gone. */
    private static final Set<String> TRANSIENT_STATES = Set.of("57P01", "57P02", "57P03", "53300", "40001", "40P01");

    private Faults() {
    }

    public static boolean isTransient(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            // A connection that cannot be opened: preflight connected to both servers before any step asks here, so
            // it is most likely a server restarting. Judged by its SQLSTATE: 08001 refused and 57P03 starting up are
            // retried, a wrong password (28P01) is not.
            if (t instanceof Pg.CannotConnect) continue;
            if (t instanceof tsmigrate.run.UserError) return false;
            if (t instanceof SQLException s) {
                String state = s.getSQLState();
                if (state != null && (state.startsWith("08") || TRANSIENT_STATES.contains(state))) return true;
            }
            if (t instanceof java.net.SocketException || t instanceof java.io.EOFException
                    || t instanceof java.net.SocketTimeoutException) {
                return true;
            }
            if (t instanceof IOException && String.valueOf(t.getMessage()).contains("No space left")) return false;
        }
        return false;
    }

    public static String firstLine(Throwable e) {
        String m = String.valueOf(e.getMessage());
        int nl = m.indexOf('\n');
        return tsmigrate.plan.TableInfo.printable(nl < 0 ? m : m.substring(0, nl));
    }
}
