package org.sparklm.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The round's spread and pseudo-gradient norm from the workers' scalars, against direct computations. */
class RoundDriftTest {

    private static float[] randoms(Random r, int n, double scale, float[] around) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) ((around == null ? 0 : around[i]) + scale * r.nextGaussian());
        }
        return x;
    }

    @Test
    void spreadAndPseudoGradientNormMatchTheirDefinitions() {
        Random r = new Random(3);
        int n = 1000;
        int workers = 3;
        float[] p = randoms(r, n, 1.0, null);
        float[][] x = new float[workers][];
        for (int w = 0; w < workers; w++) {
            x[w] = randoms(r, n, 0.05, p);
        }
        double[] m = new double[n];
        for (float[] xw : x) {
            for (int i = 0; i < n; i++) {
                m[i] += xw[i] / (double) workers;
            }
        }
        double spread2 = 0;
        double pg2 = 0;
        for (int i = 0; i < n; i++) {
            for (float[] xw : x) {
                spread2 += (xw[i] - m[i]) * (xw[i] - m[i]) / workers;
            }
            pg2 += (p[i] - m[i]) * (p[i] - m[i]);
        }
        double norms = 0;
        double fromStart = 0;
        INDArray pa = Nd4j.createFromArray(p);
        for (float[] xw : x) {
            INDArray xa = Nd4j.createFromArray(xw);
            norms += RoundDrift.squaredNorm(xa);
            fromStart += RoundDrift.squaredDistance(xa, pa);
        }
        double mean2 = RoundDrift.squaredNorm(Nd4j.createFromArray(m));
        double[] d = RoundDrift.of(workers, norms, fromStart, mean2);
        assertEquals(Math.sqrt(spread2), d[0], 1e-6 * Math.sqrt(spread2));
        assertEquals(Math.sqrt(pg2), d[1], 1e-6 * Math.sqrt(pg2));
    }

    @Test
    void oneWorkerHasNoSpread() {
        INDArray x = Nd4j.createFromArray(1f, 2f, 3f);
        INDArray p = Nd4j.createFromArray(1f, 1f, 1f);
        double[] d = RoundDrift.of(1, RoundDrift.squaredNorm(x), RoundDrift.squaredDistance(x, p),
            RoundDrift.squaredNorm(x));
        assertEquals(0.0, d[0]);
        assertEquals(Math.sqrt(5), d[1], 1e-12);
    }

    @Test
    void squaresAreSummedInDoubleAcrossChunks() {
        // 3 M float ones, three chunks of 2^20 and a part: every chunk counted once
        int n = 3_000_000;
        INDArray ones = Nd4j.ones(DataType.FLOAT, n);
        assertEquals(n, RoundDrift.squaredNorm(ones), 0.0);
        assertEquals(n / 4.0, RoundDrift.squaredDistance(ones, Nd4j.zeros(DataType.FLOAT, n).addi(0.5)), 0.0);
        assertThrows(IllegalArgumentException.class, () -> RoundDrift.squaredDistance(ones, Nd4j.ones(3)));
        assertThrows(IllegalArgumentException.class, () -> RoundDrift.of(0, 0, 0, 0));
    }
}
