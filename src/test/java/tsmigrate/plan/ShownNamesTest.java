package tsmigrate.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;

import org.junit.jupiter.api.Test;

/** Names are shown with their control characters escaped: a newline in a table's name cannot split or forge a line (QA). */
class ShownNamesTest {
    @Test
    void controlCharactersAreEscaped() {
        TableInfo t = new TableInfo("public", "new\nline\t\u0007\u2028", 1, List.of("a"), 0, 0);
        assertEquals("\"public\".\"new\\nline\\t\\u0007\\u2028\"", t.shown());
        assertEquals("\"public\".\"plain é\"", new TableInfo("public", "plain é", 1, List.of("a"), 0, 0).shown());
        assertEquals(t.shown() + " chunk 3 all rows", new Chunk(t, 3, "true", "all rows", java.nio.file.Path.of("x")).toString());
    }
}
