package org.sparklm.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Sgd;

/** Which positions see which: causal masking, bidirectional attention, padding masks. */
class CausalityTest {

    private static int[] savedThreads;

    @BeforeAll
    static void threads() {
        savedThreads = ModelTestSupport.singleThread();
    }

    @AfterAll
    static void restore() {
        ModelTestSupport.restoreThreads(savedThreads);
    }

    private static LanguageModel model(AttentionMode mode) {
        TransformerConfig c = new TransformerConfig(50, 2, 16, 2, 64, 12, 0.1, mode);
        return new LanguageModel(c, ModelTestSupport.network(c, new Sgd(0.1), 11, DataType.FLOAT));
    }

    private static double maxDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }

    @Test
    void causalOutputsIgnoreLaterTokens() {
        LanguageModel m = model(AttentionMode.CAUSAL);
        int[] seq = ModelTestSupport.windows(1, 12, 0, 50, 1).get(0);
        float[][] before = m.probabilities(seq);
        for (int t = 0; t < 11; t++) {
            int[] changed = seq.clone();
            changed[t + 1] = (seq[t + 1] + 17) % 50;
            float[][] after = m.probabilities(changed);
            for (int i = 0; i <= t; i++) {
                assertArrayEquals(before[i], after[i], 1e-6f, "position " + i + " changed with token " + (t + 1));
            }
            assertTrue(maxDiff(before[t + 1], after[t + 1]) > 1e-4, "position " + (t + 1) + " sees its own token");
        }
    }

    @Test
    void bidirectionalOutputsSeeLaterTokens() {
        LanguageModel m = model(AttentionMode.BIDIRECTIONAL);
        int[] seq = ModelTestSupport.windows(1, 12, 0, 50, 2).get(0);
        float[][] before = m.probabilities(seq);
        int[] changed = seq.clone();
        changed[7] = (seq[7] + 5) % 50;
        float[][] after = m.probabilities(changed);
        for (int i = 0; i < 12; i++) {
            assertTrue(maxDiff(before[i], after[i]) > 1e-5, "position " + i + " sees token 7");
        }
    }

    @Test
    void paddedPositionsAreInvisibleToTheOthers() {
        ComputationGraph net = model(AttentionMode.BIDIRECTIONAL).network();
        float[] tokens = new float[12];
        for (int i = 0; i < 12; i++) {
            tokens[i] = 3 + i;
        }
        float[] mask = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0};
        INDArray m = Nd4j.create(mask, new long[] {1, 12}, DataType.FLOAT);
        INDArray a = net.output(false, new INDArray[] {Nd4j.create(tokens, new long[] {1, 12}, DataType.FLOAT)},
            new INDArray[] {m})[0];
        tokens[10] = 40;
        tokens[11] = 41;
        INDArray b = net.output(false, new INDArray[] {Nd4j.create(tokens, new long[] {1, 12}, DataType.FLOAT)},
            new INDArray[] {m})[0];
        INDArray realA = a.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 9), NDArrayIndex.all());
        INDArray realB = b.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 9), NDArrayIndex.all());
        assertTrue(realA.equalsWithEps(realB, 1e-6), "unpadded positions changed when padding changed");
        tokens[2] = 33;
        INDArray c = net.output(false, new INDArray[] {Nd4j.create(tokens, new long[] {1, 12}, DataType.FLOAT)},
            new INDArray[] {m})[0];
        assertTrue(!realA.equalsWithEps(c.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 9), NDArrayIndex.all()),
            1e-5), "a real token is visible");
    }
}
