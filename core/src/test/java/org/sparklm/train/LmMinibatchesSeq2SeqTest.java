package org.sparklm.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.sparklm.data.ShardManifest;
import org.sparklm.data.ShardWindows;
import org.sparklm.data.ShardWriter;
import org.sparklm.data.TokenDtype;
import org.sparklm.io.SerializableConf;
import org.sparklm.tokenizer.SpecialTokens;

/** The minibatches of the encoder-decoder objectives: pure functions of (seed, step, worker, index), fixed validation. */
class LmMinibatchesSeq2SeqTest {
    @TempDir
    static Path tmp;
    private static ShardManifest manifest;
    private static final Configuration CONF = new Configuration();
    private static final int W = 2;
    private static final int B = 4;

    @BeforeAll
    static void shards() throws IOException {
        List<ShardManifest.Shard> train = new ArrayList<>();
        for (int s = 0; s < 2; s++) {
            train.add(shard("train-" + s + ".bin", 3000, s));
        }
        manifest = new ShardManifest(1, "x", 3200, TokenDtype.UINT16, 3, Map.of("train", train, "val",
            List.of(shard("val-0.bin", 1500, 5))));
        try (OutputStream o = Files.newOutputStream(tmp.resolve(ShardManifest.FILE))) {
            manifest.write(o, null);
        }
    }

    private static ShardManifest.Shard shard(String name, int tokens, int salt) throws IOException {
        ShardWriter w = new ShardWriter(Files.newOutputStream(tmp.resolve(name)), TokenDtype.UINT16);
        for (int i = 0; i < tokens; i++) {
            w.write(107 + (int) (((long) i * 7919 + salt * 131) % 3000));
        }
        String sha = w.finish();
        return new ShardManifest.Shard(name, w.tokens(), 1, sha);
    }

    static Seq2SeqSpec spec(Objective o) {
        return o == Objective.SPAN ? Seq2SeqSpec.of(o, SpecialTokens.DEFAULT, 64, 24, 0.15, 3, 0, 1)
            : Seq2SeqSpec.of(o, SpecialTokens.DEFAULT, 40, 30, 0.15, 3, 0.2, 0.8);
    }

    static LmMinibatches data(Objective o, long seed) {
        return new LmMinibatches(tmp.toString(), manifest, o, 0, B, W, seed, 4, 107, new SerializableConf(CONF),
            spec(o));
    }

    static void assertSame(MultiDataSet a, MultiDataSet b) {
        assertArrays(a.getFeatures(), b.getFeatures());
        assertArrays(a.getFeaturesMaskArrays(), b.getFeaturesMaskArrays());
        assertArrays(a.getLabels(), b.getLabels());
        assertArrays(a.getLabelsMaskArrays(), b.getLabelsMaskArrays());
    }

    private static void assertArrays(INDArray[] a, INDArray[] b) {
        assertEquals(a.length, b.length);
        for (int i = 0; i < a.length; i++) {
            assertEquals(a[i], b[i]);
        }
    }

    /** Row {@code i} of a seq2seq minibatch back as an example (the unmasked positions). */
    static Seq2SeqBatches.Example example(MultiDataSet ds, int i) {
        return new Seq2SeqBatches.Example(row(ds.getFeatures(0), ds.getFeaturesMaskArray(0), i),
            row(ds.getLabels(0).reshape(ds.getLabels(0).size(0), ds.getLabels(0).size(2)), ds.getLabelsMaskArray(0),
                i));
    }

    private static int[] row(INDArray values, INDArray mask, int i) {
        float[] v = values.getRow(i).toFloatVector();
        float[] m = mask.getRow(i).toFloatVector();
        int n = 0;
        while (n < m.length && m[n] == 1) {
            n++;
        }
        int[] out = new int[n];
        for (int j = 0; j < n; j++) {
            out[j] = (int) v[j];
        }
        return out;
    }

    /** The windows worker w sees at a step, read as the minibatches read them. */
    private static List<int[]> windows(int window, long seed, long step, int w) throws IOException {
        List<int[]> out = new ArrayList<>();
        try (ShardWindows sw = ShardWindows.open(CONF, new org.apache.hadoop.fs.Path(tmp.toString()), manifest,
            "train", window, false)) {
            for (int b = 0; b < B; b++) {
                out.add(sw.window(ShardWindows.randomPosition(seed, step, 0, w * B + b, sw.positions())));
            }
        }
        return out;
    }

    @Test
    void spanMinibatchesAreAPureFunctionOfSeedStepWorkerAndIndex() throws IOException {
        LmMinibatches d = data(Objective.SPAN, 7);
        Seq2SeqSpec s = spec(Objective.SPAN);
        assertEquals(SpanCorruption.lengths(64, 0.15, 3).window(), d.window());
        List<MultiDataSet> got = d.minibatches(1, 3, 2);
        assertEquals(2, got.size());
        Set<String> masks = new HashSet<>();
        for (int h = 0; h < 2; h++) {
            long step = 3 + h;
            MultiDataSet ds = got.get(h);
            assertArrayEquals(new long[] {B, 64}, ds.getFeatures(0).shape());
            assertArrayEquals(new long[] {B, 24}, ds.getFeatures(1).shape());
            assertArrayEquals(new long[] {B, 1, 24}, ds.getLabels(0).shape());
            List<int[]> windows = windows(d.window(), 7, step, 1);
            List<Seq2SeqBatches.Example> expected = new ArrayList<>();
            for (int b = 0; b < B; b++) {
                expected.add(s.example(windows.get(b), Seq2SeqSpec.rng(7, (step * W + 1) * B + b)));
                Seq2SeqBatches.Example e = example(ds, b);
                assertEquals(expected.get(b), e);
                assertArrayEquals(windows.get(b), SpanCorruptionTest.restore(e), "the spans restore the window");
                masks.add(noisePattern(e));
            }
            assertSame(s.batch(expected), ds);
        }
        assertEquals(2 * B, masks.size(), "a mask drawn afresh for every draw");
        // a step's minibatch does not depend on where the requested range starts, nor on the object
        assertSame(got.get(1), data(Objective.SPAN, 7).minibatches(1, 4, 1).get(0));
        // other steps, workers and seeds see other data
        assertNotEquals(got.get(0).getFeatures(0), got.get(1).getFeatures(0));
        assertNotEquals(got.get(0).getFeatures(0), d.minibatches(0, 3, 1).get(0).getFeatures(0));
        assertNotEquals(got.get(0).getFeatures(0), data(Objective.SPAN, 8).minibatches(1, 3, 1).get(0).getFeatures(0));
        assertEquals((long) W * B * d.window(), d.tokensPerStep());
    }

    /** Where an example's noise was: the input's tokens (k = kept, sentinel = the length of its span). */
    private static String noisePattern(Seq2SeqBatches.Example e) {
        StringBuilder sb = new StringBuilder();
        List<int[]> spans = SpanCorruptionTest.targetSpans(e.target());
        for (int t : e.input()) {
            int s = SpanCorruptionTest.sentinelIndex(t);
            sb.append(s >= 0 ? Integer.toString(spans.get(s).length) : "k").append(',');
        }
        return sb.toString();
    }

    @Test
    void aStepsGlobalBatchDoesNotDependOnHowItIsSplitOverWorkers() throws IOException {
        SerializableConf c = new SerializableConf(CONF);
        for (Objective o : new Objective[] {Objective.CLM, Objective.SPAN}) {
            Seq2SeqSpec spec = o == Objective.CLM ? null : spec(o);
            int context = o == Objective.CLM ? 32 : 0;
            LmMinibatches one = new LmMinibatches(tmp.toString(), manifest, o, context, W * B, 1, 7, 4, 107, c, spec);
            LmMinibatches two = new LmMinibatches(tmp.toString(), manifest, o, context, B, W, 7, 4, 107, c, spec);
            for (long step : new long[] {0, 5}) {
                MultiDataSet whole = one.minibatches(0, step, 1).get(0);
                List<MultiDataSet> parts = new ArrayList<>();
                for (int w = 0; w < W; w++) {
                    parts.add(two.minibatches(w, step, 1).get(0));
                }
                INDArray joined = Nd4j.concat(0, parts.get(0).getFeatures(0), parts.get(1).getFeatures(0));
                assertEquals(whole.getFeatures(0), joined, o + " step " + step + ": one worker of 2B against two of B");
                assertNotEquals(parts.get(0).getFeatures(0), parts.get(1).getFeatures(0), "the workers' halves differ");
            }
        }
    }

    @Test
    void validationUsesAFixedCorruptionWhateverTheRunSeed() throws IOException {
        for (Objective o : new Objective[] {Objective.SPAN, Objective.PREFIX_LM}) {
            LmMinibatches d = data(o, 7);
            List<MultiDataSet> a = d.evaluationBatches("val", 10);
            List<MultiDataSet> b = data(o, 12345).evaluationBatches("val", 10);
            assertEquals(3, a.size(), "10 windows in batches of 4");
            assertEquals(2, a.get(2).getFeatures(0).size(0));
            for (int i = 0; i < a.size(); i++) {
                assertSame(a.get(i), b.get(i));
                assertSame(a.get(i), d.evaluationBatches("val", 10).get(i));
            }
            // the consecutive windows of the split, corrupted or split
            List<int[]> windows = new ArrayList<>();
            try (ShardWindows sw = ShardWindows.open(CONF, new org.apache.hadoop.fs.Path(tmp.toString()), manifest,
                "val", d.window(), false)) {
                sw.sequential(10).forEachRemaining(windows::add);
            }
            for (int i = 0; i < 10; i++) {
                Seq2SeqBatches.Example e = example(a.get(i / B), i % B);
                int[] restored = o == Objective.SPAN ? SpanCorruptionTest.restore(e) : concat(e);
                assertArrayEquals(windows.get(i), restored, o.key() + " window " + i);
            }
        }
    }

    private static int[] concat(Seq2SeqBatches.Example e) {
        int[] in = e.input();
        int[] out = e.target();
        int[] w = Arrays.copyOf(in, in.length - 1 + out.length - 1);
        System.arraycopy(out, 0, w, in.length - 1, out.length - 1);
        return w;
    }

    @Test
    void prefixLmMinibatchesSplitInTheRange() throws IOException {
        LmMinibatches d = data(Objective.PREFIX_LM, 7);
        Seq2SeqSpec s = spec(Objective.PREFIX_LM);
        assertEquals(PrefixLm.windowLength(40, 30, 0.2, 0.8), d.window());
        int[] range = PrefixLm.splitRange(d.window(), 0.2, 0.8);
        MultiDataSet ds = d.minibatches(0, 5, 1).get(0);
        assertArrayEquals(new long[] {B, 40}, ds.getFeatures(0).shape());
        assertArrayEquals(new long[] {B, 30}, ds.getFeatures(1).shape());
        List<int[]> windows = windows(d.window(), 7, 5, 0);
        for (int b = 0; b < B; b++) {
            Seq2SeqBatches.Example e = example(ds, b);
            int k = e.input().length - 1;
            assertTrue(k >= range[0] && k <= range[1], "prefix " + k);
            assertArrayEquals(windows.get(b), concat(e));
            assertEquals(s.example(windows.get(b), Seq2SeqSpec.rng(7, (5L * W) * B + b)), e);
        }
    }

    @Test
    void theSpecMustMatchTheObjective() {
        SerializableConf c = new SerializableConf(CONF);
        assertThrows(IllegalArgumentException.class, () -> new LmMinibatches(tmp.toString(), manifest, Objective.SPAN,
            64, B, W, 7, 4, 107, c));
        assertThrows(IllegalArgumentException.class, () -> new LmMinibatches(tmp.toString(), manifest, Objective.CLM,
            64, B, W, 7, 4, 107, c, spec(Objective.SPAN)));
        assertThrows(IllegalArgumentException.class, () -> new LmMinibatches(tmp.toString(), manifest,
            Objective.PREFIX_LM, 64, B, W, 7, 4, 107, c, spec(Objective.SPAN)));
        assertEquals("prefix-lm", Objective.PREFIX_LM.key());
        assertEquals(Objective.PREFIX_LM, Objective.parse("prefix-lm"));
        assertEquals(Objective.SPAN, Objective.parse("SPAN"));
        assertTrue(Objective.SPAN.isSeq2Seq() && Objective.PREFIX_LM.isSeq2Seq());
        assertTrue(!Objective.CLM.isSeq2Seq() && !Objective.MLM.isSeq2Seq());
    }
}
