package tsmigrate.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

class TableInfoTest {
    private static TableInfo table(String schema, String name) {
        return new TableInfo(schema, name, 1, List.of("c"), 0, 0);
    }

    @Test
    void shortNamesAreEncodedWhole() {
        assertEquals("Sales%20Ops.Orders%20Log", table("Sales Ops", "Orders Log").dirName());
    }

    @Test
    void aConfiguredTimeColumnMayBeQuotedAsInSql() {
        TableInfo t = table("s", "t");
        assertEquals("Event \"Time\"", t.configuredTimeColumn(java.util.Map.of("s.t", "\"Event \"\"Time\"\"\"")));
        assertEquals("Event Time", t.configuredTimeColumn(java.util.Map.of("s.t", "Event Time")), "unquoted: as written");
        assertEquals("\"", t.configuredTimeColumn(java.util.Map.of("s.t", "\"")), "a lone quote is a name");
    }

    /** 31 × é in schema and table: 372 bytes %-encoded, over the 255 a file name may have ("File name too long"). */
    @Test
    void longNonAsciiNamesFitAFileNameAndStayApart() {
        String e31 = "é".repeat(31);
        String a = table(e31, e31).dirName();
        String b = table(e31, e31.substring(1) + "x").dirName();
        assertTrue(a.length() <= 255 && b.length() <= 255, a);
        assertNotEquals(a, b);
        assertTrue(a.matches("[A-Za-z0-9_%.~-]+"), a);
        assertTrue(!a.substring(0, a.indexOf('~')).matches(".*%.?$"), "no half escape: " + a);
        assertEquals(a, table(e31, e31).dirName(), "stable from run to run");
    }
}
