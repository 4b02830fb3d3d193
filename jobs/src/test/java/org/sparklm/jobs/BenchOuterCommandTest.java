package org.sparklm.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.sparklm.UsageException;

/** The comparison's list options: what it runs, and one error line for anything else. */
class BenchOuterCommandTest {

    @Test
    void averagingFrequenciesArePositiveIntegersEachOnce() {
        assertArrayEquals(new int[] {8, 32, 128}, BenchOuterCommand.averagingFrequencies("8,32,128"));
        assertArrayEquals(new int[] {128, 1}, BenchOuterCommand.averagingFrequencies(" 128 , 1"));
        for (String bad : List.of("8,x", "0", "-8", "8,,32", "", "8,8")) {
            UsageException e = assertThrows(UsageException.class, () -> BenchOuterCommand.averagingFrequencies(bad),
                bad);
            assertTrue(e.getMessage().startsWith("bench-outer: --hs: "), e.getMessage());
        }
    }

    @Test
    void outerOptimizersAreTheirKeys() {
        assertEquals(List.of("average", "nesterov"), BenchOuterCommand.outerOptimizers("average, NESTEROV"));
        UsageException e = assertThrows(UsageException.class, () -> BenchOuterCommand.outerOptimizers("average,adam"));
        assertEquals("bench-outer: --outers: outer optimizer must be average or nesterov, got 'adam'", e.getMessage());
    }
}
