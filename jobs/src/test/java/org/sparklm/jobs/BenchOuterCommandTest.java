package org.sparklm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.sparklm.UsageException;
import org.sparklm.train.OuterOptimizer.Kind;

/** The comparison's list options: what it runs, and one error line for anything else. */
class BenchOuterCommandTest {

    private static BenchOuterCommand.Config parse(String... extra) {
        String[] a = new String[extra.length + 2];
        a[0] = "--data";
        a[1] = "shards";
        System.arraycopy(extra, 0, a, 2, extra.length);
        return BenchOuterCommand.commandLine().parse(a);
    }

    @Test
    void averagingFrequenciesArePositiveIntegersEachOnce() {
        assertEquals(List.of(8, 32, 128), parse().hs());
        assertEquals(List.of(8, 32, 128), parse("--hs", "8,32,128").hs());
        assertEquals(List.of(128, 1), parse("--hs", " 128 , 1").hs());
        assertEquals(List.of(128, 1, 4), parse("--hs", "128", "1,4").hs());
        for (String bad : List.of("8,x", "0", "-8", "8,,32", "", "8,8")) {
            UsageException e = assertThrows(UsageException.class, () -> parse("--hs", bad), bad);
            assertTrue(e.getMessage().startsWith("bench-outer: "), e.getMessage());
            assertTrue(e.getMessage().contains("--hs"), e.getMessage());
        }
    }

    @Test
    void outerOptimizersAreTheirKeys() {
        assertEquals(List.of(Kind.AVERAGE, Kind.NESTEROV), parse().outers());
        assertEquals(List.of(Kind.NESTEROV), parse("--outers", "NESTEROV").outers());
        UsageException e = assertThrows(UsageException.class, () -> parse("--outers", "average,adam"));
        assertEquals("bench-outer: --outers: outer optimizer must be average or nesterov, got 'adam'", e.getMessage());
        e = assertThrows(UsageException.class, () -> parse("--outers", "average,average"));
        assertTrue(e.getMessage().contains("twice"), e.getMessage());
    }

    @Test
    void theHelpShowsTheListsAndTheirDefaults() {
        String help = BenchOuterCommand.commandLine().help();
        assertTrue(help.contains("--hs H,...") && help.contains("(default: 8,32,128)"), help);
        assertTrue(help.contains("--outers average|nesterov,...") && help.contains("(default: average,nesterov)"),
            help);
    }
}
