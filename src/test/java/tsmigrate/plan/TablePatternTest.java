package tsmigrate.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import tsmigrate.run.UserError;

class TablePatternTest {
    private static boolean matches(String pattern, String schema, String table) {
        return TablePattern.parse(pattern).matches(schema, table);
    }

    @Test
    void schemaStarMatchesEveryTableOfThatSchemaOnly() {
        assertTrue(matches("public.*", "public", "metrics"));
        assertTrue(matches("public.*", "public", "orders"));
        assertFalse(matches("public.*", "sales", "metrics"));
    }

    @Test
    void starSchemaMatchesThatTableInEverySchema() {
        assertTrue(matches("*.metrics", "public", "metrics"));
        assertTrue(matches("*.metrics", "sales", "metrics"));
        assertFalse(matches("*.metrics", "public", "metrics_old"));
    }

    @Test
    void bareNameMatchesThatTableInAnySchema() {
        assertTrue(matches("metrics", "public", "metrics"));
        assertTrue(matches("metrics", "Sales Ops", "metrics"));
        assertFalse(matches("metrics", "public", "metrics2"));
        assertFalse(matches("metrics", "metrics", "orders"));
    }

    @Test
    void questionMarkMatchesExactlyOneCharacter() {
        assertTrue(matches("public.log_?", "public", "log_1"));
        assertFalse(matches("public.log_?", "public", "log_"));
        assertFalse(matches("public.log_?", "public", "log_12"));
    }

    @Test
    void starMatchesInsideAName() {
        assertTrue(matches("public.metrics_*", "public", "metrics_2024"));
        assertFalse(matches("public.metrics_*", "public", "old_metrics_2024"));
    }

    @Test
    void regexCharactersAreLiteral() {
        assertTrue(matches("public.a+b", "public", "a+b"));
        assertFalse(matches("public.a+b", "public", "aab"));
        assertFalse(matches("public.a[b]", "public", "ab"));
    }

    @Test
    void quotedPartsMayHoldSpaces() {
        assertTrue(matches("\"Sales Ops\".\"Orders Log\"", "Sales Ops", "Orders Log"));
        assertFalse(matches("\"Sales Ops\".\"Orders Log\"", "Sales Ops", "Orders"));
    }

    @Test
    void quotedSchemaWithStarTable() {
        assertTrue(matches("\"Sales Ops\".*", "Sales Ops", "anything"));
        assertFalse(matches("\"Sales Ops\".*", "Sales", "anything"));
    }

    @Test
    void quotedPartMayHoldADot() {
        assertTrue(matches("\"my.schema\".t", "my.schema", "t"));
        assertFalse(matches("\"my.schema\".t", "my", "schema"));
    }

    @Test
    void quotedBareNameWithDotIsATableInAnySchema() {
        assertTrue(matches("\"v1.2\"", "public", "v1.2"));
    }

    @Test
    void starInsideQuotesIsLiteral() {
        assertTrue(matches("public.\"a*\"", "public", "a*"));
        assertFalse(matches("public.\"a*\"", "public", "abc"));
    }

    @Test
    void questionMarkInsideQuotesIsLiteral() {
        assertTrue(matches("public.\"a?\"", "public", "a?"));
        assertFalse(matches("public.\"a?\"", "public", "ab"));
    }

    @Test
    void doubledQuoteInsideQuotesIsOneQuote() {
        assertTrue(matches("public.\"say \"\"hi\"\"\"", "public", "say \"hi\""));
    }

    @Test
    void matchingIsCaseSensitive() {
        assertFalse(matches("public.Metrics", "public", "metrics"));
        assertFalse(matches("public.metrics", "public", "Metrics"));
        assertFalse(matches("\"Sales Ops\".*", "sales ops", "t"));
        assertTrue(matches("public.Metrics", "public", "Metrics"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"\"Sales Ops.orders", "public.\"orders", "a.b.c", "", "   "})
    void malformedPatternsAreRefused(String text) {
        UserError e = assertThrows(UserError.class, () -> TablePattern.parse(text));
        assertTrue(e.getMessage().contains("'" + text + "'"), e.getMessage());
    }

    @Test
    void toStringIsTheGivenText() {
        assertEquals("\"Sales Ops\".*", TablePattern.parse("\"Sales Ops\".*").toString());
    }
}
