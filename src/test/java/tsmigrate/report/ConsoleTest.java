package tsmigrate.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Progress bars and log lines on one terminal. What reaches the terminal is replayed on a small emulator (cursor
 * up, carriage return, erase) and the screen it ends with is compared.
 */
class ConsoleTest {
    private final ByteArrayOutputStream terminal = new ByteArrayOutputStream();
    private PrintStream raw;
    /** What System.err and System.out become on a terminal (not installed: other tests' threads log meanwhile). */
    private PrintStream err;
    private PrintStream out;

    @BeforeEach
    void onATerminal() {
        raw = new PrintStream(terminal, true, StandardCharsets.UTF_8);
        Console.onTerminal(raw);
        err = Console.guarded(raw);
        out = Console.guarded(raw);
    }

    @AfterEach
    void restore() {
        Console.reset();
    }

    /** Bars only when stderr itself is a terminal: stdin and stdout on one and stderr sent to a file is not enough. */
    @Test
    void barsOnlyWhenStderrIsATerminal() {
        assertTrue(Console.isTerminalDevice("/dev/pts/3"));
        assertTrue(Console.isTerminalDevice("/dev/tty1"));
        assertTrue(Console.isTerminalDevice(null), "where fd 2 cannot be looked at, System.console() decides as before");
        assertFalse(Console.isTerminalDevice("/var/log/tsmigrate.log"));
        assertFalse(Console.isTerminalDevice("pipe:[123456]"));
        assertFalse(Console.isTerminalDevice("/dev/null"));
    }

    @Test
    void aLogLineBetweenRedrawsStaysOnTheScreenAndTheBarsMoveBelowIt() {
        Console.drawBars(List.of("[####    ] data: 1/4 chunks", "  [##      ] \"public\".\"m\": 1/4 chunks"));
        err.println("12:00:00 [WARN] cannot reach the target; retrying");
        Console.drawBars(List.of("[######  ] data: 2/4 chunks", "  [####    ] \"public\".\"m\": 2/4 chunks"));
        assertEquals(List.of("12:00:00 [WARN] cannot reach the target; retrying", "[######  ] data: 2/4 chunks",
                "  [####    ] \"public\".\"m\": 2/4 chunks"), screen());
        Console.drawBars(List.of("[########] data: 4/4 chunks"));
        Console.clearBars();
        out.println("Migration summary");
        assertEquals(List.of("12:00:00 [WARN] cannot reach the target; retrying", "Migration summary"), screen());
    }

    @Test
    void barsWaitForAHalfWrittenLine() {
        err.print("12:00:00 [INFO] step data: ");
        Console.drawBars(List.of("[##      ] data: 1/4 chunks"));
        err.println("started");
        assertEquals(List.of("12:00:00 [INFO] step data: started"), screen());
    }

    /** The emulator does see a line overwritten: output that bypasses the guard, as it used to, is lost. */
    @Test
    void outputAroundTheGuardIsOverwritten() {
        Console.drawBars(List.of("[##      ] data: 1/4 chunks", "  [#       ] \"public\".\"m\""));
        raw.print("12:00:00 [WARN] lost\n");
        Console.drawBars(List.of("[####    ] data: 2/4 chunks", "  [##      ] \"public\".\"m\""));
        assertTrue(screen().stream().noneMatch(l -> l.contains("lost")), String.join("\n", screen()));
    }

    /** The screen after replaying the bytes: rows without trailing empty ones. */
    private List<String> screen() {
        String s = terminal.toString(StandardCharsets.UTF_8);
        List<StringBuilder> rows = new ArrayList<>(List.of(new StringBuilder()));
        int r = 0;
        int c = 0;
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if (ch == '\u001b') { // CSI n A (up), K (erase to end of line), J (erase to end of screen)
                int j = i + 2;
                int n = 0;
                while (Character.isDigit(s.charAt(j))) n = n * 10 + (s.charAt(j++) - '0');
                char cmd = s.charAt(j);
                if (cmd == 'A') r = Math.max(0, r - Math.max(1, n));
                if (cmd == 'K' || cmd == 'J') rows.get(r).setLength(Math.min(c, rows.get(r).length()));
                if (cmd == 'J') while (rows.size() > r + 1) rows.remove(rows.size() - 1);
                i = j;
            } else if (ch == '\r') {
                c = 0;
            } else if (ch == '\n') {
                r++;
                c = 0;
                while (rows.size() <= r) rows.add(new StringBuilder());
            } else {
                StringBuilder row = rows.get(r);
                while (row.length() < c) row.append(' ');
                if (c < row.length()) row.setCharAt(c, ch);
                else row.append(ch);
                c++;
            }
        }
        List<String> out = new ArrayList<>(rows.stream().map(StringBuilder::toString).toList());
        while (!out.isEmpty() && out.get(out.size() - 1).isEmpty()) out.remove(out.size() - 1);
        return out;
    }
}
