package tsmigrate.run;

/**
 * A failure the user can act on: shown as its message and a hint, without a stack trace.
 */
public class UserError extends RuntimeException {
    private final String hint;

    public UserError(String message, String hint) {
        super(message);
        this.hint = hint;
    }

    public UserError(String message, String hint, Throwable cause) {
        super(message, cause);
        this.hint = hint;
    }

    public String hint() {
        return hint;
    }

    /** The first five of some names, joined, for a message that gives them as examples. */
    public static String someOf(java.util.List<String> names) {
        return tsmigrate.plan.TableInfo.shown(String.join(", ", names.subList(0, Math.min(5, names.size()))));
    }
}
