package org.sparklm.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Sgd;
import org.sparklm.tokenizer.SpecialTokens;
import org.sparklm.tokenizer.Tokenizer;

/** Generation (greedy, sampled, cropped to the context) and fill-mask on untrained tiny models. */
class GenerationTest {

    private static int[] savedThreads;
    private static Tokenizer tok;

    @BeforeAll
    static void setUp() {
        savedThreads = ModelTestSupport.singleThread();
        tok = ModelTestSupport.tokenizer();
    }

    @AfterAll
    static void restore() {
        ModelTestSupport.restoreThreads(savedThreads);
    }

    private static LanguageModel model(AttentionMode mode, long seed) {
        TransformerConfig c = new TransformerConfig(tok.vocabSize(), 1, 16, 2, 32, 8, 0.1, mode);
        LanguageModel m = new LanguageModel(c, ModelTestSupport.network(c, new Sgd(0.1), seed, DataType.FLOAT));
        m.network().params().muli(20);   // untrained but opinionated: a peaked distribution
        return m;
    }

    @Test
    void greedyIsDeterministicAndIgnoresTheSeed() {
        LanguageModel m = model(AttentionMode.CAUSAL, 1);
        int[] prompt = tok.encode("the quick brown");
        int[] a = m.generate(prompt, 12, 0, 0, 1, -1);
        int[] b = m.generate(prompt, 12, 0, 0, 2, -1);
        assertEquals(12, a.length);
        assertArrayEquals(a, b);
        // greedy: each token is the argmax of the model's distribution after the sequence so far
        int[] seq = java.util.Arrays.copyOf(prompt, prompt.length + 1);
        seq[prompt.length] = a[0];
        float[][] p = m.probabilities(prompt);
        assertEquals(LanguageModel.argmax(p[p.length - 1]), a[0]);
        String text = m.generate(tok, "the quick brown", 5, 0, 0, 1);
        assertEquals(text, m.generate(tok, "the quick brown", 5, 0, 0, 3));
    }

    @Test
    void samplingIsReproducibleFromTheSeedAndRespectsTopK() {
        LanguageModel m = model(AttentionMode.CAUSAL, 2);
        int[] prompt = tok.encode("the lazy dog");
        int[] a = m.generate(prompt, 20, 1.0, 5, 42, -1);
        assertArrayEquals(a, m.generate(prompt, 20, 1.0, 5, 42, -1));
        boolean differs = false;
        for (long s = 0; s < 5 && !differs; s++) {
            differs = !java.util.Arrays.equals(a, m.generate(prompt, 20, 1.0, 5, s, -1));
        }
        assertTrue(differs, "different seeds give different samples");
        // top-1 sampling is greedy
        assertArrayEquals(m.generate(prompt, 6, 0, 0, 0, -1), m.generate(prompt, 6, 0.7, 1, 9, -1));
    }

    @Test
    void longPromptsAreCroppedToTheContext() {
        LanguageModel m = model(AttentionMode.CAUSAL, 3);
        int[] prompt = tok.encode("the quick brown fox jumps over the lazy dog the quick brown fox");
        assertTrue(prompt.length > 8);
        int[] out = m.generate(prompt, 4, 0, 0, 0, -1);
        int[] cropped = java.util.Arrays.copyOfRange(prompt, prompt.length - 8, prompt.length);
        assertEquals(out[0], m.generate(cropped, 1, 0, 0, 0, -1)[0]);
    }

    @Test
    void fillMaskGivesTopKPerMask() {
        LanguageModel m = model(AttentionMode.BIDIRECTIONAL, 4);
        List<LanguageModel.MaskFill> fills = m.fillMask(tok, "the [MASK] brown [MASK]", 3);
        assertEquals(2, fills.size());
        int maskId = tok.specialTokens().idOf(SpecialTokens.MASK);
        int[] ids = tok.encode("the [MASK] brown [MASK]", true);
        for (LanguageModel.MaskFill f : fills) {
            assertEquals(maskId, ids[f.position()]);
            assertEquals(3, f.candidates().size());
            double prev = 1;
            for (LanguageModel.Candidate c : f.candidates()) {
                assertTrue(c.probability() > 0 && c.probability() <= prev);
                prev = c.probability();
            }
        }
        assertThrows(IllegalStateException.class, () -> m.generate(ids, 1, 0, 0, 0, -1));
        assertThrows(IllegalStateException.class,
            () -> model(AttentionMode.CAUSAL, 5).fillMask(tok, "the [MASK]", 3));
        assertThrows(IllegalArgumentException.class, () -> m.fillMask(tok, "no mask here", 3));
    }
}
