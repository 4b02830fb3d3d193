package org.sparklm.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.sparklm.model.LanguageModel;
import org.sparklm.model.Seq2SeqModel;
import org.sparklm.model.TransformerConfig;
import org.sparklm.model.TransformerLm;
import org.sparklm.tokenizer.bpe.BpeTokenizer;
import org.sparklm.tokenizer.SpecialTokens;
import org.sparklm.train.OptimizerConfig;

/** Few-shot scoring of a prefix-LM encoder-decoder: the encoder reads the prompt and EOS, the decoder the answer. */
class Seq2SeqScorerTest {
    private static final int TE = 16;
    private static final int TD = 6;
    private static BpeTokenizer tok;
    private static LanguageModel model;
    private static int eos;
    private static int start;

    @BeforeAll
    static void setUp() {
        tok = EvalFixtures.tokenizer();
        TransformerConfig c = TransformerConfig.load("t5-tiny", Map.of("vocab_size", Integer.toString(tok.vocabSize()),
            "encoder_layers", "1", "decoder_layers", "2", "d_model", "16", "heads", "2", "d_ff", "32",
            "encoder_context_length", Integer.toString(TE), "decoder_context_length", Integer.toString(TD),
            "relative_buckets", "8", "relative_max_distance", "16"));
        ComputationGraph net = TransformerLm.create(c, new OptimizerConfig(1e-3, 1e-4, 1, 10, 0.1, 1.0, 0.9, 0.95,
            1e-8), 5);
        Nd4j.getRandom().setSeed(5);
        for (INDArray p : net.paramTable().values()) {
            p.addi(Nd4j.randn(DataType.FLOAT, p.shape()).muli(0.4));
        }
        model = new LanguageModel(c, net);
        eos = tok.specialTokens().idOf(SpecialTokens.EOS);
        start = Seq2SeqModel.startId(tok);
    }

    private static int[] ids(Random r, int n) {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = r.nextInt(tok.vocabSize());
        }
        return out;
    }

    /** The continuation's log-likelihood one decoder prefix at a time, through the model's own next-token method. */
    private static double reference(int[] seq, int from) {
        int[] enc = Arrays.copyOf(seq, from + 1);
        enc[from] = eos;
        Seq2SeqModel m = new Seq2SeqModel(model, start);
        double sum = 0;
        for (int j = from; j < seq.length; j++) {
            float[] p = m.next(enc, List.of(Arrays.copyOfRange(seq, from, j)))[0];
            sum += Math.log(p[seq[j]]);
        }
        return sum;
    }

    @Test
    void loglikelihoodsOfPairsOfDifferentLengthsInOneBatchEqualPrefixByPrefixScoring() {
        Random r = new Random(3);
        List<int[]> seqs = new ArrayList<>();
        List<Integer> froms = new ArrayList<>();
        int[][] shapes = {{5, 3}, {15, 6}, {1, 1}, {9, 2}, {12, 5}};
        for (int[] s : shapes) {
            seqs.add(ids(r, s[0] + s[1]));
            froms.add(s[0]);
        }
        Seq2SeqScorer batched = new Seq2SeqScorer(model, start, eos, 4);
        List<Double> ll = batched.loglikelihoods(seqs, froms);
        assertEquals(2, batched.forwardPasses(), "5 pairs at 4 per pass");
        for (int i = 0; i < seqs.size(); i++) {
            assertEquals(reference(seqs.get(i), froms.get(i)), ll.get(i), 1e-4, "pair " + i);
        }
        List<Double> one = new Seq2SeqScorer(model, start, eos, 1).loglikelihoods(seqs, froms);
        for (int i = 0; i < seqs.size(); i++) {
            assertEquals(one.get(i), ll.get(i), 1e-4, "padding and batching change nothing but rounding: pair " + i);
        }
    }

    @Test
    void promptsMustFitTheEncoderWithItsEosAndAnswersTheDecoder() {
        Seq2SeqScorer s = new Seq2SeqScorer(model, start, eos, 8);
        assertTrue(s.fits(TE - 1, TD));
        assertFalse(s.fits(TE, 1), "the EOS after the prompt needs a position");
        assertFalse(s.fits(3, TD + 1));
        assertThrows(IllegalArgumentException.class,
            () -> s.loglikelihoods(List.of(new int[TE + 1]), List.of(TE)));
    }

    @Test
    void greedyIsTheModelsOwnDecodingAndStopsWhenAsked() {
        Random r = new Random(8);
        int[] prompt = ids(r, 7);
        Seq2SeqScorer s = new Seq2SeqScorer(model, start, eos, 8);
        int[] enc = Arrays.copyOf(prompt, 8);
        enc[7] = eos;
        int[] expected = new Seq2SeqModel(model, start).generate(enc, TD, 0, 0, 1, -1);
        assertArrayEquals(expected, s.greedy(prompt, TD, g -> false));
        assertArrayEquals(Arrays.copyOf(expected, 2), s.greedy(prompt, TD, g -> g.length == 2));
        assertEquals(3, s.greedy(prompt, 3, g -> false).length);
    }

    @Test
    void fewShotEvaluationRunsOnTheEncoderDecoderAndCountsPromptsThatDoNotFit() {
        List<TaskExample> task = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            task.add(TaskExample.multipleChoice(i % 3 == 0 ? "the quick brown fox jumps over the lazy dog" : "fox",
                List.of("dog", "the"), i % 2));
        }
        FewShotEvaluation ev = new FewShotEvaluation(new Seq2SeqScorer(model, start, eos, 8), tok, eos, task,
            new DemoSampler(task, true, 1234), 4, line -> { }, 1e9);
        FewShotEvaluation.Result zero = ev.run(0, 0);
        int longPrompt = tok.encode("the quick brown fox jumps over the lazy dog", false).length;
        int skipped = longPrompt + 2 > TE ? 2 : 0;                     // EOS condition + prompt + EOS after it
        assertEquals(skipped, zero.skipped());
        assertEquals(6 - skipped, zero.examples());
        assertEquals(0.5, zero.chance(), 1e-12);
        FewShotEvaluation.Result two = ev.run(2, 0);
        assertTrue(two.skipped() > zero.skipped(), "two demonstrations make more prompts too long for " + TE);
    }
}
