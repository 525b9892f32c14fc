package tsmigrate.analyze;

import java.sql.Connection;
import java.sql.SQLException;

import tsmigrate.db.Pg;
import tsmigrate.run.MigrationRun;

/** The analyze step: fresh planner statistics on the target, as the procedure's last step asks. */
public class Analyze {
    public void run(MigrationRun run) throws SQLException {
        try (Connection tgt = Pg.connect("target", run.cfg.target)) {
            Pg.exec(tgt, "ANALYZE");
        }
        run.counts("analyze", "target analyzed");
    }
}
