package tsmigrate.verify;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import tsmigrate.db.Pg;

/**
 * Compares a table on both sides inside the databases: row count plus an order-independent hash,
 * the sum over rows of a 64-bit hash of the row as text. No row leaves the server.
 */
public final class TableCheck {
    private TableCheck() {
    }

    public record Result(String table, String source, String target) {
        public boolean ok() {
            return source.equals(target);
        }

        public long rows(boolean onSource) {
            String s = onSource ? source : target;
            return Long.parseLong(s.substring(0, s.indexOf('/')));
        }
    }

    /** count/hash1/hash2 of the table's own rows (ONLY: inheritance children are checked as tables of their own). */
    public static String fingerprint(Connection c, String qualifiedTable) throws SQLException {
        return Pg.queryString(c, "SELECT count(*)::text || '/' || coalesce(sum(pg_catalog.hashtextextended(ROW(tsmigrate_row.*)::text, 0)), 0)::text"
                + " FROM ONLY " + qualifiedTable + " AS tsmigrate_row");
    }

    public static List<Result> compare(Connection source, Connection target, List<String> qualifiedTables) throws SQLException {
        List<Result> out = new ArrayList<>();
        for (String t : qualifiedTables) out.add(new Result(t, fingerprint(source, t), fingerprint(target, t)));
        return out;
    }
}
