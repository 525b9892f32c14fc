package tsmigrate.run;

/** Called by every step route at its start and end: logs start, end, duration and the step's counts. */
public class Steps {
    public void started(MigrationRun run, String step) {
        // A stop request takes effect here, between steps, if the step it came in did not end the run itself.
        if (run.stopping) throw new Migration.Interrupted();
        run.stepStarted(step);
        tsmigrate.report.StatusFile.write(run, null);
    }

    /** For steps whose bean returns its counts. */
    public void counted(MigrationRun run, String step, String counts) {
        run.counts(step, counts);
    }

    public void ended(MigrationRun run, String step) {
        run.stepEnded(step);
        tsmigrate.report.StatusFile.write(run, null);
    }
}
