package org.sparklm.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
import org.nd4j.linalg.api.ops.random.impl.BernoulliDistribution;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.sparklm.train.LmBatches;
import org.sparklm.train.MlmMasker;

/**
 * Guards the generated double twin of the layers' loops: the same small network in FLOAT (the loops training runs,
 * {@code FloatLoops}) and in DOUBLE (their twin {@code DoubleLoops}, generated from the same source, which the
 * gradient checks run), with the same parameters, gives the same loss (relative 1e-5) and the same analytic gradients
 * (relative 1e-3 on every entry that is not tiny, that is above 1% of the largest of its array; the others within
 * 1e-5 of that largest). It fails if the float source and the generated class ever differ in meaning, or the float
 * and double branches of a dispatch method do. Both cases run with dropout: the same seed draws the same masks in
 * either type.
 */
class PrecisionAgreementTest {

    private static final double LOSS_RELATIVE = 1e-5;
    private static final double GRAD_RELATIVE = 1e-3;
    private static final double TINY = 1e-2;
    private static final long MASK_SEED = 99;

    private static int[] savedThreads;

    @BeforeAll
    static void singleThread() {
        savedThreads = ModelTestSupport.singleThread();
    }

    @AfterAll
    static void restore() {
        ModelTestSupport.restoreThreads(savedThreads);
    }

    /** The loss (entry "loss") and the analytic gradients of the network on the batch, in the given type. */
    private static Map<String, INDArray> lossAndGradients(ComputationGraph net, MultiDataSet batch, INDArray labelMask,
                                                          DataType type) {
        INDArray fm = batch.getFeaturesMaskArrays() == null ? null : batch.getFeaturesMaskArray(0).castTo(type);
        INDArray lm = labelMask != null ? labelMask.castTo(type)
            : batch.getLabelsMaskArrays() == null ? null : batch.getLabelsMaskArray(0).castTo(type);
        net.setInputs(batch.getFeatures(0).castTo(type));
        net.setLabels(batch.getLabels(0).castTo(type));
        net.setLayerMaskArrays(fm == null ? null : new INDArray[] {fm}, lm == null ? null : new INDArray[] {lm});
        Nd4j.getRandom().setSeed(MASK_SEED);
        net.computeGradientAndScore();
        Map<String, INDArray> out = new LinkedHashMap<>();
        out.put("loss", Nd4j.scalar(net.score()));
        net.gradient().gradientForVariable().forEach((k, v) -> {
            assertEquals(type, v.dataType(), k);
            out.put(k, v.castTo(DataType.DOUBLE).reshape(v.length()));
        });
        return out;
    }

    /** Returns the disagreements (empty if FLOAT and DOUBLE agree). */
    private static List<String> compare(TransformerConfig c, MultiDataSet batch, INDArray labelMask) {
        ComputationGraph f = ModelTestSupport.network(c, new NoOp(), 3, DataType.FLOAT);
        f.params().muli(3);   // LayerNorm gains 3: clearly nonlinear, attention not saturated
        ComputationGraph d = ModelTestSupport.network(c, new NoOp(), 3, DataType.DOUBLE);
        d.setParams(f.params().castTo(DataType.DOUBLE));
        Map<String, INDArray> gf = lossAndGradients(f, batch, labelMask, DataType.FLOAT);
        Map<String, INDArray> gd = lossAndGradients(d, batch, labelMask, DataType.DOUBLE);
        assertEquals(gd.keySet(), gf.keySet());

        List<String> failures = new ArrayList<>();
        double lf = gf.remove("loss").getDouble(0);
        double ld = gd.remove("loss").getDouble(0);
        if (!(Math.abs(lf - ld) <= LOSS_RELATIVE * Math.abs(ld))) {
            failures.add("loss: float " + lf + ", double " + ld);
        }
        int compared = 0;
        for (Map.Entry<String, INDArray> e : gd.entrySet()) {
            double[] b = e.getValue().toDoubleVector();
            double[] a = gf.get(e.getKey()).toDoubleVector();
            double max = 0;
            for (double x : b) {
                max = Math.max(max, Math.abs(x));
            }
            for (int i = 0; i < b.length; i++) {
                double diff = Math.abs(a[i] - b[i]);
                boolean tiny = Math.abs(b[i]) < TINY * max;
                if (!(diff <= GRAD_RELATIVE * (tiny ? TINY * max : Math.abs(b[i])))) {
                    failures.add(e.getKey() + "[" + i + "]: float " + a[i] + ", double " + b[i]);
                }
                if (!tiny) {
                    compared++;
                }
            }
        }
        assertTrue(compared > 500, "compared " + compared);
        return failures;
    }

    @Test
    void sameSeedDrawsTheSameDropoutMasksInBothTypes() {
        Nd4j.getRandom().setSeed(MASK_SEED);
        INDArray f = Nd4j.create(DataType.FLOAT, 5000);
        Nd4j.getExecutioner().exec(new BernoulliDistribution(f, 0.8));
        Nd4j.getRandom().setSeed(MASK_SEED);
        INDArray d = Nd4j.create(DataType.DOUBLE, 5000);
        Nd4j.getExecutioner().exec(new BernoulliDistribution(d, 0.8));
        assertEquals(d, f.castTo(DataType.DOUBLE));
    }

    @Test
    void causalBlocksWithDropout() {
        TransformerConfig c = new TransformerConfig(13, 2, 16, 2, 32, 8, 0.2, AttentionMode.CAUSAL);
        List<int[]> w = ModelTestSupport.windows(3, 9, 0, 13, 11);
        List<String> f = compare(c, LmBatches.clm(w, -1), null);
        assertTrue(f.isEmpty(), f.size() + " disagreements: " + f);
    }

    @Test
    void bidirectionalBlockWithDropoutPaddingAndWeightedLabels() {
        TransformerConfig c = new TransformerConfig(13, 1, 16, 4, 32, 8, 0.2, AttentionMode.BIDIRECTIONAL);
        List<int[]> w = ModelTestSupport.windows(3, 8, 2, 13, 12);
        w.get(2)[3] = 0;   // padding
        MultiDataSet ds = LmBatches.mlm(w, new long[] {0, 1, 2}, 0, new MlmMasker(13, 2, 1, 5), 0);
        assertTrue(ds.getFeaturesMaskArrays() != null);
        INDArray weights = Nd4j.createFromArray(new double[][] {
            {1, 0, 2, 0.5, 1, 0, 0, 3}, {0, 1, 3, 1, 0, 2, 1, 1}, {1, 1, 0, 0, 1, 0.5, 0, 2}});
        List<String> f = compare(c, ds, weights);
        assertTrue(f.isEmpty(), f.size() + " disagreements: " + f);
    }
}
