package org.sparklm.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.sparklm.model.dl4j.OutputLayers;
import org.sparklm.model.dl4j.RelativePositions;
import org.sparklm.model.dl4j.Seq2SeqInputs;
import org.sparklm.train.OptimizerConfig;

/**
 * The encoder-decoder (T5) model: gradient checks of the whole model in double precision (cross-attention, the
 * relative position tables shared by each stack's layers, the shared and tied embedding), T5's buckets, a causal
 * decoder and a bidirectional encoder that ignores padding, memorising a batch, and save/load.
 */
class EncoderDecoderTest {

    private static final double EPS = 1e-6;
    private static final double MAX_RELATIVE = 1e-5;
    private static final double MIN_ABSOLUTE = 1e-8;
    private static final int PER_ARRAY = 4;

    private static int[] savedThreads;

    @BeforeAll
    static void threads() {
        savedThreads = ModelTestSupport.singleThread();
    }

    @AfterAll
    static void restore() {
        ModelTestSupport.restoreThreads(savedThreads);
    }

    /** A seq2seq batch in the contract's layout: encoder ids with lengths, decoder input = [start, target...]. */
    static MultiDataSet batch(int[][] enc, int[] encLen, int[][] target, int[] targetLen, int te, int td,
                              DataType type) {
        int b = enc.length;
        double[][] e = new double[b][te];
        double[][] em = new double[b][te];
        double[][] d = new double[b][td];
        double[][] dm = new double[b][td];
        double[][] l = new double[b][td];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < encLen[i]; j++) {
                e[i][j] = enc[i][j];
                em[i][j] = 1;
            }
            for (int j = 0; j < targetLen[i]; j++) {
                d[i][j] = j == 0 ? 0 : target[i][j - 1];
                dm[i][j] = 1;
                l[i][j] = target[i][j];
            }
        }
        INDArray labels = Nd4j.createFromArray(l).castTo(type).reshape(b, 1, td);
        return new org.nd4j.linalg.dataset.MultiDataSet(
            new INDArray[] {Nd4j.createFromArray(e).castTo(type), Nd4j.createFromArray(d).castTo(type)},
            new INDArray[] {labels},
            new INDArray[] {Nd4j.createFromArray(em).castTo(type), Nd4j.createFromArray(dm).castTo(type)},
            new INDArray[] {Nd4j.createFromArray(dm).castTo(type)});
    }

    static MultiDataSet randomBatch(int b, int te, int td, int vocab, long seed, boolean pad, DataType type) {
        Random r = new Random(seed);
        int[][] enc = new int[b][te];
        int[][] tgt = new int[b][td];
        int[] el = new int[b];
        int[] tl = new int[b];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < te; j++) {
                enc[i][j] = 1 + r.nextInt(vocab - 1);
            }
            for (int j = 0; j < td; j++) {
                tgt[i][j] = 1 + r.nextInt(vocab - 1);
            }
            el[i] = pad && i % 2 == 1 ? te - 2 : te;
            tl[i] = pad && i % 2 == 1 ? td - 1 : td;
        }
        return batch(enc, el, tgt, tl, te, td, type);
    }

    static TransformerConfig config(int vocab, int d, int heads, int enc, int dec, int te, int td, boolean tied) {
        return TransformerConfig.encoderDecoder(vocab, d, heads, 2 * d, enc, dec, te, td, tied, 8, 12);
    }

    // ---------------------------------------------------------------- gradients

    private static List<String> gradientCheck(TransformerConfig c, MultiDataSet ds, INDArray labelWeights) {
        DataType saved = Nd4j.dataType();
        DataType savedFloat = Nd4j.defaultFloatingPointType();
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
        try {
            ComputationGraph net = ModelTestSupport.network(c, new NoOp(), 7, DataType.DOUBLE);
            net.params().muli(10);
            MultiDataSet in = labelWeights == null ? ds : new org.nd4j.linalg.dataset.MultiDataSet(ds.getFeatures(),
                ds.getLabels(), ds.getFeaturesMaskArrays(), new INDArray[] {labelWeights});
            net.setInputs(in.getFeatures());
            net.setLabels(in.getLabels());
            net.setLayerMaskArrays(in.getFeaturesMaskArrays(), in.getLabelsMaskArrays());
            net.computeGradientAndScore();
            Map<String, INDArray> analytic = new LinkedHashMap<>();
            net.gradient().gradientForVariable().forEach((k, v) -> analytic.put(k, v.dup()));
            List<String> failures = new ArrayList<>();
            int checked = 0;
            int nonZero = 0;
            for (Map.Entry<String, INDArray> e : net.paramTable().entrySet()) {
                INDArray p = e.getValue().reshape(e.getValue().length());
                INDArray g = analytic.get(e.getKey()).reshape(p.length());
                long n = p.length();
                long step = Math.max(1, n / PER_ARRAY);
                for (long i = 0; i < n; i += step) {
                    double orig = p.getDouble(i);
                    p.putScalar(i, orig + EPS);
                    double plus = net.score(in, true);
                    p.putScalar(i, orig - EPS);
                    double minus = net.score(in, true);
                    p.putScalar(i, orig);
                    double numeric = (plus - minus) / (2 * EPS);
                    double a = g.getDouble(i);
                    double abs = Math.abs(a - numeric);
                    double rel = abs / Math.max(Math.abs(a), Math.abs(numeric));
                    if (abs > MIN_ABSOLUTE && rel > MAX_RELATIVE) {
                        failures.add(e.getKey() + "[" + i + "]: backprop " + a + ", numeric " + numeric);
                    }
                    if (Math.abs(numeric) > 1e-6) {
                        nonZero++;
                    }
                    checked++;
                }
            }
            assertTrue(checked > 100, "checked " + checked);
            assertTrue(nonZero > checked / 2, "most checked gradients are non-zero: " + nonZero + " of " + checked);
            return failures;
        } finally {
            Nd4j.setDefaultDataTypes(saved, savedFloat);
        }
    }

    @Test
    void gradientsOfTiedModelWithPaddingAndTwoLayersPerStack() {
        TransformerConfig c = config(13, 8, 2, 2, 2, 6, 5, true);
        List<String> f = gradientCheck(c, randomBatch(2, 6, 5, 13, 1, true, DataType.DOUBLE), null);
        assertTrue(f.isEmpty(), f.toString());
    }

    @Test
    void gradientsOfUntiedModelWithWeightedLabelMask() {
        TransformerConfig c = config(11, 8, 2, 1, 1, 7, 4, false);
        INDArray w = Nd4j.createFromArray(new double[][] {{1, 0, 2, 0.5}, {0, 3, 1, 1}});
        List<String> f = gradientCheck(c, randomBatch(2, 7, 4, 11, 2, false, DataType.DOUBLE), w);
        assertTrue(f.isEmpty(), f.toString());
    }

    // ---------------------------------------------------------------- positions

    @Test
    void relativeBucketsFollowT5() {
        // bidirectional, 32 buckets, max distance 128: 16 per direction, 8 exact, keys after the query from 16
        assertEquals(0, RelativePositions.bucket(0, true, 32, 128));
        assertEquals(1, RelativePositions.bucket(-1, true, 32, 128));
        assertEquals(17, RelativePositions.bucket(1, true, 32, 128));
        assertEquals(7, RelativePositions.bucket(-7, true, 32, 128));
        assertEquals(8, RelativePositions.bucket(-8, true, 32, 128));
        assertEquals(9, RelativePositions.bucket(-15, true, 32, 128));        // 8 + floor(8 ln(15/8) / ln 16)
        assertEquals(15, RelativePositions.bucket(-127, true, 32, 128));
        assertEquals(15, RelativePositions.bucket(-1000, true, 32, 128));
        assertEquals(31, RelativePositions.bucket(1000, true, 32, 128));
        // causal: keys after the query share bucket 0; 32 buckets for the past, 16 exact
        assertEquals(0, RelativePositions.bucket(5, false, 32, 128));
        assertEquals(3, RelativePositions.bucket(-3, false, 32, 128));
        assertEquals(16, RelativePositions.bucket(-16, false, 32, 128));
        assertEquals(23, RelativePositions.bucket(-45, false, 32, 128));      // 16 + floor(16 ln(45/16) / ln 8)
        assertEquals(31, RelativePositions.bucket(-500, false, 32, 128));
    }

    // ---------------------------------------------------------------- what each position sees

    private static float[][] decoderOutputs(ComputationGraph net, MultiDataSet ds) {
        INDArray p = net.output(false, ds.getFeatures(), ds.getFeaturesMaskArrays())[0];     // [B, Td, V]
        return new float[][] {p.get(org.nd4j.linalg.indexing.NDArrayIndex.point(0)).dup('c').reshape(-1)
            .toFloatVector()};
    }

    private static float[] row(ComputationGraph net, MultiDataSet ds, int position) {
        INDArray p = net.output(false, ds.getFeatures(), ds.getFeaturesMaskArrays())[0];
        return p.get(org.nd4j.linalg.indexing.NDArrayIndex.point(0), org.nd4j.linalg.indexing.NDArrayIndex.point(
            position)).dup().toFloatVector();
    }

    private static MultiDataSet withDecoderToken(MultiDataSet ds, int position, int id) {
        INDArray dec = ds.getFeatures(1).dup();
        dec.putScalar(0, position, id);
        return new org.nd4j.linalg.dataset.MultiDataSet(new INDArray[] {ds.getFeatures(0), dec}, ds.getLabels(),
            ds.getFeaturesMaskArrays(), ds.getLabelsMaskArrays());
    }

    private static MultiDataSet withEncoderToken(MultiDataSet ds, int position, int id) {
        INDArray enc = ds.getFeatures(0).dup();
        enc.putScalar(0, position, id);
        return new org.nd4j.linalg.dataset.MultiDataSet(new INDArray[] {enc, ds.getFeatures(1)}, ds.getLabels(),
            ds.getFeaturesMaskArrays(), ds.getLabelsMaskArrays());
    }

    private static INDArray encoderStates(ComputationGraph net, MultiDataSet ds) {
        INDArray packed = Seq2SeqInputs.pack(ds.getFeatures(0), ds.getFeatures(1), ds.getFeaturesMaskArray(0),
            ds.getFeaturesMaskArray(1)).castTo(DataType.FLOAT);
        return OutputLayers.encoderStates(net.getLayer(TransformerLm.HEAD), packed).dup();
    }

    @Test
    void decoderIsCausalEncoderSeesBothSidesAndPaddingIsIgnored() {
        TransformerConfig c = config(30, 16, 2, 2, 2, 8, 6, true);
        ComputationGraph net = TransformerLm.create(c, OptimizerConfig.defaults(10), 4);
        MultiDataSet ds = randomBatch(2, 8, 6, 30, 3, false, DataType.FLOAT);

        // decoder: changing input token t+1 changes no output at positions <= t, and changes t+1
        for (int t = 0; t < 5; t++) {
            MultiDataSet changed = withDecoderToken(ds, t + 1, (ds.getFeatures(1).getInt(0, t + 1) + 7) % 30);
            for (int s = 0; s <= t; s++) {
                assertArrayEquals(row(net, ds, s), row(net, changed, s), "position " + s + " sees token " + (t + 1));
            }
            assertFalse(java.util.Arrays.equals(row(net, ds, t + 1), row(net, changed, t + 1)),
                "position " + (t + 1) + " sees its own input");
        }

        // encoder: changing its last token changes the encoder's state at position 0, and the first changes the last
        INDArray base = encoderStates(net, ds);
        INDArray last = encoderStates(net, withEncoderToken(ds, 7, (ds.getFeatures(0).getInt(0, 7) + 5) % 30));
        INDArray first = encoderStates(net, withEncoderToken(ds, 0, (ds.getFeatures(0).getInt(0, 0) + 5) % 30));
        int d = 16;
        assertFalse(base.get(org.nd4j.linalg.indexing.NDArrayIndex.point(0)).equalsWithEps(
            last.get(org.nd4j.linalg.indexing.NDArrayIndex.point(0)), 1e-7), "position 0 sees the last token");
        assertFalse(base.get(org.nd4j.linalg.indexing.NDArrayIndex.point(7)).equalsWithEps(
            first.get(org.nd4j.linalg.indexing.NDArrayIndex.point(7)), 1e-7), "position 7 sees the first token");
        assertEquals(2 * 8, base.size(0));
        assertEquals(d, base.size(1));

        // padding: the last two encoder positions of example 0 are padding; their ids change nothing
        INDArray mask = ds.getFeaturesMaskArray(0).dup();
        mask.putScalar(0, 6, 0);
        mask.putScalar(0, 7, 0);
        MultiDataSet padded = new org.nd4j.linalg.dataset.MultiDataSet(ds.getFeatures(), ds.getLabels(),
            new INDArray[] {mask, ds.getFeaturesMaskArray(1)}, ds.getLabelsMaskArrays());
        MultiDataSet other = withEncoderToken(withEncoderToken(padded, 6, 1), 7, 2);
        other = new org.nd4j.linalg.dataset.MultiDataSet(other.getFeatures(), ds.getLabels(),
            new INDArray[] {mask, ds.getFeaturesMaskArray(1)}, ds.getLabelsMaskArrays());
        assertArrayEquals(decoderOutputs(net, padded)[0], decoderOutputs(net, other)[0], "padding is ignored");
        assertFalse(java.util.Arrays.equals(decoderOutputs(net, ds)[0], decoderOutputs(net, padded)[0]),
            "the mask matters");
        INDArray ep = encoderStates(net, padded);
        INDArray eo = encoderStates(net, other);
        for (int j = 0; j < 6; j++) {
            assertEquals(ep.getRow(j), eo.getRow(j), "real encoder position " + j);
        }
    }

    // ---------------------------------------------------------------- training, checkpoints

    @Test
    void t5TinyMemorisesABatch() {
        // the t5-tiny config (its vocabulary an override), on inputs and targets shorter than its contexts
        TransformerConfig c = TransformerConfig.load("t5-tiny", Map.of("vocab_size", "40"));
        OptimizerConfig opt = new OptimizerConfig(1e-2, 1e-3, 10, 80, 0.01, 1.0, 0.9, 0.95, 1e-8);
        ComputationGraph net = TransformerLm.create(c, opt, 3);
        MultiDataSet ds = randomBatch(4, 12, 8, 40, 5, true, DataType.FLOAT);
        double first = Double.NaN;
        for (int i = 0; i < 80; i++) {
            net.fit(ds);
            if (i == 0) {
                first = TransformerLm.lastLoss(net);
            }
        }
        double last = TransformerLm.lastLoss(net);
        assertTrue(Math.abs(first - Math.log(40)) < 0.5, "starts near ln(vocab) = 3.69: " + first);
        // 80 steps: after 50 the loss was below 0.05 on an AMD EPYC and 0.075 on an Intel Xeon (float kernels differ)
        assertTrue(last < 0.05, "loss after 80 steps: " + last);
    }

    @Test
    void saveLoadGivesIdenticalOutputsAndConfig() throws Exception {
        TransformerConfig c = config(30, 16, 2, 1, 2, 8, 6, false);
        ComputationGraph net = TransformerLm.create(c, OptimizerConfig.defaults(100), 5);
        MultiDataSet ds = randomBatch(3, 8, 6, 30, 8, true, DataType.FLOAT);
        for (int i = 0; i < 3; i++) {
            net.fit(ds);
        }
        ComputationGraphConfiguration conf = net.getConfiguration();
        assertEquals(conf, ComputationGraphConfiguration.fromJson(conf.toJson()));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        TransformerLm.write(net, out, true);
        ComputationGraph back = TransformerLm.read(new ByteArrayInputStream(out.toByteArray()), true);
        assertEquals(net.params(), back.params());
        assertEquals(net.getUpdater().getStateViewArray(), back.getUpdater().getStateViewArray());
        assertEquals(net.output(false, ds.getFeatures(), ds.getFeaturesMaskArrays())[0],
            back.output(false, ds.getFeatures(), ds.getFeaturesMaskArrays())[0]);
        net.fit(ds);
        back.fit(ds);
        assertEquals(net.params(), back.params(), "training continues identically");
        assertEquals(c, TransformerConfig.fromJson(c.toJson()));
    }

    @Test
    void namedConfigsAndKeys() throws Exception {
        TransformerConfig t = TransformerConfig.load("t5-tiny", Map.of("vocab_size", "8000"));
        assertTrue(t.isEncoderDecoder() && t.tiedEmbeddings());
        assertEquals(64, t.encoderContext());
        assertEquals(32, t.decoderContext());
        assertEquals(4, t.layers());
        assertEquals(t, TransformerConfig.fromJson(t.toJson()));
        // inside other records (a run's "model") Jackson writes the file keys; a decoder-only model the eight
        var node = org.sparklm.io.Json.MAPPER.valueToTree(t);
        assertTrue(node.has("encoder_context_length") && node.has("tied_embeddings") && !node.has("encoder_decoder"),
            node.toString());
        assertEquals(t, org.sparklm.io.Json.MAPPER.treeToValue(node, TransformerConfig.class));
        TransformerConfig gpt = TransformerConfig.load("tiny", Map.of("vocab_size", "100"));
        assertEquals(TransformerConfig.KEYS.subList(0, 8), iterableToList(
            org.sparklm.io.Json.MAPPER.valueToTree(gpt).fieldNames()));
        ComputationGraph net = TransformerLm.create(t.withVocabSize(500), OptimizerConfig.defaults(10), 1);
        assertEquals(t.withVocabSize(500).parameterCount(), net.numParams());
        TransformerConfig u = config(50, 16, 2, 1, 2, 8, 6, false);
        assertEquals(u.parameterCount(), TransformerLm.create(u, OptimizerConfig.defaults(10), 1).numParams());
        TransformerConfig s = TransformerConfig.load("t5-small", Map.of("vocab_size", "8000"));
        assertTrue(s.parameterCount() > 8_000_000 && s.parameterCount() < 11_000_000, "" + s.parameterCount());

        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
            () -> TransformerConfig.parse("vocab_size = 10\nlayers = 2\nd_model = 8\nheads = 2\n"
                + "context_length = 4\nencoder_layers = 2", "x.conf", Map.of()));
        assertTrue(e.getMessage().contains("encoder_layers") && e.getMessage().contains("encoder-decoder"),
            e.getMessage());
        e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
            () -> TransformerConfig.parse("architecture = encoder-decoder\nvocab_size = 10\nd_model = 8\nheads = 2\n"
                + "encoder_layers = 1\ndecoder_layers = 1\nencoder_context_length = 4\n"
                + "decoder_context_length = 4\ndropout = 0.1", "y.conf", Map.of()));
        assertTrue(e.getMessage().contains("y.conf") && e.getMessage().contains("dropout"), e.getMessage());
    }

    private static List<String> iterableToList(java.util.Iterator<String> it) {
        List<String> out = new ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }
}
