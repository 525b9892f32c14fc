package tsmigrate.run;

/** A step failed for a reason that its message states in full (e.g. pg_restore's own words). */
public class StepFailure extends RuntimeException {
    public StepFailure(String message) {
        super(message);
    }

    public StepFailure(String message, Throwable cause) {
        super(message, cause);
    }
}
