package tsmigrate.it;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import tsmigrate.cli.TsMigrate;

/** Runs the CLI in this JVM and captures what it printed (stdout, and stderr where the logs go). */
public final class Cli {
    public record Result(int exit, String out, String err) {
        public String all() {
            return out + "\n" + err;
        }
    }

    private Cli() {
    }

    public static synchronized Result run(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            System.setOut(o);
            System.setErr(e);
            int code = TsMigrate.run(args);
            return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
            oldErr.print(err.toString(StandardCharsets.UTF_8)); // keep the run's log in the test report
        }
    }
}
