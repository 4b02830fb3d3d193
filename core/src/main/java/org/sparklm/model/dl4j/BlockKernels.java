package org.sparklm.model.dl4j;

import static org.sparklm.model.dl4j.Kernels.doubles;
import static org.sparklm.model.dl4j.Kernels.floats;
import static org.sparklm.model.dl4j.Kernels.isDouble;
import static org.sparklm.model.dl4j.Kernels.readDoubles;
import static org.sparklm.model.dl4j.Kernels.readFloats;
import static org.sparklm.model.dl4j.Kernels.writeDoubles;
import static org.sparklm.model.dl4j.Kernels.writeFloats;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Fused elementwise passes of the Transformer block, in Java: each replaces one or several ND4J ops (bias add,
 * residual add, dropout, GELU's polynomial, column sums for bias gradients, head rearrangement, softmax gradient) by
 * one pass over arrays copied from and to the ND4J buffers. On 2 cores that is about as fast as the ND4J ops when the
 * machine is idle, and much faster when it is not: every multi-threaded ND4J op ends in a barrier that waits for a
 * descheduled thread. Arrays are dense row-major; {@code [N, W]} rows are {@code b * T + t}; heads are
 * {@code [B, H, T, dh]}. Each kernel reads the buffers, runs one loop of {@link FloatLoops} (FLOAT arrays) or of its
 * generated double twin {@code DoubleLoops} (DOUBLE arrays, for gradient checks; the same source), and writes the
 * results back.
 */
final class BlockKernels {

    private BlockKernels() {
    }

    // ---- heads: columns of [N, W] rows <-> [B, H, T, dh] (the ND4J attention path) ----

    /** {@code heads [B, H, T, dh]} from the columns {@code colOffset .. colOffset + H dh} of {@code rows [N, W]}. */
    static void fromColumns(INDArray rows, long colOffset, INDArray heads) {
        int[] s = dims(heads);
        int w = (int) rows.size(1);
        if (isDouble(rows)) {
            double[] out = doubles(1, s[0] * s[1] * s[2] * s[3], false);
            DoubleLoops.permuteHeads(readDoubles(rows, 0), out, w, (int) colOffset, s[0], s[1], s[2], s[3], true);
            writeDoubles(heads, out);
        } else {
            float[] out = floats(1, s[0] * s[1] * s[2] * s[3], false);
            FloatLoops.permuteHeads(readFloats(rows, 0), out, w, (int) colOffset, s[0], s[1], s[2], s[3], true);
            writeFloats(heads, out);
        }
    }

    /** Writes {@code heads [B, H, T, dh]} into the columns {@code colOffset ..} of {@code rows [N, W]}. */
    static void toColumns(INDArray heads, INDArray rows, long colOffset) {
        int[] s = dims(heads);
        int w = (int) rows.size(1);
        boolean all = w == s[1] * s[3];
        if (isDouble(rows)) {
            double[] out = all ? doubles(1, (int) rows.length(), false) : readDoubles(rows, 1);
            DoubleLoops.permuteHeads(out, readDoubles(heads, 0), w, (int) colOffset, s[0], s[1], s[2], s[3], false);
            writeDoubles(rows, out);
        } else {
            float[] out = all ? floats(1, (int) rows.length(), false) : readFloats(rows, 1);
            FloatLoops.permuteHeads(out, readFloats(heads, 0), w, (int) colOffset, s[0], s[1], s[2], s[3], false);
            writeFloats(rows, out);
        }
    }

    // ---- biases ----

    /** {@code x += bias} on every row of {@code x [N, W]}; {@code bias [1, W]}. */
    static void addBias(INDArray x, INDArray bias) {
        int w = (int) x.size(1);
        if (isDouble(x)) {
            double[] xs = readDoubles(x, 0);
            DoubleLoops.addBias(xs, readDoubles(bias), w);
            writeDoubles(x, xs);
        } else {
            float[] xs = readFloats(x, 0);
            FloatLoops.addBias(xs, readFloats(bias), w);
            writeFloats(x, xs);
        }
    }

    /** {@code out [1, W]} = the sums of the columns of {@code x [N, W]} (a bias gradient). */
    static void columnSums(INDArray x, INDArray out) {
        int w = (int) x.size(1);
        if (isDouble(x)) {
            double[] sums = new double[w];
            DoubleLoops.columnSums(readDoubles(x, 0), sums, w);
            writeDoubles(out, sums);
        } else {
            float[] sums = new float[w];
            FloatLoops.columnSums(readFloats(x, 0), sums, w);
            writeFloats(out, sums);
        }
    }

    // ---- residual branches ----

    /** {@code y = x + mask * (a + bias)} (mask null: 1), all [N, D] but bias [1, D]; y may be x. */
    static void residual(INDArray x, INDArray a, INDArray bias, INDArray mask, INDArray y) {
        int w = (int) x.size(1);
        if (isDouble(x)) {
            double[] xs = readDoubles(x, 0);
            double[] m = mask == null ? null : readDoubles(mask, 2);
            DoubleLoops.residual(xs, readDoubles(a, 1), readDoubles(bias), m, w);
            writeDoubles(y, xs);
        } else {
            float[] xs = readFloats(x, 0);
            float[] m = mask == null ? null : readFloats(mask, 2);
            FloatLoops.residual(xs, readFloats(a, 1), readFloats(bias), m, w);
            writeFloats(y, xs);
        }
    }

    /**
     * Gradient through a residual branch's dropout and bias: {@code out = dy * mask} (only if mask is non-null; the
     * caller then uses {@code dy} itself) and {@code dBias [1, D]} = column sums of that.
     */
    static void branchGradient(INDArray dy, INDArray mask, INDArray out, INDArray dBias) {
        int w = (int) dy.size(1);
        if (isDouble(dy)) {
            double[] g = readDoubles(dy, 0);
            double[] sums = new double[w];
            DoubleLoops.branchGradient(g, mask == null ? null : readDoubles(mask, 1), sums, w);
            if (mask != null) {
                writeDoubles(out, g);
            }
            writeDoubles(dBias, sums);
        } else {
            float[] g = readFloats(dy, 0);
            float[] sums = new float[w];
            FloatLoops.branchGradient(g, mask == null ? null : readFloats(mask, 1), sums, w);
            if (mask != null) {
                writeFloats(out, g);
            }
            writeFloats(dBias, sums);
        }
    }

    // ---- GELU ----

    /**
     * First half of the GELU forward pass: {@code f += bias} (in place) and {@code v = 2c f (1 + a f^2)}; the caller
     * then takes {@code s = sigmoid(v)} and {@code GELU(f) = f s} with ND4J (the exponential is several times faster
     * there than Java's).
     */
    static void geluInput(INDArray f, INDArray bias, INDArray v) {
        int w = (int) f.size(1);
        if (isDouble(f)) {
            double[] fs = readDoubles(f, 0);
            double[] vs = doubles(1, fs.length, false);
            DoubleLoops.geluInput(fs, readDoubles(bias), vs, w);
            writeDoubles(f, fs);
            writeDoubles(v, vs);
        } else {
            float[] fs = readFloats(f, 0);
            float[] vs = floats(1, fs.length, false);
            FloatLoops.geluInput(fs, readFloats(bias), vs, w);
            writeFloats(f, fs);
            writeFloats(v, vs);
        }
    }

    /**
     * GELU's gradient: {@code df = dg * (s + f s (1 - s) 2c (1 + 3 a f^2))} with the forward pass's {@code s}, and
     * {@code dBias} = column sums of df.
     */
    static void geluBackward(INDArray f, INDArray s, INDArray dg, INDArray df, INDArray dBias) {
        int w = (int) f.size(1);
        if (isDouble(f)) {
            double[] g = readDoubles(dg, 0);
            double[] sums = new double[w];
            DoubleLoops.geluBackward(readDoubles(f, 1), readDoubles(s, 2), g, sums, w);
            writeDoubles(df, g);
            writeDoubles(dBias, sums);
        } else {
            float[] g = readFloats(dg, 0);
            float[] sums = new float[w];
            FloatLoops.geluBackward(readFloats(f, 1), readFloats(s, 2), g, sums, w);
            writeFloats(df, g);
            writeFloats(dBias, sums);
        }
    }

    // ---- softmax ----

    /**
     * Softmax gradient over the last dimension, in place: {@code g = dp * mask} (mask: attention dropout, may be
     * null), then {@code dp = p * (g - sum(p * g))} per row.
     */
    static void softmaxBackward(INDArray p, INDArray dp, INDArray mask) {
        int w = (int) p.size(p.rank() - 1);
        if (isDouble(p)) {
            double[] g = readDoubles(dp, 0);
            DoubleLoops.softmaxBackward(readDoubles(p, 1), g, mask == null ? null : readDoubles(mask, 2), w);
            writeDoubles(dp, g);
        } else {
            float[] g = readFloats(dp, 0);
            FloatLoops.softmaxBackward(readFloats(p, 1), g, mask == null ? null : readFloats(mask, 2), w);
            writeFloats(dp, g);
        }
    }

    private static int[] dims(INDArray heads) {
        return new int[] {(int) heads.size(0), (int) heads.size(1), (int) heads.size(2), (int) heads.size(3)};
    }
}
