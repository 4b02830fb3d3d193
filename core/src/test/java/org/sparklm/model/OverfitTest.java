package org.sparklm.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.sparklm.train.LmBatches;
import org.sparklm.train.MlmMasker;
import org.sparklm.train.OptimizerConfig;

/** A tiny model memorises one batch: the whole training path (forward, backward, AdamW, clipping) works. */
class OverfitTest {

    private static int[] savedThreads;

    @BeforeAll
    static void threads() {
        savedThreads = ModelTestSupport.singleThread();
    }

    @AfterAll
    static void restore() {
        ModelTestSupport.restoreThreads(savedThreads);
    }

    private static double train(TransformerConfig c, MultiDataSet batch, int steps) {
        OptimizerConfig opt = new OptimizerConfig(1e-2, 1e-3, 10, steps, 0.01, 1.0, 0.9, 0.95, 1e-8);
        ComputationGraph net = TransformerLm.create(c, opt, 3);
        double first = Double.NaN;
        for (int i = 0; i < steps; i++) {
            net.fit(batch);
            if (i == 0) {
                first = TransformerLm.lastLoss(net);
            }
        }
        double last = TransformerLm.lastLoss(net);
        assertTrue(first > 3, "starts near ln(vocab): " + first);
        return last;
    }

    @Test
    void causalModelMemorisesABatch() {
        TransformerConfig c = new TransformerConfig(40, 2, 32, 2, 64, 16, 0.0, AttentionMode.CAUSAL);
        List<int[]> w = ModelTestSupport.windows(4, 17, 0, 40, 9);
        double loss = train(c, LmBatches.clm(w, -1), 60);
        assertTrue(loss < 0.05, "loss after 60 steps: " + loss);
    }

    @Test
    void maskedModelMemorisesABatch() {
        TransformerConfig c = new TransformerConfig(40, 2, 32, 2, 64, 16, 0.0, AttentionMode.BIDIRECTIONAL);
        List<int[]> w = ModelTestSupport.windows(8, 16, 5, 40, 10);
        long[] idx = {0, 1, 2, 3, 4, 5, 6, 7};
        MultiDataSet batch = LmBatches.mlm(w, idx, 0, new MlmMasker(40, 5, 4, 1), -1);
        double loss = train(c, batch, 60);
        assertTrue(loss < 0.05, "loss after 60 steps: " + loss);
    }
}
