package org.sparklm.scaling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LawFitTest {

    /** Losses of a known law on a 5 x 5 grid of N x D, with multiplicative noise. */
    static List<LawFit.Observation> synthetic(ScalingLaw law, double noise, long seed) {
        Random rnd = new Random(seed);
        List<LawFit.Observation> obs = new ArrayList<>();
        for (double n = 1e7; n <= 1.01e10; n *= Math.sqrt(10) * Math.sqrt(Math.sqrt(10))) {
            for (double tpp : new double[] {2, 5, 20, 80, 300}) {
                double d = n * tpp;
                obs.add(new LawFit.Observation(n, d, law.loss(n, d) * Math.exp(noise * rnd.nextGaussian())));
            }
        }
        return obs;
    }

    @Test
    void recoversTheConstantsWithoutNoise() {
        ScalingLaw truth = ScalingLaw.EPOCH;
        LawFit.Result r = LawFit.fit(synthetic(truth, 0, 1), "fit");
        ScalingLaw f = r.law();
        assertEquals(truth.e(), f.e(), 1e-3 * truth.e());
        assertEquals(truth.alpha(), f.alpha(), 1e-3);
        assertEquals(truth.beta(), f.beta(), 1e-3);
        assertEquals(truth.a(), f.a(), 0.01 * truth.a());
        assertEquals(truth.b(), f.b(), 0.01 * truth.b());
        assertTrue(r.objective() < 1e-8, "objective " + r.objective());
    }

    @Test
    void recoversTheConstantsWithNoise() {
        ScalingLaw truth = ScalingLaw.HOFFMANN;
        LawFit.Result r = LawFit.fit(synthetic(truth, 0.003, 7), "fit");
        ScalingLaw f = r.law();
        assertEquals(truth.alpha(), f.alpha(), 0.05, "alpha");
        assertEquals(truth.beta(), f.beta(), 0.05, "beta");
        assertEquals(truth.e(), f.e(), 0.1, "E");
        // what planning uses: the compute-optimal allocation at a large budget, within 25%
        double c = 1e22;
        assertEquals(1, f.optimalParameters(c) / truth.optimalParameters(c), 0.25);
        assertEquals(truth.optimalTokensPerParameter(c), f.optimalTokensPerParameter(c),
            0.5 * truth.optimalTokensPerParameter(c));
    }

    @Test
    void huberGradientMatchesFiniteDifferences() {
        double[] logN = {Math.log(1e6), Math.log(3e6), Math.log(1e7)};
        double[] logD = {Math.log(1e8), Math.log(1e9), Math.log(3e7)};
        double[] logL = {Math.log(3.1), Math.log(2.9), Math.log(3.4)};
        double[] t = {5, 6, 0.5, 0.3, 0.35};
        double[] g = new double[5];
        LawFit.objective(t, g, logN, logD, logL);
        for (int i = 0; i < 5; i++) {
            double[] p = t.clone();
            double[] m = t.clone();
            p[i] += 1e-6;
            m[i] -= 1e-6;
            double[] unused = new double[5];
            double fd = (LawFit.objective(p, unused, logN, logD, logL) - LawFit.objective(m, unused, logN, logD, logL))
                / 2e-6;
            assertEquals(fd, g[i], 1e-6 + 1e-4 * Math.abs(fd), "component " + i);
        }
    }
}
