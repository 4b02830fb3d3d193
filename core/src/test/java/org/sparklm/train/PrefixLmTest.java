package org.sparklm.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sparklm.UsageException;
import org.sparklm.tokenizer.SpecialTokens;

/** Prefix LM: the split's range and distribution, reconstruction, window lengths, bad input. */
class PrefixLmTest {
    private static final int EOS = SpecialTokens.DEFAULT.idOf(SpecialTokens.EOS);

    @Test
    void splitsAreUniformInTheRangeAndRestoreTheWindow() {
        PrefixLm p = new PrefixLm(0.25, 0.75, EOS);
        int[] w = SpanCorruptionTest.randomWindow(40, new SplittableRandom(4));
        int[] r = PrefixLm.splitRange(40, 0.25, 0.75);
        assertArrayEquals(new int[] {10, 30}, r);
        int[] count = new int[41];
        SplittableRandom rng = new SplittableRandom(9);
        int n = 21_000;
        for (int i = 0; i < n; i++) {
            Seq2SeqBatches.Example e = p.split(w, rng);
            int k = e.input().length - 1;
            assertEquals(EOS, e.input()[k]);
            assertEquals(EOS, e.target()[e.target().length - 1]);
            assertArrayEquals(Arrays.copyOf(w, k), Arrays.copyOf(e.input(), k), "the prefix");
            assertArrayEquals(Arrays.copyOfRange(w, k, 40), Arrays.copyOf(e.target(), e.target().length - 1),
                "the rest");
            count[k]++;
        }
        for (int k = 0; k <= 40; k++) {
            if (k < 10 || k > 30) {
                assertEquals(0, count[k], "prefix of " + k + " outside the range");
            } else {
                assertEquals(1.0 / 21, count[k] / (double) n, 0.012, "prefix of " + k);
            }
        }
        // the default range is T5's: any split with a token on each side
        assertArrayEquals(new int[] {1, 39}, PrefixLm.splitRange(40, 0, 1));
    }

    @Test
    void windowsAreTheLongestWhoseEverySplitFitsBothContexts() {
        assertEquals(128, PrefixLm.windowLength(128, 128, 0, 1));
        assertEquals(64, PrefixLm.windowLength(128, 64, 0, 1));
        for (int te : new int[] {4, 16, 64, 128}) {
            for (int td : new int[] {3, 16, 50, 128}) {
                for (double[] f : new double[][] {{0, 1}, {0.25, 0.75}, {0.5, 0.5}, {0.1, 0.3}, {0.9, 1}}) {
                    int l;
                    try {
                        l = PrefixLm.windowLength(te, td, f[0], f[1]);
                    } catch (UsageException e) {
                        continue;
                    }
                    int[] r = PrefixLm.splitRange(l, f[0], f[1]);
                    String what = te + "/" + td + " " + Arrays.toString(f) + ": " + l;
                    assertTrue(r[0] <= r[1] && r[1] + 1 <= te && l - r[0] + 1 <= td, what);
                    for (int longer = l + 1; longer <= te + td; longer++) {
                        int[] q = PrefixLm.splitRange(longer, f[0], f[1]);
                        assertTrue(!(q[0] <= q[1] && q[1] + 1 <= te && longer - q[0] + 1 <= td), what);
                    }
                }
            }
        }
        // 0.25 .. 0.75 of 128/128: prefixes of 43 .. 127 tokens (with EOS at most 128), rests of at most 127
        int l = PrefixLm.windowLength(128, 128, 0.25, 0.75);
        assertEquals(170, l);
    }

    @Test
    void badInputIsAUsageError() {
        assertThrows(UsageException.class, () -> new PrefixLm(0.8, 0.2, EOS));
        assertThrows(UsageException.class, () -> new PrefixLm(-0.1, 0.2, EOS));
        assertThrows(UsageException.class, () -> PrefixLm.windowLength(1, 128, 0, 1), "no room for a prefix");
        assertThrows(UsageException.class, () -> PrefixLm.windowLength(128, 1, 0, 1), "no room for the rest");
        assertEquals(2, PrefixLm.windowLength(2, 2, 0, 1));
        assertThrows(UsageException.class, () -> Seq2SeqSpec.of(Objective.PREFIX_LM, SpecialTokens.parse("[PAD]"),
            64, 64, 0.15, 3, 0, 1), "no [EOS]");
    }
}
