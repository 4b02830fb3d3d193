package org.sparklm.scaling;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;

/**
 * Limited-memory BFGS (Liu and Nocedal 1989; Nocedal and Wright, "Numerical Optimization", algorithms 7.4 and 7.5):
 * the two-loop recursion over the last {@code m} curvature pairs, a line search that brackets and bisects until the
 * weak Wolfe conditions hold (sufficient decrease c1 = 1e-4, curvature c2 = 0.9), and a pair kept only when
 * {@code s.y > 0}. Small and dependency-free: nothing on core's classpath offers L-BFGS for a plain function.
 */
public final class Lbfgs {

    /** A differentiable function: returns f(x) and writes its gradient into {@code grad}. */
    @FunctionalInterface
    public interface Function {
        double valueAndGradient(double[] x, double[] grad);
    }

    /** Where the search ended: the point, its value, the iterations, and whether the gradient test was met. */
    public record Result(double[] x, double value, int iterations, boolean converged) {
    }

    private final int memory;
    private final int maxIterations;
    private final double gradientTolerance;

    /**
     * @param memory            curvature pairs kept (m)
     * @param maxIterations     iterations at most
     * @param gradientTolerance stop when the gradient's max-norm is below this
     */
    public Lbfgs(int memory, int maxIterations, double gradientTolerance) {
        if (memory < 1 || maxIterations < 1 || !(gradientTolerance >= 0)) {
            throw new IllegalArgumentException("L-BFGS: memory and iterations must be >= 1, tolerance >= 0");
        }
        this.memory = memory;
        this.maxIterations = maxIterations;
        this.gradientTolerance = gradientTolerance;
    }

    /** Minimises f from x0 (not modified). */
    public Result minimize(Function f, double[] x0) {
        int n = x0.length;
        double[] x = x0.clone();
        double[] g = new double[n];
        double fx = f.valueAndGradient(x, g);
        if (!Double.isFinite(fx)) {
            return new Result(x, fx, 0, false);
        }
        Deque<double[][]> pairs = new ArrayDeque<>();   // {s, y, {rho}}, newest first
        double[] xNew = new double[n];
        double[] gNew = new double[n];
        for (int it = 0; it < maxIterations; it++) {
            if (maxAbs(g) <= gradientTolerance) {
                return new Result(x, fx, it, true);
            }
            double[] d = direction(g, pairs);
            double slope = dot(g, d);
            if (!(slope < 0)) {                          // not a descent direction: restart from steepest descent
                pairs.clear();
                for (int i = 0; i < n; i++) {
                    d[i] = -g[i];
                }
                slope = dot(g, d);
            }
            double step = pairs.isEmpty() ? Math.min(1.0, 1.0 / Math.max(1e-12, maxAbs(g))) : 1.0;
            double lo = 0;
            double hi = Double.POSITIVE_INFINITY;
            double fNew = Double.NaN;
            boolean found = false;
            for (int ls = 0; ls < 60; ls++) {
                for (int i = 0; i < n; i++) {
                    xNew[i] = x[i] + step * d[i];
                }
                fNew = f.valueAndGradient(xNew, gNew);
                if (!Double.isFinite(fNew) || fNew > fx + 1e-4 * step * slope) {
                    hi = step;                                   // too far: no sufficient decrease
                } else if (dot(gNew, d) < 0.9 * slope) {
                    lo = step;                                   // too short: the slope is still steep
                } else {
                    found = true;
                    break;
                }
                step = Double.isInfinite(hi) ? 2 * lo : (lo + hi) / 2;
            }
            if (!found) {
                if (Double.isFinite(fNew) && fNew < fx) {        // accept the decrease we have
                    found = true;
                } else {
                    return new Result(x, fx, it, false);
                }
            }
            double[] s = new double[n];
            double[] y = new double[n];
            for (int i = 0; i < n; i++) {
                s[i] = xNew[i] - x[i];
                y[i] = gNew[i] - g[i];
            }
            double sy = dot(s, y);
            if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(y, y))) {
                pairs.addFirst(new double[][] {s, y, {1.0 / sy}});
                if (pairs.size() > memory) {
                    pairs.removeLast();
                }
            }
            double change = Math.abs(fx - fNew);
            System.arraycopy(xNew, 0, x, 0, n);
            System.arraycopy(gNew, 0, g, 0, n);
            fx = fNew;
            if (change <= 1e-16 * Math.max(1, Math.abs(fx))) {
                return new Result(x, fx, it + 1, maxAbs(g) <= gradientTolerance);
            }
        }
        return new Result(x, fx, maxIterations, maxAbs(g) <= gradientTolerance);
    }

    /** The two-loop recursion: -H g, with H0 = (s.y / y.y) I from the newest pair. */
    private static double[] direction(double[] g, Deque<double[][]> pairs) {
        int n = g.length;
        double[] q = g.clone();
        double[] alphas = new double[pairs.size()];
        int k = 0;
        for (double[][] p : pairs) {                       // newest to oldest
            double a = p[2][0] * dot(p[0], q);
            alphas[k++] = a;
            axpy(-a, p[1], q);
        }
        if (!pairs.isEmpty()) {
            double[][] newest = pairs.peekFirst();
            double gamma = dot(newest[0], newest[1]) / dot(newest[1], newest[1]);
            for (int i = 0; i < n; i++) {
                q[i] *= gamma;
            }
        }
        k = pairs.size() - 1;
        for (Iterator<double[][]> it = pairs.descendingIterator(); it.hasNext(); k--) {   // oldest to newest
            double[][] p = it.next();
            double b = p[2][0] * dot(p[1], q);
            axpy(alphas[k] - b, p[0], q);
        }
        for (int i = 0; i < n; i++) {
            q[i] = -q[i];
        }
        return q;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    private static void axpy(double a, double[] x, double[] y) {
        for (int i = 0; i < x.length; i++) {
            y[i] += a * x[i];
        }
    }

    private static double maxAbs(double[] a) {
        double m = 0;
        for (double v : a) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }
}
