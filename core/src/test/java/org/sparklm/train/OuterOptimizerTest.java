package org.sparklm.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The outer step against a hand computation of PyTorch's SGD(momentum, nesterov=True, dampening=0). */
class OuterOptimizerTest {

    private static INDArray v(double... x) {
        return Nd4j.createFromArray(x).castTo(DataType.DOUBLE);
    }

    @Test
    void nesterovMatchesTheHandComputation() {
        OuterOptimizer o = new OuterOptimizer(OuterOptimizer.Kind.NESTEROV, 0.5, 0.9);
        INDArray p = v(1.0, -2.0);
        // round 1: mean (0.8, -1.5): g = (0.2, -0.5); v = g; step = g + 0.9 v = (0.38, -0.95); p -= 0.5 step
        o.step(p, v(0.8, -1.5));
        assertArrayEquals(new double[] {1.0 - 0.19, -2.0 + 0.475}, p.toDoubleVector(), 1e-12);
        assertArrayEquals(new double[] {0.2, -0.5}, o.velocity().toDoubleVector(), 1e-12);
        // round 2 from p = (0.81, -1.525), mean (0.7, -1.5): g = (0.11, -0.025); v = 0.9 (0.2, -0.5) + g
        // = (0.29, -0.475); step = g + 0.9 v = (0.371, -0.4525); p -= 0.5 step
        o.step(p, v(0.7, -1.5));
        assertArrayEquals(new double[] {0.81 - 0.1855, -1.525 + 0.22625}, p.toDoubleVector(), 1e-12);
        assertArrayEquals(new double[] {0.29, -0.475}, o.velocity().toDoubleVector(), 1e-12);
        // a restored buffer continues the same way
        OuterOptimizer r = new OuterOptimizer(OuterOptimizer.Kind.NESTEROV, 0.5, 0.9);
        r.setVelocity(o.velocity());
        INDArray p1 = p.dup();
        INDArray p2 = p.dup();
        o.step(p1, v(0.5, -1.0));
        r.step(p2, v(0.5, -1.0));
        assertArrayEquals(p1.toDoubleVector(), p2.toDoubleVector(), 0);
    }

    @Test
    void averagingTakesTheMeanAndNesterovWithLrOneAndNoMomentumToo() {
        OuterOptimizer avg = new OuterOptimizer(OuterOptimizer.Kind.AVERAGE, 0.7, 0.9);
        INDArray p = v(3, 4);
        avg.step(p, v(1, 2));
        assertArrayEquals(new double[] {1, 2}, p.toDoubleVector(), 0);
        assertNull(avg.velocity());
        OuterOptimizer sgd = new OuterOptimizer(OuterOptimizer.Kind.NESTEROV, 1.0, 0.0);
        INDArray q = v(3, 4);
        sgd.step(q, v(1, 2));
        assertArrayEquals(new double[] {1, 2}, q.toDoubleVector(), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> new OuterOptimizer(OuterOptimizer.Kind.NESTEROV, 0.7, 1));
    }
}
