package tsmigrate.sequences;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** When the sequences step moves a target sequence: only forward, to where the source's next value is. */
class SequenceBehindTest {
    @Test
    void aTargetBehindTheSourceIsMovedAndOneAheadIsKept() {
        assertTrue(SequenceSync.behind(10, true, 1, 20, true), "source gave out up to 20, target up to 10");
        assertFalse(SequenceSync.behind(30, true, 1, 20, true), "target ran ahead (ids given out after a cutover)");
        assertFalse(SequenceSync.behind(20, true, 1, 20, true), "level");
        // not called: its last_value is the next value to give out
        assertTrue(SequenceSync.behind(1, false, 1, 1, true), "a fresh target against a source that gave out 1");
        assertFalse(SequenceSync.behind(21, false, 1, 20, true), "the target gives out 21 next, as the source would");
    }

    @Test
    void descendingSequencesCompareTheOtherWay() {
        assertTrue(SequenceSync.behind(-10, true, -1, -20, true));
        assertFalse(SequenceSync.behind(-30, true, -1, -20, true));
    }

    /** A sequence at the end of its range: last + increment overflows; the end of the range stands in for it. */
    @Test
    void aSequenceAtTheEndOfItsRangeDoesNotOverflow() {
        assertFalse(SequenceSync.behind(Long.MAX_VALUE, true, 1, Long.MAX_VALUE, true));
        assertTrue(SequenceSync.behind(Long.MAX_VALUE - 5, true, 1, Long.MAX_VALUE, true));
        assertFalse(SequenceSync.behind(Long.MIN_VALUE, true, -1, Long.MIN_VALUE, true));
    }
}
