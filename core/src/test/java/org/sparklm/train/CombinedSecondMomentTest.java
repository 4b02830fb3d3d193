package org.sparklm.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.updater.BaseMultiLayerUpdater;
import org.deeplearning4j.nn.updater.UpdaterBlock;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.AdamUpdater;
import org.sparklm.model.AttentionMode;
import org.sparklm.model.TransformerConfig;
import org.sparklm.model.TransformerLm;

/** The combined second moment: its factor, its estimate on simulated workers, and its layout on a real network. */
class CombinedSecondMomentTest {

    private static final double B1 = 0.9;
    private static final double B2 = 0.95;

    @Test
    void theFactorInvertsTheSpreadThatHStepsOfNoiseLeaveInTheFirstMoment() {
        CombinedSecondMoment c = new CombinedSecondMoment(new int[] {0}, new int[] {1}, 2, B1, B2);
        // after H steps m holds (1 - b1) sum_j b1^j n_j: its variance per unit of noise variance is
        // (1 - b1)^2 sum_{j<H} b1^(2j), and the factor is the inverse
        for (int h : new int[] {1, 2, 8, 128}) {
            double sum = 0;
            for (int j = 0; j < h; j++) {
                sum += Math.pow(B1, 2 * j);
            }
            assertEquals(1 / ((1 - B1) * (1 - B1) * sum), c.noiseFactor(h), 1e-9 * c.noiseFactor(h), "H " + h);
        }
        assertEquals(100, c.noiseFactor(1), 1e-9);
    }

    /**
     * W workers start a round from the same m and see gradients mu + noise of variance s2 for H steps; the estimate
     * from their first moments is (1 - 1/W) s2 on average, per coordinate.
     */
    @Test
    void theEstimateIsTheExcessOfOneWorkersSquaredGradientOverTheCombinedBatchs() {
        int n = 40_000;
        Random rnd = new Random(11);
        for (int workers : new int[] {2, 4}) {
            for (int h : new int[] {1, 8}) {
                double s2 = 4.0;
                double[] m0 = new double[n];
                double[] mu = new double[n];
                for (int i = 0; i < n; i++) {
                    m0[i] = rnd.nextGaussian();
                    mu[i] = rnd.nextGaussian() * 3;
                }
                double[] sum = new double[n];
                double[] sq = new double[n];
                for (int w = 0; w < workers; w++) {
                    for (int i = 0; i < n; i++) {
                        double m = m0[i];
                        for (int j = 0; j < h; j++) {
                            m = B1 * m + (1 - B1) * (mu[i] + Math.sqrt(s2) * rnd.nextGaussian());
                        }
                        sum[i] += m;
                        sq[i] += m * m;
                    }
                }
                // the state is [m (n), v (n)]: only m matters to the estimate
                double[] state = new double[2 * n];
                double[] squares = new double[n];
                for (int i = 0; i < n; i++) {
                    state[i] = sum[i] / workers;
                    squares[i] = sq[i] / workers;
                }
                CombinedSecondMoment c = new CombinedSecondMoment(new int[] {0}, new int[] {n}, workers, B1, B2);
                INDArray e = c.excess(Nd4j.createFromArray(state), Nd4j.createFromArray(squares), h);
                double mean = e.meanNumber().doubleValue();
                double expected = (1 - 1.0 / workers) * s2;
                assertEquals(expected, mean, 0.03 * expected, "W " + workers + ", H " + h);
                assertTrue(e.minNumber().doubleValue() >= 0, "a negative excess");
            }
        }
    }

    @Test
    void theLayoutIsTheNetworksAdamBlocksAndDeflationLowersOnlyTheSecondMoment() {
        TransformerConfig config = new TransformerConfig(30, 2, 16, 2, 32, 8, 0.0, AttentionMode.CAUSAL);
        ComputationGraph net = TransformerLm.create(config, OptimizerConfig.defaults(100), 3);
        INDArray state = net.getUpdater().getStateViewArray();
        // distinctive values: m in [0.1, 1.1), v in [2, 3)
        List<INDArray> ms = new ArrayList<>();
        List<INDArray> vs = new ArrayList<>();
        for (UpdaterBlock b : ((BaseMultiLayerUpdater<?>) net.getUpdater()).getUpdaterBlocks()) {
            AdamUpdater u = (AdamUpdater) b.getGradientUpdater();
            u.getM().assign(Nd4j.rand(u.getM().dataType(), u.getM().shape()).addi(0.1));
            u.getV().assign(Nd4j.rand(u.getV().dataType(), u.getV().shape()).addi(2));
            ms.add(u.getM().reshape(u.getM().length()));
            vs.add(u.getV().reshape(u.getV().length()));
        }
        CombinedSecondMoment c = CombinedSecondMoment.of(net, 2, B1, B2);
        INDArray allM = Nd4j.concat(0, ms.toArray(INDArray[]::new));
        INDArray allV = Nd4j.concat(0, vs.toArray(INDArray[]::new)).dup();
        assertEquals(state.length() / 2, c.length());
        assertEquals(net.numParams(), c.length(), "every parameter has Adam state");
        assertEquals(allM.mul(allM), c.firstMomentSquares(state));
        // the mean m (one worker's m, its own square: no spread) gives no excess
        assertEquals(0, c.excess(state, c.firstMomentSquares(state), 8).sumNumber().doubleValue(), 1e-6);

        // deflate after a step that took v from v0 to v = 1.5 v0, from a round that started at raw = v0 / 2 (so the
        // gap raw - v was -v0 / 2 before the step): raw <- b2 raw + (v - b2 v0); v <- max(v - (1 - b2) e, raw / 2);
        // the gap becomes raw - v; m untouched
        INDArray deflated = allV.mul(-0.5);
        for (INDArray v : vs) {
            v.muli(1.5);
        }
        INDArray stepped = Nd4j.concat(0, vs.toArray(INDArray[]::new)).dup();
        INDArray e = Nd4j.rand(DataType.FLOAT, c.length()).muli(60);
        c.deflate(state, deflated, e);
        INDArray rawV = allV.mul(0.5 * B2).addi(stepped.sub(allV.mul(B2)));
        INDArray expected = org.nd4j.linalg.ops.transforms.Transforms.max(stepped.sub(e.mul(1 - B2)), rawV.div(2),
            false);
        INDArray nowV = Nd4j.concat(0, vs.toArray(INDArray[]::new));
        assertArrayEquals(expected.toFloatVector(), nowV.toFloatVector(), 1e-5f);
        assertEquals(allM, Nd4j.concat(0, ms.toArray(INDArray[]::new)), "m changed");
        double floored = nowV.eq(rawV.div(2)).castTo(DataType.FLOAT).sumNumber().doubleValue();
        assertTrue(floored > 0 && floored < c.length(), "both sides of the floor are exercised: " + floored);
        assertArrayEquals(rawV.sub(nowV).toFloatVector(), deflated.toFloatVector(), 1e-5f,
            "the gap to the undeflated moment");

        // one worker: nothing to correct
        CombinedSecondMoment one = CombinedSecondMoment.of(net, 1, B1, B2);
        INDArray s1 = state.dup();
        one.deflate(state, deflated, e);
        assertEquals(s1, state);
        assertThrows(IllegalArgumentException.class, () -> new CombinedSecondMoment(new int[0], new int[0], 0, B1,
            B2));
    }
}
