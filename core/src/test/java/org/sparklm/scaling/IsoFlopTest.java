package org.sparklm.scaling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class IsoFlopTest {

    @Test
    void findsEachProfilesMinimumAndTheFrontier() {
        ScalingLaw law = ScalingLaw.HOFFMANN;
        List<LawFit.Observation> obs = new ArrayList<>();
        double[] budgets = {1e18, 1e19, 1e20};
        for (double c : budgets) {
            double nOpt = law.optimalParameters(c);
            for (double f = 1.0 / 8; f <= 8.01; f *= 2) {      // 7 sizes around the optimum, exactly isoFLOP
                double n = nOpt * f;
                obs.add(new LawFit.Observation(n, c / (6 * n), law.loss(n, c / (6 * n))));
            }
        }
        IsoFlop.Result r = IsoFlop.analyse(obs, 1.5);
        assertEquals(3, r.profiles().size());
        for (int i = 0; i < 3; i++) {
            IsoFlop.Profile p = r.profiles().get(i);
            assertEquals(budgets[i], p.flops(), budgets[i] * 1e-9);
            // a parabola in log N through a curve that is not one: the minimum within 15% of the law's
            assertEquals(1, p.optimalParameters() / law.optimalParameters(budgets[i]), 0.15);
        }
        assertEquals(law.parameterExponent(), r.exponent(), 0.02);
    }

    @Test
    void aProfileWithoutAnInteriorMinimumHasNone() {
        // three sizes, loss falling monotonically with N: the minimum is not inside the profile
        List<LawFit.Observation> obs = List.of(new LawFit.Observation(1e6, 1e9, 4.0),
            new LawFit.Observation(2e6, 5e8, 3.8), new LawFit.Observation(4e6, 2.5e8, 3.7));
        IsoFlop.Result r = IsoFlop.analyse(obs, 1.5);
        assertEquals(1, r.profiles().size());
        assertNull(r.profiles().get(0).optimalParameters());
        assertEquals(Double.NaN, r.exponent());
        // two sizes only: no parabola
        assertNull(IsoFlop.analyse(obs.subList(0, 2), 1.5).profiles().get(0).optimalParameters());
        assertNotNull(r.profiles().get(0).runs());
    }

    @Test
    void polyfitRecoversAParabola() {
        List<double[]> xy = new ArrayList<>();
        for (double x = 10; x <= 14; x += 1) {
            xy.add(new double[] {x, 3 - 2 * x + 0.5 * x * x});
        }
        double[] c = Polyfit.fit(xy, 2);
        assertEquals(3, c[0], 1e-6);
        assertEquals(-2, c[1], 1e-7);
        assertEquals(0.5, c[2], 1e-9);
    }
}
