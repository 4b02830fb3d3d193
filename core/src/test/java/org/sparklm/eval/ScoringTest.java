package org.sparklm.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.sparklm.model.LanguageModel;
import org.sparklm.tokenizer.SpecialTokens;
import org.sparklm.tokenizer.bpe.BpeTokenizer;

/**
 * Log-probabilities against the model's own single-sequence inference (an independent computation), batching and
 * padding, and the sliding window: equal to the full pass when the text fits, every token scored once when not.
 */
class ScoringTest {
    private static final int CONTEXT = 12;
    private static BpeTokenizer tok;
    private static LanguageModel model;
    private static int eos;

    @BeforeAll
    static void setUp() {
        tok = EvalFixtures.tokenizer();
        model = EvalFixtures.model(tok.vocabSize(), CONTEXT, 5);
        eos = tok.specialTokens().idOf(SpecialTokens.EOS);
    }

    private static int[] randomIds(int n, long seed) {
        Random r = new Random(seed);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = r.nextInt(tok.vocabSize());
        }
        return ids;
    }

    @Test
    void batchedLogProbsEqualSingleSequenceInference() {
        // sequences of different lengths in one padded forward pass, and one pass per sequence
        List<int[]> seqs = new ArrayList<>();
        List<Integer> from = new ArrayList<>();
        for (int n : new int[] {CONTEXT + 1, 3, 7, 2}) {
            seqs.add(randomIds(n, n));
            from.add(1);
        }
        for (int batch : new int[] {1, 4}) {
            LmScorer s = new LmScorer(model, batch);
            List<Double> ll = s.loglikelihoods(seqs, from);
            assertEquals(batch == 1 ? 4 : 1, s.forwardPasses());
            for (int i = 0; i < seqs.size(); i++) {
                double expected = 0;
                double[] lp = EvalFixtures.referenceAll(model, seqs.get(i));
                for (int j = 1; j < seqs.get(i).length; j++) {
                    expected += lp[j];
                }
                assertEquals(expected, ll.get(i), 1e-4, "sequence " + i + ", batch " + batch);
                assertTrue(ll.get(i) < 0);
            }
        }
    }

    @Test
    void aSpanLongerThanTheContextIsRefused() {
        LmScorer s = new LmScorer(model, 2);
        int[] ids = randomIds(CONTEXT + 2, 1);
        assertThrows(IllegalArgumentException.class, () -> s.loglikelihoods(List.of(ids), List.of(1)));
    }

    @Test
    void everyTokenIsScoredOnceByTheWindowPlan() {
        for (int length = 2; length < 40; length++) {
            for (int stride = 1; stride <= CONTEXT; stride++) {
                int[] times = new int[length];
                List<SlidingWindow> ws = SlidingWindow.plan(length, CONTEXT, stride);
                for (SlidingWindow w : ws) {
                    assertTrue(w.inputs() <= CONTEXT && w.inputs() >= 1, w.toString());
                    assertTrue(w.firstScored() > w.begin() && w.firstScored() <= w.end(), w.toString());
                    for (int j = w.firstScored(); j <= w.end(); j++) {
                        times[j]++;
                        // as much left context as the window allows: at least context - stride once it is full
                        assertTrue(j - w.begin() >= Math.min(j, CONTEXT - stride + 1), "position " + j + " " + w);
                    }
                }
                assertEquals(0, times[0], "the conditioning id is never scored");
                for (int j = 1; j < length; j++) {
                    assertEquals(1, times[j], "length " + length + ", stride " + stride + ", position " + j);
                }
            }
        }
        assertThrows(IllegalArgumentException.class, () -> SlidingWindow.plan(10, CONTEXT, 0));
        assertThrows(IllegalArgumentException.class, () -> SlidingWindow.plan(10, CONTEXT, CONTEXT + 1));
    }

    @Test
    void aTextThatFitsIsScoredInOneFullPassWhateverTheStride() {
        String text = "the quick brown fox";
        int[] ids = tok.encode(text, false);
        assertTrue(ids.length + 1 <= CONTEXT + 1);
        int[] seq = new int[ids.length + 1];
        seq[0] = eos;
        System.arraycopy(ids, 0, seq, 1, ids.length);
        for (int stride : new int[] {1, 5, CONTEXT}) {
            TextScorer.Scored s = new TextScorer(new LmScorer(model, 3), tok, eos, stride).score(text, false);
            assertArrayEquals(ids, s.ids());
            assertEquals(1, s.windows());
            double[] lp = EvalFixtures.referenceAll(model, seq);
            for (int j = 1; j < seq.length; j++) {
                assertEquals(lp[j], s.logProbs()[j - 1], 1e-4);
                assertEquals(j, s.contexts()[j - 1]);
            }
            assertEquals(Math.exp(-s.sum() / ids.length), s.perplexity(), 1e-12);
        }
    }

    @Test
    void aLongTextIsScoredWithSlidingWindowsEachTokenOnceWithItsWindowsContext() {
        int[] ids = randomIds(40, 9);
        int[] seq = new int[ids.length + 1];
        seq[0] = eos;
        System.arraycopy(ids, 0, seq, 1, ids.length);
        for (int stride : new int[] {4, CONTEXT}) {
            TextScorer.Scored s = new TextScorer(new LmScorer(model, 2), tok, eos, stride).score(ids);
            assertEquals(ids.length, s.logProbs().length);
            assertTrue(s.windows() > 1);
            for (int j = 1; j < seq.length; j++) {
                int ctx = s.contexts()[j - 1];
                assertTrue(ctx >= 1 && ctx <= CONTEXT);
                if (j > CONTEXT) {
                    assertTrue(ctx >= CONTEXT - stride + 1, "stride " + stride + ": position " + j + " has " + ctx);
                }
                assertEquals(EvalFixtures.reference(model, seq, j - ctx, j), s.logProbs()[j - 1], 1e-4,
                    "stride " + stride + ", position " + j);
            }
        }
        // smaller strides give more context, so a different (here: not identical) score
        double a = new TextScorer(new LmScorer(model, 2), tok, eos, 4).score(ids).sum();
        double b = new TextScorer(new LmScorer(model, 2), tok, eos, CONTEXT).score(ids).sum();
        assertTrue(Math.abs(a - b) > 1e-6);
    }

    @Test
    void anEmptyTextHasNoTokens() {
        TextScorer.Scored s = new TextScorer(new LmScorer(model, 2), tok, eos, 6).score("", false);
        assertEquals(0, s.ids().length);
        assertEquals(0.0, s.sum());
        assertTrue(Double.isNaN(s.perplexity()));
    }

    @Test
    void positionLossAveragesByContextPosition() {
        PositionLoss pl = new PositionLoss(CONTEXT);
        TextScorer ts = new TextScorer(new LmScorer(model, 4), tok, eos, CONTEXT);
        List<TextScorer.Scored> all = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            TextScorer.Scored s = ts.score(randomIds(30, 100 + i));
            pl.add(s);
            all.add(s);
        }
        for (int p : new int[] {1, 6, CONTEXT}) {
            double sum = 0;
            int n = 0;
            for (TextScorer.Scored s : all) {
                for (int i = 0; i < s.ids().length; i++) {
                    if (s.contexts()[i] == p) {
                        sum -= s.logProbs()[i];
                        n++;
                    }
                }
            }
            assertEquals(n, pl.count(p));
            assertEquals(sum / n, pl.mean(p), 1e-9);
        }
        assertEquals(pl.mean(10) - pl.mean(2), pl.iclScore(2, 10), 1e-12);
        assertEquals(pl.iclScore(2, 10), pl.toJson(2, 10).get("icl_score").get("score").asDouble(), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> pl.toJson(5, CONTEXT + 1));
    }

    @Test
    void defaultIclPositionsFollowOlssonScaledToTheContext() {
        ScoreConfig c = ScoreConfig.DEFAULTS;
        assertEquals(500, c.lateFor(2048));
        assertEquals(50, c.earlyFor(2048));
        assertEquals(60, c.lateFor(64));
        assertEquals(6, c.earlyFor(64));
        assertEquals(32, c.strideFor(64));
    }
}
