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
            int d = s.d();
            int t = s.tq();
            INDArray scores = Nd4j.create(DataType.DOUBLE, s.b(), s.h(), t, t);
            Attention.scores(Attention.Operand.q(qkv, d, t), Attention.Operand.k(qkv, d, t), scores, s, 0.3, temp);
            INDArray ctx = Nd4j.create(DataType.DOUBLE, (long) s.b() * t, d);
            Attention.context(attn, Attention.Operand.v(qkv, d, t), Attention.Operand.rows(ctx, d, t), s, temp);
            INDArray dAttn = Nd4j.create(DataType.DOUBLE, s.b(), s.h(), t, t);
            INDArray dqkv = Nd4j.create(DataType.DOUBLE, (long) s.b() * t, 3L * d);
            Attention.contextBackward(attn, Attention.Operand.v(qkv, d, t), Attention.Operand.rows(dctx, d, t), dAttn,
                Attention.Operand.v(dqkv, d, t), s, temp);
            Attention.scoresBackward(dScores, Attention.Operand.q(qkv, d, t), Attention.Operand.k(qkv, d, t),
                Attention.Operand.q(dqkv, d, t), Attention.Operand.k(dqkv, d, t), s, 0.3, temp);
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

    /** Queries from one matrix, keys and values from another with more positions (a prefix, an encoder). */
    @Test
    void separateKeysAndValuesOfAnotherLengthAgreeOnBothPathsAndWithTheDefinition() {
        Attention.Shape s = new Attention.Shape(2, 2, 3, 5, 4);
        int d = s.d();
        Nd4j.getRandom().setSeed(2);
        INDArray q = Nd4j.rand(DataType.DOUBLE, 6, d).subi(0.5);
        INDArray kv = Nd4j.rand(DataType.DOUBLE, 10, 2 * d).subi(0.5);
        INDArray attn = Nd4j.rand(DataType.DOUBLE, 2, 2, 3, 5);
        INDArray dctx = Nd4j.rand(DataType.DOUBLE, 6, d).subi(0.5);
        INDArray ds = Nd4j.rand(DataType.DOUBLE, 2, 2, 3, 5).subi(0.5);
        INDArray[][] out = new INDArray[2][];
        for (int p = 0; p < 2; p++) {
            boolean old = Attention.useBlas(p == 0);
            try {
                Function<long[], INDArray> temp = sh -> Nd4j.create(DataType.DOUBLE, sh);
                Attention.Operand qo = Attention.Operand.rows(q, d, 3);
                Attention.Operand ko = new Attention.Operand(kv, 0, 2 * d, 5);
                Attention.Operand vo = new Attention.Operand(kv, d, 2 * d, 5);
                INDArray scores = Nd4j.create(DataType.DOUBLE, 2, 2, 3, 5);
                Attention.scores(qo, ko, scores, s, 0.5, temp);
                INDArray ctx = Nd4j.create(DataType.DOUBLE, 6, d);
                Attention.context(attn, vo, Attention.Operand.rows(ctx, d, 3), s, temp);
                INDArray dAttn = Nd4j.create(DataType.DOUBLE, 2, 2, 3, 5);
                INDArray dq = Nd4j.create(DataType.DOUBLE, 6, d);
                INDArray dkv = Nd4j.create(DataType.DOUBLE, 10, 2 * d);
                Attention.contextBackward(attn, vo, Attention.Operand.rows(dctx, d, 3), dAttn,
                    new Attention.Operand(dkv, d, 2 * d, 5), s, temp);
                Attention.scoresBackward(ds, qo, ko, Attention.Operand.rows(dq, d, 3),
                    new Attention.Operand(dkv, 0, 2 * d, 5), s, 0.5, temp);
                out[p] = new INDArray[] {scores, ctx, dAttn, dq, dkv};
            } finally {
                Attention.useBlas(old);
            }
        }
        for (int i = 0; i < out[0].length; i++) {
            assertTrue(out[0][i].equalsWithEps(out[1][i], 1e-12), "result " + i + " differs between the paths");
        }
        // scores[1, 0, 2, 4] = 0.5 q(b=1, t=2, h=0) . k(b=1, t=4, h=0); ctx(b=0, t=1, h=1) = sum_j attn v(b=0, j, h=1)
        double dot = 0;
        for (int j = 0; j < 4; j++) {
            dot += q.getDouble(3 + 2, j) * kv.getDouble(5 + 4, j);
        }
        assertTrue(Math.abs(out[0][0].getDouble(1, 0, 2, 4) - 0.5 * dot) < 1e-12);
        double c = 0;
        for (int j = 0; j < 5; j++) {
            c += attn.getDouble(0, 1, 1, j) * kv.getDouble(j, d + 4 + 2);
        }
        assertTrue(Math.abs(out[0][1].getDouble(1, 4 + 2) - c) < 1e-12);
    }
}
