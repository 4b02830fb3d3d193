package org.sparklm.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sparklm.UsageException;
import org.sparklm.tokenizer.SpecialTokens;

/** T5's span corruption: the statistics of the mask, the examples, the lengths, bad input. */
class SpanCorruptionTest {

    static final SpecialTokens SPECIALS = SpecialTokens.DEFAULT;
    static final int EOS = SPECIALS.idOf(SpecialTokens.EOS);
    static final int[] SENTINELS = SpanCorruption.sentinels(SPECIALS);

    /** Random ordinary tokens with an [EOS] (a document boundary of the shards) now and then. */
    static int[] randomWindow(int length, SplittableRandom rng) {
        int[] w = new int[length];
        for (int i = 0; i < length; i++) {
            w[i] = rng.nextInt(50) == 0 ? EOS : SPECIALS.size() + rng.nextInt(5000);
        }
        return w;
    }

    static int sentinelIndex(int id) {
        for (int i = 0; i < SENTINELS.length; i++) {
            if (SENTINELS[i] == id) {
                return i;
            }
        }
        return -1;
    }

    /** The target's spans: span i is what follows sentinel i up to the next sentinel or the final EOS. */
    static List<int[]> targetSpans(int[] target) {
        assertEquals(EOS, target[target.length - 1], "the target ends with EOS");
        List<int[]> spans = new ArrayList<>();
        int start = -1;
        for (int j = 0; j < target.length; j++) {
            int s = sentinelIndex(target[j]);
            boolean end = j == target.length - 1;
            if (s >= 0 || end) {
                if (start >= 0) {
                    spans.add(Arrays.copyOfRange(target, start, j));
                }
                if (s >= 0) {
                    assertEquals(spans.size(), s, "target sentinels in order, each once");
                }
                start = j + 1;
            }
        }
        return spans;
    }

    /** Puts each target span back in place of its sentinel in the input (without its EOS). */
    static int[] restore(Seq2SeqBatches.Example e) {
        int[] in = e.input();
        assertEquals(EOS, in[in.length - 1], "the input ends with EOS");
        List<int[]> spans = targetSpans(e.target());
        List<Integer> out = new ArrayList<>();
        int next = 0;
        for (int j = 0; j < in.length - 1; j++) {
            int s = sentinelIndex(in[j]);
            if (s >= 0) {
                assertEquals(next++, s, "input sentinels in order, each once");
                for (int t : spans.get(s)) {
                    out.add(t);
                }
            } else {
                out.add(in[j]);
            }
        }
        assertEquals(spans.size(), next, "every target span has its sentinel in the input");
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    @Test
    void noiseFractionAndMeanSpanLengthOverManyTokens() {
        SpanCorruption sc = SpanCorruption.of(SPECIALS, 0.15, 3.0);
        SplittableRandom data = new SplittableRandom(1);
        long tokens = 0;
        long noise = 0;
        long spans = 0;
        int examples = 0;
        int[] lengths = {568, 284, 141, 100, 77, 333};
        while (tokens < 120_000) {
            int[] w = randomWindow(lengths[examples % lengths.length], data);
            boolean[] mask = SpanCorruption.noiseMask(w.length, 0.15, 3.0, new SplittableRandom(examples));
            assertFalse(mask[0], "spans start with non-noise");
            int runs = 0;
            for (int i = 0; i < mask.length; i++) {
                noise += mask[i] ? 1 : 0;
                runs += mask[i] && (i == 0 || !mask[i - 1]) ? 1 : 0;
            }
            assertEquals(SpanCorruption.noiseSpans(w.length, 0.15, 3.0), runs);
            spans += runs;
            tokens += w.length;
            // the example: sentinels in order and once each, the spans put back give the window exactly
            Seq2SeqBatches.Example e = sc.corrupt(w, new SplittableRandom(examples));
            assertArrayEquals(w, restore(e));
            assertEquals(sc.apply(w, mask), e, "corrupt draws the mask noiseMask draws");
            SpanCorruption.Lengths l = SpanCorruption.of(w.length, 0.15, 3.0);
            assertEquals(l.input(), e.input().length);
            assertEquals(l.target(), e.target().length);
            examples++;
        }
        assertEquals(0.15, (double) noise / tokens, 0.005, "noise fraction");
        assertEquals(3.0, (double) noise / spans, 0.1, "mean span length");
    }

    @Test
    void everyCutIntoSegmentsIsEquallyLikely() {
        // 6 items in 2 segments: the first segment has 1..5 items, each with probability 1/5
        int[] count = new int[6];
        SplittableRandom rng = new SplittableRandom(3);
        int n = 20_000;
        for (int i = 0; i < n; i++) {
            int[] seg = SpanCorruption.randomSegmentation(6, 2, rng);
            assertEquals(6, seg[0] + seg[1]);
            assertTrue(seg[0] >= 1 && seg[1] >= 1);
            count[seg[0]]++;
        }
        for (int k = 1; k <= 5; k++) {
            assertEquals(0.2, count[k] / (double) n, 0.015, "first segment of " + k);
        }
        // 5 items in 3 segments: C(4, 2) = 6 compositions, each 1/6
        java.util.Map<String, Integer> seen = new java.util.HashMap<>();
        for (int i = 0; i < 12_000; i++) {
            seen.merge(Arrays.toString(SpanCorruption.randomSegmentation(5, 3, rng)), 1, Integer::sum);
        }
        assertEquals(6, seen.size(), seen.toString());
        seen.values().forEach(c -> assertEquals(1 / 6.0, c / 12_000.0, 0.015, seen.toString()));
    }

    @Test
    void lengthsAreT5s() {
        int[][] t5 = {{512, 568, 114}, {256, 284, 58}, {128, 141, 29}};
        for (int[] f : t5) {
            SpanCorruption.Lengths l = SpanCorruption.lengths(f[0], 0.15, 3.0);
            assertEquals(f[1], l.window(), "raw tokens for inputs of " + f[0]);
            assertEquals(f[0], l.input(), "inputs of " + f[0] + " filled");
            assertEquals(f[2], l.target(), "targets for inputs of " + f[0]);
            // the longest: one more raw token would not fit
            assertTrue(SpanCorruption.of(l.window() + 1, 0.15, 3.0).input() > f[0]);
        }
        // examples of such windows fit both contexts exactly
        SpanCorruption sc = SpanCorruption.of(SPECIALS, 0.15, 3.0);
        Seq2SeqBatches.Example e = sc.corrupt(randomWindow(568, new SplittableRandom(2)), new SplittableRandom(5));
        assertEquals(512, e.input().length);
        assertEquals(114, e.target().length);
        // other settings: the input never exceeds the context, and the next window would
        for (int te = 3; te < 300; te += 7) {
            for (double[] p : new double[][] {{0.15, 3}, {0.5, 1}, {0.3, 8}, {0.05, 2.5}}) {
                SpanCorruption.Lengths l = SpanCorruption.lengths(te, p[0], p[1]);
                assertTrue(l.input() <= te && SpanCorruption.of(l.window() + 1, p[0], p[1]).input() > te,
                    te + " " + Arrays.toString(p) + " " + l);
            }
        }
    }

    @Test
    void badInputIsAUsageError() {
        SpecialTokens noSentinels = SpecialTokens.parse("[PAD],[UNK],[BOS],[EOS],[MASK]");
        UsageException e = assertThrows(UsageException.class, () -> SpanCorruption.of(noSentinels, 0.15, 3));
        assertTrue(e.getMessage().contains("<extra_id_0>"), e.getMessage());
        assertThrows(UsageException.class, () -> Seq2SeqSpec.of(Objective.SPAN, noSentinels, 64, 64, 0.15, 3, 0, 1));
        // too short to corrupt: a 2-token window needs 3 input positions (a kept token, a sentinel, EOS)
        e = assertThrows(UsageException.class, () -> Seq2SeqSpec.of(Objective.SPAN, SPECIALS, 2, 64, 0.15, 3, 0, 1));
        assertTrue(e.getMessage().contains("too short"), e.getMessage());
        Seq2SeqSpec ok = Seq2SeqSpec.of(Objective.SPAN, SPECIALS, 3, 3, 0.15, 3, 0, 1);
        assertEquals(2, ok.window());
        // the targets must fit the decoder
        e = assertThrows(UsageException.class, () -> Seq2SeqSpec.of(Objective.SPAN, SPECIALS, 512, 113, 0.15, 3, 0,
            1));
        assertTrue(e.getMessage().contains("114"), e.getMessage());
        assertEquals(568, Seq2SeqSpec.of(Objective.SPAN, SPECIALS, 512, 114, 0.15, 3, 0, 1).window());
        // 28 spans in a 568-token window, 27 sentinels
        List<String> few = new ArrayList<>(List.of("[PAD]", "[EOS]"));
        for (int i = 0; i < 27; i++) {
            few.add(SpecialTokens.sentinel(i));
        }
        e = assertThrows(UsageException.class, () -> Seq2SeqSpec.of(Objective.SPAN, new SpecialTokens(few), 512, 114,
            0.15, 3, 0, 1));
        assertTrue(e.getMessage().contains("28 noise spans") && e.getMessage().contains("27 sentinels"),
            e.getMessage());
        SpanCorruption small = SpanCorruption.of(new SpecialTokens(few), 0.15, 3);
        assertThrows(UsageException.class, () -> small.corrupt(new int[568], new SplittableRandom(1)));
        assertThrows(UsageException.class, () -> SpanCorruption.of(SPECIALS, 0, 3));
        assertThrows(UsageException.class, () -> SpanCorruption.of(SPECIALS, 0.15, 0.5));
        assertThrows(UsageException.class, () -> Seq2SeqSpec.of(Objective.SPAN,
            SpecialTokens.parse("[EOS],<extra_id_0>"), 64, 64, 0.15, 3, 0, 1), "no [PAD]");
    }
}
