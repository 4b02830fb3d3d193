package org.sparklm.model;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.sparklm.train.LmBatches;
import org.sparklm.train.MlmMasker;

/**
 * Central finite differences against the hand-written backward passes, in double precision, on tiny models: in every
 * parameter array of the embedding, the block(s) and the head, all entries of the vectors and 16 spread over each
 * matrix. The blocks' input gradients are checked too, through the embedding's gradient. (DL4J's GradientCheckUtil
 * checks every parameter of a ComputationGraph, which takes too long for a unit test here.)
 *
 * <p>The double-precision layers run the loops of {@code DoubleLoops}, generated at build time from the float source
 * that training runs ({@code FloatLoops}), so these checks check that source; {@link PrecisionAgreementTest} checks
 * that the two precisions agree. With dropout, ND4J's RNG is reseeded before every evaluation of the loss (and before
 * the analytic gradient), so every evaluation draws the same masks and the loss is a smooth function of the
 * parameters: the checks then cover dropout's backward pass in the embedding, on the attention probabilities and in
 * both residual branches.
 */
class GradientCheckTest {

    private static final double EPS = 1e-6;
    private static final double MAX_RELATIVE = 1e-5;
    private static final double MIN_ABSOLUTE = 1e-8;
    private static final int PER_ARRAY = 16;
    private static final long MASK_SEED = 12345;

    private static DataType savedType;
    private static DataType savedFloatType;
    private static int[] savedThreads;

    @BeforeAll
    static void doublePrecision() {
        savedThreads = ModelTestSupport.singleThread();
        savedType = Nd4j.dataType();
        savedFloatType = Nd4j.defaultFloatingPointType();
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    }

    @AfterAll
    static void restore() {
        Nd4j.setDefaultDataTypes(savedType, savedFloatType);
        ModelTestSupport.restoreThreads(savedThreads);
    }

    private static INDArray dbl(INDArray a) {
        return a == null ? null : a.castTo(DataType.DOUBLE);
    }

    /** {@link #check(TransformerConfig, MultiDataSet, INDArray, double)} with the parameters scaled by 10. */
    private static List<String> check(TransformerConfig c, MultiDataSet batch, INDArray labelMask) {
        return check(c, batch, labelMask, 10);
    }

    /**
     * Returns the failures (empty if the gradient is right). The initial parameters are multiplied by {@code scale}:
     * larger weights give gradients well above the double rounding of the loss, but at 10 (LayerNorm gains 10) the
     * attention scores can saturate the softmax, and the query and key gradients vanish (the bidirectional dropout
     * check's query-bias gradients were 1e-22 at 10; the dropout checks use 3, where they are 1e-2).
     */
    private static List<String> check(TransformerConfig c, MultiDataSet batch, INDArray labelMask, double scale) {
        ComputationGraph net = ModelTestSupport.network(c, new NoOp(), 7, DataType.DOUBLE);
        net.params().muli(scale);
        INDArray fm = batch.getFeaturesMaskArrays() == null ? null : dbl(batch.getFeaturesMaskArray(0));
        INDArray lm = labelMask != null ? labelMask
            : batch.getLabelsMaskArrays() == null ? null : dbl(batch.getLabelsMaskArray(0));
        MultiDataSet ds = new org.nd4j.linalg.dataset.MultiDataSet(new INDArray[] {dbl(batch.getFeatures(0))},
            new INDArray[] {dbl(batch.getLabels(0))}, fm == null ? null : new INDArray[] {fm},
            lm == null ? null : new INDArray[] {lm});

        if (c.dropout() > 0) {
            Nd4j.getRandom().setSeed(MASK_SEED);
            double dropped = net.score(ds, true);
            assertNotEquals(net.score(ds, false), dropped, "dropout is active in the training loss");
            assertNotEquals(score(net, ds, MASK_SEED + 1), dropped, "another seed draws other masks");
        }

        net.setInputs(ds.getFeatures());
        net.setLabels(ds.getLabels());
        net.setLayerMaskArrays(ds.getFeaturesMaskArrays(), ds.getLabelsMaskArrays());
        Nd4j.getRandom().setSeed(MASK_SEED);
        net.computeGradientAndScore();
        Map<String, INDArray> analytic = new LinkedHashMap<>();
        net.gradient().gradientForVariable().forEach((k, v) -> analytic.put(k, v.dup()));

        List<String> failures = new ArrayList<>();
        int checked = 0;
        for (Map.Entry<String, INDArray> e : net.paramTable().entrySet()) {
            INDArray p = e.getValue().reshape(e.getValue().length());
            INDArray g = analytic.get(e.getKey()).reshape(p.length());
            long n = p.length();
            long step = Math.max(1, n / PER_ARRAY);
            for (long i = 0; i < n; i += step) {
                double orig = p.getDouble(i);
                p.putScalar(i, orig + EPS);
                double plus = score(net, ds, MASK_SEED);
                p.putScalar(i, orig - EPS);
                double minus = score(net, ds, MASK_SEED);
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
        assertTrue(checked > 100, "checked " + checked);
        return failures;
    }

    /** The training loss with the dropout masks that {@code seed} draws (no dropout: the seed changes nothing). */
    private static double score(ComputationGraph net, MultiDataSet ds, long seed) {
        Nd4j.getRandom().setSeed(seed);
        return net.score(ds, true);
    }

    @Test
    void causalBlock() {
        TransformerConfig c = new TransformerConfig(11, 1, 8, 2, 16, 6, 0.0, AttentionMode.CAUSAL);
        List<int[]> w = ModelTestSupport.windows(2, 7, 0, 11, 3);
        List<String> f = check(c, LmBatches.clm(w, -1), null);
        assertTrue(f.isEmpty(), f.toString());
    }

    @Test
    void bidirectionalBlockWithPaddingAndMaskedLabels() {
        TransformerConfig c = new TransformerConfig(11, 1, 8, 2, 16, 6, 0.0, AttentionMode.BIDIRECTIONAL);
        List<int[]> w = ModelTestSupport.windows(2, 6, 2, 11, 4);
        w.get(1)[1] = 0;   // padding: masked for attention, never chosen
        w.get(1)[5] = 0;
        MultiDataSet ds = LmBatches.mlm(w, new long[] {0, 1}, 0, new MlmMasker(11, 2, 1, 5), 0);
        assertTrue(ds.getFeaturesMaskArrays() != null);
        List<String> f = check(c, ds, null);
        assertTrue(f.isEmpty(), f.toString());
    }

    @Test
    void twoCausalBlocksWithWeightedLabelMask() {
        TransformerConfig c = new TransformerConfig(9, 2, 8, 2, 12, 5, 0.0, AttentionMode.CAUSAL);
        List<int[]> w = ModelTestSupport.windows(2, 6, 0, 9, 5);
        INDArray weights = Nd4j.createFromArray(new double[][] {{1, 0, 2, 0.5, 1}, {0, 0, 3, 1, 0}});
        List<String> f = check(c, LmBatches.clm(w, -1), weights);
        assertTrue(f.isEmpty(), f.toString());
    }

    @Test
    void causalBlocksWithDropout() {
        TransformerConfig c = new TransformerConfig(11, 2, 8, 2, 16, 6, 0.2, AttentionMode.CAUSAL);
        List<int[]> w = ModelTestSupport.windows(2, 7, 0, 11, 6);
        List<String> f = check(c, LmBatches.clm(w, -1), null, 3);
        assertTrue(f.isEmpty(), f.toString());
    }

    @Test
    void bidirectionalBlockWithDropoutPaddingAndMaskedLabels() {
        TransformerConfig c = new TransformerConfig(11, 1, 8, 2, 16, 6, 0.2, AttentionMode.BIDIRECTIONAL);
        List<int[]> w = ModelTestSupport.windows(2, 6, 2, 11, 7);
        w.get(0)[4] = 0;   // padding
        MultiDataSet ds = LmBatches.mlm(w, new long[] {0, 1}, 0, new MlmMasker(11, 2, 1, 5), 0);
        List<String> f = check(c, ds, null, 3);
        assertTrue(f.isEmpty(), f.toString());
    }
}
