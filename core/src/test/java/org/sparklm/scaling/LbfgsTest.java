package org.sparklm.scaling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class LbfgsTest {

    @Test
    void minimisesRosenbrock() {
        // f = (1 - x)^2 + 100 (y - x^2)^2, minimum 0 at (1, 1), from the classic start (-1.2, 1)
        Lbfgs.Function f = (x, g) -> {
            double a = 1 - x[0];
            double b = x[1] - x[0] * x[0];
            g[0] = -2 * a - 400 * x[0] * b;
            g[1] = 200 * b;
            return a * a + 100 * b * b;
        };
        Lbfgs.Result r = new Lbfgs(5, 500, 1e-8).minimize(f, new double[] {-1.2, 1});
        assertTrue(r.converged(), "iterations " + r.iterations());
        assertEquals(1, r.x()[0], 1e-6);
        assertEquals(1, r.x()[1], 1e-6);
        assertTrue(r.iterations() < 100, "L-BFGS should need tens of iterations, took " + r.iterations());
    }

    @Test
    void minimisesAnIllConditionedQuadratic() {
        double[] scale = {1, 10, 100, 1000, 10000};
        Lbfgs.Function f = (x, g) -> {
            double s = 0;
            for (int i = 0; i < x.length; i++) {
                double d = x[i] - i;
                s += 0.5 * scale[i] * d * d;
                g[i] = scale[i] * d;
            }
            return s;
        };
        Lbfgs.Result r = new Lbfgs(10, 500, 1e-9).minimize(f, new double[5]);
        for (int i = 0; i < 5; i++) {
            assertEquals(i, r.x()[i], 1e-8);
        }
    }
}
