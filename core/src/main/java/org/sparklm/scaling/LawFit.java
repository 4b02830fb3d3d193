package org.sparklm.scaling;

import java.util.ArrayList;
import java.util.List;

/**
 * Fits {@link ScalingLaw} to final losses as approach 3 of Hoffmann et al. 2022 (section 3.3 and appendix D.2):
 * minimise over (a, b, e, alpha, beta) the sum over runs of
 * {@code Huber_delta(LSE(a - alpha log N, b - beta log D, e) - log L)}, with delta = 1e-3, by L-BFGS ({@link Lbfgs})
 * from every point of their grid of starts (alpha, beta in {0, 0.5, ..., 2}, e in {-1, -0.5, ..., 1}, a, b in
 * {0, 5, ..., 25}: 4 500 starts), keeping the best; then A = exp(a), B = exp(b), E = exp(e). LSE is log-sum-exp, so
 * the prediction is log(E + A / N^alpha + B / D^beta) evaluated stably. Besiroglu et al. 2024 found the original fit
 * stopped early; here each start runs to a gradient below 1e-10 or 2 000 iterations.
 */
public final class LawFit {

    /** Huber's delta on log loss (Hoffmann et al.). */
    public static final double DELTA = 1e-3;

    /** One run: N parameters ({@link Scaling#parameters}), D training tokens, its final validation loss. */
    public record Observation(double n, double d, double loss) {
        public Observation {
            if (!(n > 0 && d > 0 && loss > 0 && Double.isFinite(loss))) {
                throw new IllegalArgumentException("an observation needs N > 0, D > 0 and a finite loss > 0, got N "
                    + n + ", D " + d + ", loss " + loss);
            }
        }

        public double flops() {
            return Scaling.flops(n, d);
        }
    }

    /**
     * The fit.
     *
     * @param law       the fitted law
     * @param objective the summed Huber loss at the optimum
     * @param starts    starting points tried
     * @param converged starts whose search met the gradient test
     * @param residuals log predicted minus log observed loss, per observation (in the order given)
     */
    public record Result(ScalingLaw law, double objective, int starts, int converged, double[] residuals) {
    }

    private LawFit() {
    }

    /** Hoffmann et al.'s grid of starts, as (a, b, e, alpha, beta). */
    public static List<double[]> hoffmannGrid() {
        List<double[]> starts = new ArrayList<>();
        for (double alpha = 0; alpha <= 2.0001; alpha += 0.5) {
            for (double beta = 0; beta <= 2.0001; beta += 0.5) {
                for (double e = -1; e <= 1.0001; e += 0.5) {
                    for (double a = 0; a <= 25.0001; a += 5) {
                        for (double b = 0; b <= 25.0001; b += 5) {
                            starts.add(new double[] {a, b, e, alpha, beta});
                        }
                    }
                }
            }
        }
        return starts;
    }

    /** Fits the law to the observations from Hoffmann et al.'s grid of starts. */
    public static Result fit(List<Observation> obs, String name) {
        return fit(obs, name, hoffmannGrid());
    }

    /** Fits the law from the given starts (a, b, e, alpha, beta). Needs at least 5 observations. */
    public static Result fit(List<Observation> obs, String name, List<double[]> starts) {
        if (obs.size() < 5) {
            throw new IllegalArgumentException("fitting L(N, D) needs at least 5 runs (5 constants), got "
                + obs.size());
        }
        double[] logN = new double[obs.size()];
        double[] logD = new double[obs.size()];
        double[] logL = new double[obs.size()];
        for (int i = 0; i < obs.size(); i++) {
            logN[i] = Math.log(obs.get(i).n());
            logD[i] = Math.log(obs.get(i).d());
            logL[i] = Math.log(obs.get(i).loss());
        }
        Lbfgs.Function f = (t, grad) -> objective(t, grad, logN, logD, logL);
        Lbfgs lbfgs = new Lbfgs(10, 2000, 1e-10);
        double[] best = null;
        double bestValue = Double.POSITIVE_INFINITY;
        int converged = 0;
        for (double[] s : starts) {
            Lbfgs.Result r = lbfgs.minimize(f, s);
            if (r.converged()) {
                converged++;
            }
            // exponents must come out positive for the law (and its optimum) to mean anything
            if (r.value() < bestValue && r.x()[3] > 0 && r.x()[4] > 0) {
                bestValue = r.value();
                best = r.x();
            }
        }
        if (best == null) {
            throw new IllegalStateException("no start of the fit reached positive exponents");
        }
        double[] res = new double[obs.size()];
        for (int i = 0; i < res.length; i++) {
            res[i] = logPredicted(best, logN[i], logD[i]) - logL[i];
        }
        ScalingLaw law = new ScalingLaw(name, Math.exp(best[2]), Math.exp(best[0]), Math.exp(best[1]), best[3],
            best[4]);
        return new Result(law, bestValue, starts.size(), converged, res);
    }

    static double logPredicted(double[] t, double logN, double logD) {
        double u = t[0] - t[3] * logN;
        double v = t[1] - t[4] * logD;
        double w = t[2];
        double m = Math.max(u, Math.max(v, w));
        return m + Math.log(Math.exp(u - m) + Math.exp(v - m) + Math.exp(w - m));
    }

    /** The summed Huber loss of the log residuals and its gradient in (a, b, e, alpha, beta). */
    static double objective(double[] t, double[] grad, double[] logN, double[] logD, double[] logL) {
        java.util.Arrays.fill(grad, 0);
        double sum = 0;
        for (int i = 0; i < logN.length; i++) {
            double u = t[0] - t[3] * logN[i];
            double v = t[1] - t[4] * logD[i];
            double w = t[2];
            double m = Math.max(u, Math.max(v, w));
            double eu = Math.exp(u - m);
            double ev = Math.exp(v - m);
            double ew = Math.exp(w - m);
            double z = eu + ev + ew;
            double r = m + Math.log(z) - logL[i];
            double h;
            double dh;
            if (Math.abs(r) <= DELTA) {
                h = 0.5 * r * r;
                dh = r;
            } else {
                h = DELTA * (Math.abs(r) - 0.5 * DELTA);
                dh = Math.signum(r) * DELTA;
            }
            sum += h;
            double pu = eu / z;
            double pv = ev / z;
            double pw = ew / z;
            grad[0] += dh * pu;
            grad[1] += dh * pv;
            grad[2] += dh * pw;
            grad[3] -= dh * pu * logN[i];
            grad[4] -= dh * pv * logD[i];
        }
        return sum;
    }
}
