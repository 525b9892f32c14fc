package tsmigrate.sequences;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;

import tsmigrate.db.Pg;
import tsmigrate.run.MigrationRun;

/**
 * The sequences step: every sequence gets the source's last_value and is_called. pg_dump puts these in the
 * data section, which the procedure never restores, so without this step the target would reuse ids.
 */
public class SequenceSync {
    public void run(MigrationRun run) throws SQLException {
        int n = 0;
        try (Connection st = run.state.connect()) {
            run.state.stepRunning(st, "sequences");
        }
        try (Connection src = Pg.connect("source", run.cfg.source); Connection tgt = Pg.connect("target", run.cfg.target)) {
            List<String> seqs = Pg.userRelations(src, 'S');
            try (PreparedStatement set = tgt.prepareStatement("SELECT pg_catalog.setval(CAST(? AS regclass), ?, ?)")) {
                for (String seq : seqs) {
                    try (PreparedStatement q = src.prepareStatement("SELECT last_value, is_called FROM " + seq);
                         ResultSet rs = q.executeQuery()) {
                        rs.next();
                        set.setString(1, seq);
                        set.setLong(2, rs.getLong(1));
                        set.setBoolean(3, rs.getBoolean(2));
                        set.executeQuery().close();
                        n++;
                    }
                }
            }
        }
        run.counts("sequences", n + " sequence(s) set");
        try (Connection st = run.state.connect()) {
            run.state.stepDone(st, "sequences", n + " sequence(s) set");
        }
    }
}
