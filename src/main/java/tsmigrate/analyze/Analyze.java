package tsmigrate.analyze;

import java.sql.Connection;

import tsmigrate.db.Pg;
import tsmigrate.run.MigrationRun;

/** The analyze step: fresh planner statistics on the target, as the procedure's last step asks. */
public class Analyze {
    public void run(MigrationRun run) throws Exception {
        boolean ran = run.state.once("analyze", redo -> {
            try (Connection tgt = Pg.connect("target", run.cfg.target);
                 tsmigrate.report.ServerProgress progress = tsmigrate.report.ServerProgress.analyze("analyze", run.cfg.target,
                         tgt.unwrap(org.postgresql.PGConnection.class).getBackendPID(), run.cfg.progressSeconds)) {
                Pg.exec(tgt, "ANALYZE");
            }
            return "target analyzed";
        });
        run.counts("analyze", ran ? "target analyzed" : "already done");
    }
}
