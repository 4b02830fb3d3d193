package org.sparklm.finetune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.sparklm.finetune.FinetuneConfig.Method;
import org.sparklm.finetune.FinetuneConfig.Pooling;
import org.sparklm.model.AttentionMode;
import org.sparklm.model.TrainableParams;
import org.sparklm.model.TransformerConfig;
import org.sparklm.model.TransformerLm;
import org.sparklm.model.dl4j.TransformerLayerConf;
import org.sparklm.train.Objective;
import org.sparklm.train.OptimizerConfig;

/**
 * The classifier and the fine-tuning methods: gradient checks in double precision of every method and pooling (the
 * LoRA and prefix paths included, with dropout), LoRA starting exactly at the pretrained model, merged LoRA agreeing
 * with the adapters, trainable-parameter counts against their formulas, frozen parameters bitwise unchanged by
 * training and without optimizer state, and a prefix visible to every position while attention stays causal.
 */
class ClassifierModelTest {

    private static final double EPS = 1e-6;
    private static final double MAX_RELATIVE = 1e-5;
    private static final double MIN_ABSOLUTE = 1e-8;
    private static DataType savedType;
    private static DataType savedFloatType;

    @BeforeAll
    static void doublePrecision() {
        savedType = Nd4j.dataType();
        savedFloatType = Nd4j.defaultFloatingPointType();
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    }

    @AfterAll
    static void restore() {
        Nd4j.setDefaultDataTypes(savedType, savedFloatType);
    }

    static final TransformerConfig MODEL = new TransformerConfig(13, 2, 8, 2, 16, 6, 0.0, AttentionMode.CAUSAL);

    static FinetuneRun run(Method method, Pooling pooling, Objective base, int rank, List<String> targets,
                           int prefix, int projection, double loraDropout, double headDropout, double dropout) {
        return new FinetuneRun("base", "ab".repeat(32), "cd".repeat(32), base, MODEL.withDropout(dropout), method,
            rank, 16, loraDropout, targets, prefix, projection, pooling, List.of("a", "b", "c"), 6,
            FinetuneConfig.Init.PRETRAINED, 1, 4, 1, 1, 8, 2, 10, 1e-3, 1e-4, 1, 0.1, 1.0, headDropout, 7, "local");
    }

    static FinetuneRun full(Pooling p, Objective base) {
        return run(Method.FULL, p, base, 0, List.of(), 0, 0, 0, 0, 0);
    }

    /** A batch of variable-length examples (padding and a token mask), framed as the encoder would. */
    static MultiDataSet batch(long seed, boolean cls) {
        SplittableRandom r = new SplittableRandom(seed);
        List<ExampleSet.Encoded> ex = new ArrayList<>();
        int[] lengths = {6, 3, 5, 1};
        for (int i = 0; i < lengths.length; i++) {
            int[] t = new int[lengths[i]];
            for (int j = 0; j < t.length; j++) {
                t[j] = 2 + r.nextInt(11);
            }
            if (cls) {
                t[0] = 1;
            }
            ex.add(new ExampleSet.Encoded(t, i % 3));
        }
        MultiDataSet b = ClassBatches.of(new ExampleSet(ex), new int[] {0, 1, 2, 3}, 0);
        return new org.nd4j.linalg.dataset.MultiDataSet(new INDArray[] {b.getFeatures(0).castTo(DataType.DOUBLE)},
            new INDArray[] {b.getLabels(0).castTo(DataType.DOUBLE)},
            new INDArray[] {b.getFeaturesMaskArray(0).castTo(DataType.DOUBLE)},
            new INDArray[] {b.getLabelsMaskArray(0).castTo(DataType.DOUBLE)});
    }

    static ComputationGraph net(FinetuneRun run, org.nd4j.linalg.learning.config.IUpdater updater) {
        ComputationGraph net = new ComputationGraph(ClassifierModel.configuration(run, updater, DataType.DOUBLE));
        net.init();
        return net;
    }

    private static boolean frozen(ComputationGraph net, String layer, String key) {
        var c = net.getLayer(layer).conf().getLayer();
        return c instanceof TransformerLayerConf t && t.isFrozen(key);
    }

    /** Central differences against the backward pass, reseeding ND4J's RNG so every evaluation draws the same masks. */
    static List<String> check(FinetuneRun run, MultiDataSet ds) {
        ComputationGraph net = net(run, new NoOp());
        Nd4j.getRandom().setSeed(3);
        net.params().assign(Nd4j.randn(DataType.DOUBLE, net.params().shape()).muli(0.5));   // LoRA's B non-zero too
        for (Layer l : net.getLayers()) {   // LayerNorm gains near one
            l.paramTable().forEach((k, v) -> {
                if (k.endsWith("g") && k.startsWith("ln")) {
                    v.addi(1);
                }
            });
        }
        net.setInputs(ds.getFeatures());
        net.setLabels(ds.getLabels());
        net.setLayerMaskArrays(ds.getFeaturesMaskArrays(), ds.getLabelsMaskArrays());
        Nd4j.getRandom().setSeed(11);
        net.computeGradientAndScore();
        Map<String, INDArray> analytic = new LinkedHashMap<>();
        net.gradient().gradientForVariable().forEach((k, v) -> analytic.put(k, v.dup()));
        List<String> failures = new ArrayList<>();
        int checked = 0;
        for (Map.Entry<String, INDArray> e : net.paramTable().entrySet()) {
            String layer = e.getKey().substring(0, e.getKey().indexOf('_'));
            String key = e.getKey().substring(e.getKey().indexOf('_') + 1);
            INDArray p = e.getValue().reshape(e.getValue().length());
            INDArray g = analytic.get(e.getKey()).reshape(p.length());
            if (frozen(net, layer, key)) {
                if (g.amaxNumber().doubleValue() != 0) {
                    failures.add(e.getKey() + " is frozen but has a gradient");
                }
                continue;
            }
            long step = Math.max(1, p.length() / 5);
            for (long i = 0; i < p.length(); i += step) {
                double orig = p.getDouble(i);
                p.putScalar(i, orig + EPS);
                Nd4j.getRandom().setSeed(11);
                double plus = net.score(ds, true);
                p.putScalar(i, orig - EPS);
                Nd4j.getRandom().setSeed(11);
                double minus = net.score(ds, true);
                p.putScalar(i, orig);
                double numeric = (plus - minus) / (2 * EPS);
                double a = g.getDouble(i);
                double abs = Math.abs(a - numeric);
                double rel = abs / Math.max(Math.abs(a), Math.abs(numeric));
                if (abs > MIN_ABSOLUTE && rel > MAX_RELATIVE) {
                    failures.add(e.getKey() + "[" + i + "]: backprop " + a + ", numeric " + numeric);
                }
                checked++;
            }
        }
        assertTrue(checked >= 8, "checked " + checked);
        return failures;
    }

    @Test
    void gradientsOfEveryPoolingWithFullFineTuning() {
        // mean pooling is checked with the adapters below
        List<String> f = check(run(Method.FULL, Pooling.LAST, Objective.CLM, 0, List.of(), 0, 0, 0, 0.2, 0.1),
            batch(1, false));
        assertTrue(f.isEmpty(), "last, causal, dropout: " + f);
        f = check(full(Pooling.FIRST, Objective.MLM), batch(2, true));
        assertTrue(f.isEmpty(), "first, bidirectional, [CLS]: " + f);
    }

    @Test
    void gradientsOfLoraOnEveryTargetWithDropout() {
        List<String> f = check(run(Method.LORA, Pooling.MEAN, Objective.CLM, 2, List.of("q", "k", "v", "o", "mlp"),
            0, 0, 0.25, 0, 0), batch(3, false));
        assertTrue(f.isEmpty(), f.toString());
        f = check(run(Method.LORA, Pooling.LAST, Objective.MLM, 3, List.of("q", "v"), 0, 0, 0, 0, 0.1),
            batch(4, false));
        assertTrue(f.isEmpty(), "q, v: " + f);
    }

    @Test
    void gradientsOfPrefixesDirectAndReparameterised() {
        List<String> f = check(run(Method.PREFIX, Pooling.LAST, Objective.CLM, 0, List.of(), 3, 0, 0, 0, 0),
            batch(5, false));
        assertTrue(f.isEmpty(), "direct: " + f);
        f = check(run(Method.PREFIX, Pooling.MEAN, Objective.MLM, 0, List.of(), 2, 5, 0, 0, 0.1), batch(6, false));
        assertTrue(f.isEmpty(), "projection: " + f);
    }

    @Test
    void aLinearProbeStopsTheBackwardPassAtTheHead() {
        List<String> f = check(run(Method.HEAD, Pooling.MEAN, Objective.CLM, 0, List.of(), 0, 0, 0, 0.1, 0),
            batch(7, false));
        assertTrue(f.isEmpty(), f.toString());
    }

    private static INDArray out(ComputationGraph net, MultiDataSet ds) {
        return net.output(false, ds.getFeatures(), ds.getFeaturesMaskArrays())[0];
    }

    @Test
    void loraStartsAsThePretrainedModelAndMergesIntoIt() {
        MultiDataSet ds = batch(8, false);
        FinetuneRun lora = run(Method.LORA, Pooling.MEAN, Objective.CLM, 4, List.of("q", "v", "o", "mlp"), 0, 0, 0,
            0, 0);
        ComputationGraph adapted = net(lora, new NoOp());
        ComputationGraph plain = net(full(Pooling.MEAN, Objective.CLM), new NoOp());
        ClassifierModel.transfer(copyAsLm(plain), adapted);                 // the same pretrained body
        adapted.getLayer(ClassifierModel.HEAD).paramTable().forEach((k, v) ->
            v.assign(plain.getLayer(ClassifierModel.HEAD).paramTable().get(k)));
        assertEquals(out(plain, ds), out(adapted, ds), "B = 0: the adapted model computes the pretrained one");

        // train the adapters a little (B no longer zero), then merge: same predictions, standalone
        Nd4j.getRandom().setSeed(1);
        for (Layer l : adapted.getLayers()) {
            l.paramTable().forEach((k, v) -> {
                if (k.startsWith("lora")) {
                    v.assign(Nd4j.randn(DataType.DOUBLE, v.shape()).muli(0.3));
                }
            });
        }
        assertTrue(!out(plain, ds).equalsWithEps(out(adapted, ds), 1e-6), "the adapters change nothing");
        ClassifierModel.Merged merged = ClassifierModel.mergeLora(lora, adapted);
        assertEquals(Method.FULL, merged.run().method());
        assertTrue(out(adapted, ds).equalsWithEps(out(merged.net(), ds), 1e-10), "merged and unmerged LoRA differ");
        assertEquals(plain.numParams(), merged.net().numParams());
    }

    @Test
    void aPrefixMlpIsDroppedWithoutChangingPredictions() {
        MultiDataSet ds = batch(10, false);
        FinetuneRun r = run(Method.PREFIX, Pooling.MEAN, Objective.CLM, 0, List.of(), 3, 6, 0, 0, 0);
        ComputationGraph net = net(r, new NoOp());
        Nd4j.getRandom().setSeed(4);
        net.params().addi(Nd4j.randn(DataType.DOUBLE, net.params().shape()).muli(0.1));
        ClassifierModel.Merged direct = ClassifierModel.dropPrefixProjection(r, net);
        assertEquals(0, direct.run().prefixProjection());
        assertTrue(out(net, ds).equalsWithEps(out(direct.net(), ds), 1e-10), "the folded prefix predicts otherwise");
        assertEquals(2 * MODEL.layers() * 3 * MODEL.dModel() + MODEL.dModel() * 3 + 3,
            TrainableParams.of(direct.net()).count(), "after training: 2 L P d prefix parameters plus the head");
    }

    /** A language model holding the classifier's body (to transfer it like a pretrained one). */
    private static ComputationGraph copyAsLm(ComputationGraph classifier) {
        ComputationGraph lm = new ComputationGraph(TransformerLm.configuration(MODEL, new NoOp(), 0,
            org.deeplearning4j.nn.conf.GradientNormalization.None, 0, 1, DataType.DOUBLE));
        lm.init();
        for (Layer l : lm.getLayers()) {
            String name = l.conf().getLayer().getLayerName();
            Layer src = classifier.getLayer(name.equals(TransformerLm.HEAD) ? ClassifierModel.HEAD : name);
            l.paramTable().forEach((k, v) -> {
                if (src.paramTable().containsKey(k)) {
                    v.assign(src.paramTable().get(k));
                }
            });
        }
        return lm;
    }

    @Test
    void trainableParameterCountsEqualTheirFormulas() {
        long d = MODEL.dModel();
        long f = MODEL.dFf();
        long layers = MODEL.layers();
        long head = d * 3 + 3;
        int r = 4;
        ComputationGraph qv = net(run(Method.LORA, Pooling.MEAN, Objective.CLM, r, List.of("q", "v"), 0, 0, 0, 0, 0),
            new NoOp());
        assertEquals(layers * 2 * r * (d + d) + head, TrainableParams.of(qv).count());
        ComputationGraph all = net(run(Method.LORA, Pooling.MEAN, Objective.CLM, r, List.of("q", "k", "v", "o",
            "mlp"), 0, 0, 0, 0, 0), new NoOp());
        assertEquals(layers * (4 * r * (d + d) + r * (d + f) + r * (f + d)) + head, TrainableParams.of(all).count());
        ComputationGraph prefix = net(run(Method.PREFIX, Pooling.MEAN, Objective.CLM, 0, List.of(), 5, 0, 0, 0, 0),
            new NoOp());
        assertEquals(2 * layers * 5 * d + head, TrainableParams.of(prefix).count());
        ComputationGraph probe = net(run(Method.HEAD, Pooling.MEAN, Objective.CLM, 0, List.of(), 0, 0, 0, 0, 0),
            new NoOp());
        assertEquals(head, TrainableParams.of(probe).count());
        ComputationGraph everything = net(full(Pooling.MEAN, Objective.CLM), new NoOp());
        assertTrue(TrainableParams.of(everything).all());
        assertEquals(MODEL.parameterCount() - d * MODEL.vocabSize() + head, everything.numParams(),
            "the LM head's matrix is replaced by the classification layer");
    }

    @Test
    void frozenParametersStayBitwiseAndHaveNoOptimizerState() {
        MultiDataSet ds = batch(9, false);
        for (FinetuneRun r : List.of(
            run(Method.LORA, Pooling.MEAN, Objective.CLM, 2, List.of("q", "v"), 0, 0, 0.1, 0.1, 0.1),
            run(Method.PREFIX, Pooling.LAST, Objective.CLM, 0, List.of(), 2, 4, 0, 0.1, 0.1),
            run(Method.HEAD, Pooling.FIRST, Objective.MLM, 0, List.of(), 0, 0, 0, 0.1, 0.1))) {
            ComputationGraph net = net(r, new OptimizerConfig(1e-2, 1e-3, 1, 10, 0.1, 1.0, 0.9, 0.999, 1e-8)
                .updater());
            TrainableParams t = TrainableParams.of(net);
            INDArray before = net.params().dup();
            for (int i = 0; i < 5; i++) {
                net.fit(ds);
            }
            INDArray after = net.params();
            INDArray moved = t.extract(after).sub(t.extract(before));
            assertTrue(moved.norm2Number().doubleValue() > 1e-4, r.method() + ": the trainable parameters did not move");
            INDArray frozenBefore = before.dup();
            t.insert(Nd4j.zeros(DataType.DOUBLE, 1, t.count()), frozenBefore);
            INDArray frozenAfter = after.dup();
            t.insert(Nd4j.zeros(DataType.DOUBLE, 1, t.count()), frozenAfter);
            assertArrayEquals(frozenBefore.data().asDouble(), frozenAfter.data().asDouble(),
                r.method() + ": a frozen parameter changed");
            assertEquals(2 * t.count(), net.getUpdater().getStateViewArray().length(),
                r.method() + ": Adam state only for the trainable parameters");
        }
    }

    @Test
    void aPrefixIsSeenByEveryPositionWhileAttentionStaysCausal() {
        FinetuneRun r = run(Method.PREFIX, Pooling.LAST, Objective.CLM, 0, List.of(), 3, 0, 0, 0, 0);
        ComputationGraph net = net(r, new NoOp());
        INDArray tokens = Nd4j.createFromArray(new double[][] {{2, 3, 4, 5, 6}});
        INDArray changed = tokens.dup();
        changed.putScalar(0, 3, 9);
        Map<String, INDArray> a = net.feedForward(new INDArray[] {tokens}, false, false);
        Map<String, INDArray> b = net.feedForward(new INDArray[] {changed}, false, false);
        INDArray ha = a.get(TransformerLm.block(1));
        INDArray hb = b.get(TransformerLm.block(1));
        for (int t = 0; t < 5; t++) {
            boolean same = ha.get(org.nd4j.linalg.indexing.NDArrayIndex.point(0),
                org.nd4j.linalg.indexing.NDArrayIndex.point(t), org.nd4j.linalg.indexing.NDArrayIndex.all())
                .equalsWithEps(hb.get(org.nd4j.linalg.indexing.NDArrayIndex.point(0),
                    org.nd4j.linalg.indexing.NDArrayIndex.point(t), org.nd4j.linalg.indexing.NDArrayIndex.all()),
                    1e-12);
            assertEquals(t < 3, same, "position " + t + ": changing token 3 must change only positions >= 3");
        }
        // changing the prefix changes the first position: the prefix is visible to it
        net.getLayer(TransformerLm.block(0)).paramTable().get("prefix").addi(0.5);
        INDArray hc = net.feedForward(new INDArray[] {tokens}, false, false).get(TransformerLm.block(0));
        assertTrue(!hc.get(org.nd4j.linalg.indexing.NDArrayIndex.point(0), org.nd4j.linalg.indexing.NDArrayIndex
            .point(0), org.nd4j.linalg.indexing.NDArrayIndex.all()).equalsWithEps(a.get(TransformerLm.block(0))
            .get(org.nd4j.linalg.indexing.NDArrayIndex.point(0), org.nd4j.linalg.indexing.NDArrayIndex.point(0),
                org.nd4j.linalg.indexing.NDArrayIndex.all()), 1e-9), "position 0 does not see the prefix");
    }
}
