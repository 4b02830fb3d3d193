package org.sparklm.scaling;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Approach 2 of Hoffmann et al. 2022 (section 3.2): runs of (about) the same compute form an IsoFLOP profile; a
 * parabola of the loss in log N through a profile has its minimum at that compute's optimal N. Then
 * {@code N_opt = k C^a} is fitted to the minima by least squares in log-log.
 *
 * <p>A sweep is a grid of sizes x tokens per parameter, not a set of exact IsoFLOP profiles, so runs are grouped by
 * compute: sorted by C, a profile takes consecutive runs within a factor {@code tolerance} of its first one. A
 * profile needs three distinct sizes and an upward parabola whose minimum lies inside its sizes; otherwise it has no
 * minimum (reported as such). With sizes about x2 apart and tokens per parameter x4 apart, the grid's diagonals
 * have equal compute (C = 6 k N^2), which is how the benchmark's grid is laid out.
 */
public final class IsoFlop {

    /** One profile: its runs, their geometric-mean compute, and the minimum (null when it has none). */
    public record Profile(double flops, List<LawFit.Observation> runs, Double optimalParameters, Double minimumLoss) {
        /** D_opt = C / (6 N_opt), or null. */
        public Double optimalTokens() {
            return optimalParameters == null ? null : flops / (6 * optimalParameters);
        }
    }

    /** The profiles and, when two or more have a minimum, N_opt = k C^a (else a and k are NaN). */
    public record Result(List<Profile> profiles, double exponent, double coefficient) {
        /** Profiles with a minimum. */
        public List<Profile> minima() {
            return profiles.stream().filter(p -> p.optimalParameters() != null).toList();
        }
    }

    private IsoFlop() {
    }

    /** Groups the runs by compute (within a factor {@code tolerance}) and finds each profile's minimum. */
    public static Result analyse(List<LawFit.Observation> obs, double tolerance) {
        if (!(tolerance >= 1)) {
            throw new IllegalArgumentException("IsoFLOP tolerance must be a factor >= 1, got " + tolerance);
        }
        List<LawFit.Observation> sorted = new ArrayList<>(obs);
        sorted.sort(Comparator.comparingDouble(LawFit.Observation::flops));
        List<Profile> profiles = new ArrayList<>();
        int i = 0;
        while (i < sorted.size()) {
            double first = sorted.get(i).flops();
            int j = i;
            while (j < sorted.size() && sorted.get(j).flops() <= first * tolerance) {
                j++;
            }
            profiles.add(profile(sorted.subList(i, j)));
            i = j;
        }
        List<double[]> xy = new ArrayList<>();
        for (Profile p : profiles) {
            if (p.optimalParameters() != null) {
                xy.add(new double[] {Math.log(p.flops()), Math.log(p.optimalParameters())});
            }
        }
        double a = Double.NaN;
        double k = Double.NaN;
        if (xy.size() >= 2) {
            double[] line = Polyfit.fit(xy, 1);
            a = line[1];
            k = Math.exp(line[0]);
        }
        return new Result(profiles, a, k);
    }

    static Profile profile(List<LawFit.Observation> runs) {
        double logC = 0;
        for (LawFit.Observation o : runs) {
            logC += Math.log(o.flops());
        }
        double c = Math.exp(logC / runs.size());
        long sizes = runs.stream().mapToDouble(LawFit.Observation::n).distinct().count();
        if (sizes < 3) {
            return new Profile(c, List.copyOf(runs), null, null);
        }
        List<double[]> xy = new ArrayList<>();
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (LawFit.Observation o : runs) {
            double x = Math.log(o.n());
            xy.add(new double[] {x, o.loss()});
            lo = Math.min(lo, x);
            hi = Math.max(hi, x);
        }
        double[] p = Polyfit.fit(xy, 2);
        if (!(p[2] > 0)) {
            return new Profile(c, List.copyOf(runs), null, null);
        }
        double x = -p[1] / (2 * p[2]);
        if (x < lo || x > hi) {
            return new Profile(c, List.copyOf(runs), null, null);
        }
        return new Profile(c, List.copyOf(runs), Math.exp(x), p[0] + p[1] * x + p[2] * x * x);
    }
}
