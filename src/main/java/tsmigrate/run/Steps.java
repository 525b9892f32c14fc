package tsmigrate.run;

/** Called by every step route at its start and end: logs start, end, duration and the step's counts. */
public class Steps {
    public void started(MigrationRun run, String step) {
        run.stepStarted(step);
        tsmigrate.report.StatusFile.write(run, null);
    }

    public void ended(MigrationRun run, String step) {
        run.stepEnded(step);
        tsmigrate.report.StatusFile.write(run, null);
    }
}
