package org.sparklm.model.dl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.sparklm.model.AttentionMode;
import org.sparklm.model.TransformerConfig;
import org.sparklm.model.TransformerLm;
import org.sparklm.train.LmBatches;

/** Products split over Java threads give the same outputs and gradients as ND4J's gemm threaded by OpenBLAS. */
class MatrixThreadsTest {

    private static INDArray[] outputAndGradient(int threads, AttentionMode mode) {
        int before = Nd4j.factory().blas().getMaxThreads();
        MatrixThreads.use(threads);
        try {
            TransformerConfig c = new TransformerConfig(50, 2, 64, 4, 128, 32, 0.0, mode);
            ComputationGraph net = new ComputationGraph(TransformerLm.configuration(c, new NoOp(), 0,
                GradientNormalization.None, 1, 3, DataType.DOUBLE));
            net.init();
            Random r = new Random(4);
            List<int[]> w = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                int[] x = new int[33];
                for (int j = 0; j < x.length; j++) {
                    x[j] = r.nextInt(50);
                }
                w.add(x);
            }
            MultiDataSet ds = LmBatches.clm(w, -1);
            INDArray in = ds.getFeatures(0).castTo(DataType.DOUBLE);
            INDArray out = net.outputSingle(false, in);
            net.setInputs(in);
            net.setLabels(ds.getLabels(0).castTo(DataType.DOUBLE));
            net.computeGradientAndScore();
            return new INDArray[] {out, net.getFlattenedGradients().dup()};
        } finally {
            MatrixThreads.use(0);
            assertEquals(before, Nd4j.factory().blas().getMaxThreads(), "OpenBLAS threads restored");
        }
    }

    @Test
    void splitProductsMatchNd4j() {
        for (AttentionMode mode : AttentionMode.values()) {
            INDArray[] a = outputAndGradient(0, mode);
            INDArray[] b = outputAndGradient(2, mode);
            assertTrue(a[0].equalsWithEps(b[0], 1e-12), "outputs differ: " + mode);
            assertTrue(a[1].equalsWithEps(b[1], 1e-10), "gradients differ: " + mode);
        }
    }
}
