package tsmigrate.run;

/** A check that protects data said no (e.g. a target that already holds rows); nothing was changed. */
public class Refusal extends UserError {
    public Refusal(String message, String hint) {
        super(message, hint);
    }
}
