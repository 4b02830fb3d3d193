package org.sparklm.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class MlmMaskerTest {

    private static final int VOCAB = 1000;
    private static final int SPECIALS = 7;
    private static final int MASK = 4;

    /** Windows of 128 tokens, about 5% of them special (padding, separators). */
    private static int[] window(SplittableRandom r) {
        int[] w = new int[128];
        for (int i = 0; i < w.length; i++) {
            w[i] = r.nextDouble() < 0.05 ? r.nextInt(SPECIALS) : SPECIALS + r.nextInt(VOCAB - SPECIALS);
        }
        return w;
    }

    @Test
    void bertRatesOverManyPositions() {
        MlmMasker m = new MlmMasker(VOCAB, SPECIALS, MASK, 12345);
        SplittableRandom r = new SplittableRandom(1);
        long candidates = 0;
        long chosen = 0;
        long masked = 0;
        long random = 0;
        long unchanged = 0;
        for (int wi = 0; wi < 800; wi++) {     // 102 400 positions
            int[] w = window(r);
            MlmMasker.Masked x = m.mask(w, 0, wi);
            for (int i = 0; i < w.length; i++) {
                if (m.isSpecial(w[i])) {
                    assertFalse(x.chosen()[i], "a special token was chosen");
                    assertEquals(w[i], x.input()[i], "a special token was changed");
                    continue;
                }
                candidates++;
                if (!x.chosen()[i]) {
                    assertEquals(w[i], x.input()[i], "an unchosen token was changed");
                    continue;
                }
                chosen++;
                if (x.input()[i] == MASK) {
                    masked++;
                } else if (x.input()[i] == w[i]) {
                    unchanged++;
                } else {
                    random++;
                    assertFalse(m.isSpecial(x.input()[i]), "a random replacement was special");
                }
            }
        }
        assertTrue(candidates > 95_000);
        assertEquals(0.15, (double) chosen / candidates, 0.003);
        assertEquals(0.8, (double) masked / chosen, 0.01);
        assertEquals(0.1, (double) random / chosen, 0.01);
        assertEquals(0.1, (double) unchanged / chosen, 0.01);
    }

    @Test
    void masksDependOnSeedEpochAndWindowIndexOnly() {
        MlmMasker m = new MlmMasker(VOCAB, SPECIALS, MASK, 7);
        int[] w = window(new SplittableRandom(2));
        MlmMasker.Masked a = m.mask(w, 3, 41);
        MlmMasker.Masked b = new MlmMasker(VOCAB, SPECIALS, MASK, 7).mask(w, 3, 41);
        assertArrayEquals(a.input(), b.input());
        assertArrayEquals(a.chosen(), b.chosen());
        assertFalse(Arrays.equals(a.chosen(), m.mask(w, 4, 41).chosen()), "a new epoch draws new masks");
        assertFalse(Arrays.equals(a.chosen(), m.mask(w, 3, 42).chosen()), "each window has its own masks");
        assertFalse(Arrays.equals(a.chosen(), new MlmMasker(VOCAB, SPECIALS, MASK, 8).mask(w, 3, 41).chosen()));
    }

    @Test
    void allSpecialWindowsHaveNoLabels() {
        MlmMasker m = new MlmMasker(VOCAB, SPECIALS, MASK, 7);
        MlmMasker.Masked x = m.mask(new int[] {0, 0, 0, 5, 6}, 0, 0);
        for (boolean c : x.chosen()) {
            assertFalse(c);
        }
    }
}
