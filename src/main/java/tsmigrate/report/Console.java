package tsmigrate.report;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The terminal: live progress bars redrawn in place, and everything else written to it. Any other output (a log
 * line, an error) first erases the bars, so the next redraw cannot overwrite it; the bars come back below it at
 * the next redraw. Off a terminal (a file, a pipe, CI) there are no bars and nothing is wrapped.
 */
public final class Console {
    private static final Object LOCK = new Object();
    private static volatile boolean tty;
    private static PrintStream bars = System.err;
    /** Lines of bars on the screen now, the cursor at the end of the last one. */
    private static int barLines;
    /** Whether the other output ended its last line: bars are drawn only then, never into a half-written line. */
    private static boolean atLineStart = true;

    private Console() {
    }

    /** On a terminal, routes System.err and System.out through the guard; the bars go to stderr. */
    public static void install() {
        // System.console() looks at stdin and stdout only: with just stderr sent to a file, the bars would go there
        if (System.console() == null || System.getenv("CI") != null || !isTerminalDevice(stderrTarget())) return;
        PrintStream err = System.err;
        onTerminal(err);
        System.setErr(guarded(err));
        System.setOut(guarded(System.out));
    }

    /** What file descriptor 2 is (Linux: /proc/self/fd/2), or null where that cannot be told. */
    private static String stderrTarget() {
        try {
            return java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/fd/2")).toString();
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return null;
        }
    }

    /** Whether stderr's target is a terminal: a tty device; a file or a pipe is not; unknown counts as one. */
    static boolean isTerminalDevice(String target) {
        return target == null || target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") || target.equals("/dev/console");
    }

    /** Bars from now on, drawn on err. */
    static void onTerminal(PrintStream err) {
        synchronized (LOCK) {
            bars = err;
            barLines = 0;
            atLineStart = true;
            tty = true;
        }
    }

    /** A stream to target that erases the bars before it writes. */
    static PrintStream guarded(PrintStream target) {
        return new PrintStream(new Guarded(target), true, StandardCharsets.UTF_8);
    }

    /** Back to no terminal (tests). */
    static void reset() {
        synchronized (LOCK) {
            tty = false;
            barLines = 0;
            atLineStart = true;
            bars = System.err;
        }
    }

    public static boolean isTty() {
        return tty;
    }

    /** Replaces the bars on the screen with these lines. */
    public static void drawBars(List<String> lines) {
        synchronized (LOCK) {
            if (!tty || !atLineStart) return;
            StringBuilder sb = new StringBuilder();
            erase(sb);
            sb.append(String.join("\n", lines.stream().map(l -> l + "\u001b[K").toList()));
            barLines = lines.size();
            bars.print(sb);
            bars.flush();
        }
    }

    /** Takes the bars off the screen (a step ended). */
    public static void clearBars() {
        synchronized (LOCK) {
            if (!tty || barLines == 0) return;
            StringBuilder sb = new StringBuilder();
            erase(sb);
            bars.print(sb);
            bars.flush();
        }
    }

    /** Cursor to the start of the first bar line, and clears from there down. Under LOCK. */
    private static void erase(StringBuilder sb) {
        if (barLines == 0) return;
        if (barLines > 1) sb.append("\u001b[").append(barLines - 1).append('A');
        sb.append("\r\u001b[J");
        barLines = 0;
    }

    /** A stream of other output: erases the bars before writing. */
    private static final class Guarded extends OutputStream {
        private final PrintStream target;

        Guarded(PrintStream target) {
            this.target = target;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (len == 0) return;
            synchronized (LOCK) {
                if (barLines > 0) {
                    StringBuilder sb = new StringBuilder();
                    erase(sb);
                    bars.print(sb);
                    bars.flush();
                }
                target.write(b, off, len);
                target.flush();
                atLineStart = b[off + len - 1] == '\n';
            }
        }

        @Override
        public void flush() {
            target.flush();
        }
    }
}
