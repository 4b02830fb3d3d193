package org.sparklm.model.dl4j;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The direct-BLAS attention products equal the portable path (head copies and ND4J's batched matmul). */
class AttentionTest {

    private static INDArray[] run(boolean blas, INDArray qkv, INDArray attn, INDArray dctx, INDArray dScores,
                                  Attention.Shape s) {
        boolean old = Attention.useBlas(blas);
        assertTrue(Attention.useBlas(blas) == blas, "path not selectable");
        try {
            Function<long[], INDArray> temp = sh -> Nd4j.create(DataType.DOUBLE, sh);
            INDArray scores = Nd4j.create(DataType.DOUBLE, s.b(), s.h(), s.t(), s.t());
            Attention.scores(qkv, scores, s, 0.3, temp);
            INDArray ctx = Nd4j.create(DataType.DOUBLE, (long) s.b() * s.t(), s.d());
            Attention.context(attn, qkv, ctx, s, temp);
            INDArray dAttn = Nd4j.create(DataType.DOUBLE, s.b(), s.h(), s.t(), s.t());
            INDArray dqkv = Nd4j.create(DataType.DOUBLE, (long) s.b() * s.t(), 3L * s.d());
            Attention.contextBackward(attn, qkv, dctx, dAttn, dqkv, s, temp);
            Attention.scoresBackward(dScores, qkv, dqkv, s, 0.3, temp);
            return new INDArray[] {scores, ctx, dAttn, dqkv};
        } finally {
            Attention.useBlas(old);
        }
    }

    @Test
    void blasAndNd4jPathsAgree() {
        assertTrue(Nd4j.getEnvironment().isCPU(), "these tests run on the CPU backend, where BLAS is used");
        Attention.Shape s = new Attention.Shape(3, 2, 5, 4);
        Nd4j.getRandom().setSeed(1);
        INDArray qkv = Nd4j.rand(DataType.DOUBLE, 15, 24).subi(0.5);
        INDArray attn = Nd4j.rand(DataType.DOUBLE, 3, 2, 5, 5);
        INDArray dctx = Nd4j.rand(DataType.DOUBLE, 15, 8).subi(0.5);
        INDArray ds = Nd4j.rand(DataType.DOUBLE, 3, 2, 5, 5).subi(0.5);
        INDArray[] a = run(true, qkv, attn, dctx, ds, s);
        INDArray[] b = run(false, qkv, attn, dctx, ds, s);
        String[] names = {"scores", "context", "attention gradient", "qkv gradient"};
        for (int i = 0; i < a.length; i++) {
            assertTrue(a[i].equalsWithEps(b[i], 1e-12), names[i] + " differ");
        }
        // spot check against the definition: scores[1, 1, 2, 3] = 0.3 q(b=1, t=2, h=1) . k(b=1, t=3, h=1)
        double dot = 0;
        for (int j = 0; j < 4; j++) {
            dot += qkv.getDouble(5 + 2, 4 + j) * qkv.getDouble(5 + 3, 8 + 4 + j);
        }
        assertTrue(Math.abs(a[0].getDouble(1, 1, 2, 3) - 0.3 * dot) < 1e-12);
    }
}
