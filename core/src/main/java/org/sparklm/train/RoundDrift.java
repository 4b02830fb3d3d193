package org.sparklm.train;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * How far a round of parameter averaging moved, from scalars the workers send besides their parameters: each worker
 * w adds {@code |x_w|^2} and {@code |x_w - p|^2} (p: the parameters the round started from), and the driver, which
 * knows the workers' mean {@code m}, turns the sums into
 *
 * <pre>
 *   spread               = sqrt(mean_w |x_w - m|^2) = sqrt(mean_w |x_w|^2 - |m|^2)
 *   pseudo-gradient norm = |p - m|                  = sqrt(mean_w |x_w - p|^2 - spread^2)
 * </pre>
 *
 * (the second by the bias-variance split of {@code mean_w |x_w - p|^2}). The spread is the workers' drift from one
 * another (0 for one worker); the pseudo-gradient is what the outer step sees. Squares are summed in double, in
 * chunks, so a float network's figures do not depend on its size. Values below zero from rounding are taken as 0.
 */
public final class RoundDrift {

    private static final long CHUNK = 1 << 20;

    private RoundDrift() {
    }

    /** {@code |a|^2}, summed in double. */
    public static double squaredNorm(INDArray a) {
        return squaredDistance(a, null);
    }

    /** {@code |a - b|^2}, summed in double ({@code b} null: {@code |a|^2}); a and b are read as flat vectors. */
    public static double squaredDistance(INDArray a, INDArray b) {
        if (b != null && a.length() != b.length()) {
            throw new IllegalArgumentException("lengths differ: " + a.length() + " and " + b.length());
        }
        INDArray fa = a.reshape(a.length());
        INDArray fb = b == null ? null : b.reshape(b.length());
        double sum = 0;
        for (long from = 0; from < fa.length(); from += CHUNK) {
            long to = Math.min(fa.length(), from + CHUNK);
            INDArray d = fa.get(NDArrayIndex.interval(from, to)).castTo(DataType.DOUBLE);
            if (fb != null) {
                d.subi(fb.get(NDArrayIndex.interval(from, to)).castTo(DataType.DOUBLE));
            }
            sum += d.mul(d).sumNumber().doubleValue();
        }
        return sum;
    }

    /**
     * {spread, pseudo-gradient norm} from the sums over {@code workers} workers and the mean's squared norm.
     *
     * @param workers            how many workers sent parameters (at least 1)
     * @param sumSquaredNorms    sum over the workers of {@code |x_w|^2}
     * @param sumSquaredFromStart sum over the workers of {@code |x_w - p|^2}
     * @param meanSquaredNorm    {@code |m|^2}
     */
    public static double[] of(long workers, double sumSquaredNorms, double sumSquaredFromStart,
                              double meanSquaredNorm) {
        if (workers < 1) {
            throw new IllegalArgumentException("need at least one worker, got " + workers);
        }
        double spread2 = workers == 1 ? 0 : Math.max(0, sumSquaredNorms / workers - meanSquaredNorm);
        double pg2 = Math.max(0, sumSquaredFromStart / workers - spread2);
        return new double[] {Math.sqrt(spread2), Math.sqrt(pg2)};
    }
}
