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
 * descheduled thread. Arrays are dense row-major; {@code [N, W]} rows are {@code b * T + t}; heads are {@code [B, H, T, dh]}.
 * Each kernel has a float and a double loop (double for gradient checks), kept in small methods for the JIT.
 */
final class BlockKernels {

    /** 2 sqrt(2 / pi) and 0.044715: GELU(x) ~ x sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3)) (GPT-2's tanh form). */
    static final double GELU_2C = 2 * Math.sqrt(2 / Math.PI);
    static final double GELU_A = 0.044715;

    private BlockKernels() {
    }

    // ---- heads: columns of [N, W] rows <-> [B, H, T, dh] (the ND4J attention path) ----

    /** {@code heads [B, H, T, dh]} from the columns {@code colOffset .. colOffset + H dh} of {@code rows [N, W]}. */
    static void fromColumns(INDArray rows, long colOffset, INDArray heads) {
        int[] s = dims(heads);
        int w = (int) rows.size(1);
        if (isDouble(rows)) {
            double[] out = doubles(1, s[0] * s[1] * s[2] * s[3], false);
            permuteHeads(readDoubles(rows, 0), out, w, (int) colOffset, s[0], s[1], s[2], s[3], true);
            writeDoubles(heads, out);
        } else {
            float[] out = floats(1, s[0] * s[1] * s[2] * s[3], false);
            permuteHeads(readFloats(rows, 0), out, w, (int) colOffset, s[0], s[1], s[2], s[3], true);
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
            permuteHeads(readDoubles(heads, 0), out, w, (int) colOffset, s[0], s[1], s[2], s[3], false);
            writeDoubles(rows, out);
        } else {
            float[] out = all ? floats(1, (int) rows.length(), false) : readFloats(rows, 1);
            permuteHeads(readFloats(heads, 0), out, w, (int) colOffset, s[0], s[1], s[2], s[3], false);
            writeFloats(rows, out);
        }
    }

    /** toHeads: rows (from column c0) -> heads; else heads -> rows. */
    private static void permuteHeads(float[] in, float[] out, int w, int c0, int b, int h, int t, int dh,
                                     boolean toHeads) {
        for (int bi = 0; bi < b; bi++) {
            for (int ti = 0; ti < t; ti++) {
                int row = (bi * t + ti) * w + c0;
                for (int hi = 0; hi < h; hi++) {
                    int o = ((bi * h + hi) * t + ti) * dh;
                    if (toHeads) {
                        System.arraycopy(in, row + hi * dh, out, o, dh);
                    } else {
                        System.arraycopy(in, o, out, row + hi * dh, dh);
                    }
                }
            }
        }
    }

    private static void permuteHeads(double[] in, double[] out, int w, int c0, int b, int h, int t, int dh,
                                     boolean toHeads) {
        for (int bi = 0; bi < b; bi++) {
            for (int ti = 0; ti < t; ti++) {
                int row = (bi * t + ti) * w + c0;
                for (int hi = 0; hi < h; hi++) {
                    int o = ((bi * h + hi) * t + ti) * dh;
                    if (toHeads) {
                        System.arraycopy(in, row + hi * dh, out, o, dh);
                    } else {
                        System.arraycopy(in, o, out, row + hi * dh, dh);
                    }
                }
            }
        }
    }

    // ---- biases ----

    /** {@code x += bias} on every row of {@code x [N, W]}; {@code bias [1, W]}. */
    static void addBias(INDArray x, INDArray bias) {
        int w = (int) x.size(1);
        if (isDouble(x)) {
            double[] xs = readDoubles(x, 0);
            double[] bs = readDoubles(bias);
            for (int o = 0; o < xs.length; o += w) {
                for (int j = 0; j < w; j++) {
                    xs[o + j] += bs[j];
                }
            }
            writeDoubles(x, xs);
        } else {
            float[] xs = readFloats(x, 0);
            float[] bs = readFloats(bias);
            addBias(xs, bs, w);
            writeFloats(x, xs);
        }
    }

    private static void addBias(float[] xs, float[] bs, int w) {
        for (int o = 0; o < xs.length; o += w) {
            for (int j = 0; j < w; j++) {
                xs[o + j] += bs[j];
            }
        }
    }

    /** {@code out [1, W]} = the sums of the columns of {@code x [N, W]} (a bias gradient). */
    static void columnSums(INDArray x, INDArray out) {
        int w = (int) x.size(1);
        if (isDouble(x)) {
            double[] xs = readDoubles(x, 0);
            double[] sums = new double[w];
            for (int o = 0; o < xs.length; o += w) {
                for (int j = 0; j < w; j++) {
                    sums[j] += xs[o + j];
                }
            }
            writeDoubles(out, sums);
        } else {
            float[] sums = new float[w];
            columnSums(readFloats(x, 0), sums, w);
            writeFloats(out, sums);
        }
    }

    private static void columnSums(float[] xs, float[] sums, int w) {
        for (int o = 0; o < xs.length; o += w) {
            for (int j = 0; j < w; j++) {
                sums[j] += xs[o + j];
            }
        }
    }

    // ---- residual branches ----

    /** {@code y = x + mask * (a + bias)} (mask null: 1), all [N, D] but bias [1, D]; y may be x. */
    static void residual(INDArray x, INDArray a, INDArray bias, INDArray mask, INDArray y) {
        int w = (int) x.size(1);
        if (isDouble(x)) {
            double[] xs = readDoubles(x, 0);
            residual(xs, readDoubles(a, 1), readDoubles(bias), mask == null ? null : readDoubles(mask, 2), w);
            writeDoubles(y, xs);
        } else {
            float[] xs = readFloats(x, 0);
            residual(xs, readFloats(a, 1), readFloats(bias), mask == null ? null : readFloats(mask, 2), w);
            writeFloats(y, xs);
        }
    }

    private static void residual(float[] x, float[] a, float[] bias, float[] mask, int w) {
        for (int o = 0; o < x.length; o += w) {
            if (mask == null) {
                for (int j = 0; j < w; j++) {
                    x[o + j] += a[o + j] + bias[j];
                }
            } else {
                for (int j = 0; j < w; j++) {
                    x[o + j] += (a[o + j] + bias[j]) * mask[o + j];
                }
            }
        }
    }

    private static void residual(double[] x, double[] a, double[] bias, double[] mask, int w) {
        for (int o = 0; o < x.length; o += w) {
            for (int j = 0; j < w; j++) {
                x[o + j] += (a[o + j] + bias[j]) * (mask == null ? 1 : mask[o + j]);
            }
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
            branchGradient(g, mask == null ? null : readDoubles(mask, 1), sums, w);
            if (mask != null) {
                writeDoubles(out, g);
            }
            writeDoubles(dBias, sums);
        } else {
            float[] g = readFloats(dy, 0);
            float[] sums = new float[w];
            branchGradient(g, mask == null ? null : readFloats(mask, 1), sums, w);
            if (mask != null) {
                writeFloats(out, g);
            }
            writeFloats(dBias, sums);
        }
    }

    private static void branchGradient(float[] g, float[] mask, float[] sums, int w) {
        for (int o = 0; o < g.length; o += w) {
            if (mask != null) {
                for (int j = 0; j < w; j++) {
                    g[o + j] *= mask[o + j];
                }
            }
            for (int j = 0; j < w; j++) {
                sums[j] += g[o + j];
            }
        }
    }

    private static void branchGradient(double[] g, double[] mask, double[] sums, int w) {
        for (int o = 0; o < g.length; o += w) {
            for (int j = 0; j < w; j++) {
                if (mask != null) {
                    g[o + j] *= mask[o + j];
                }
                sums[j] += g[o + j];
            }
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
            geluInput(fs, readDoubles(bias), vs, w);
            writeDoubles(f, fs);
            writeDoubles(v, vs);
        } else {
            float[] fs = readFloats(f, 0);
            float[] vs = floats(1, fs.length, false);
            geluInput(fs, readFloats(bias), vs, w);
            writeFloats(f, fs);
            writeFloats(v, vs);
        }
    }

    private static void geluInput(float[] f, float[] bias, float[] v, int w) {
        float c = (float) GELU_2C;
        float a = (float) GELU_A;
        for (int o = 0; o < f.length; o += w) {
            for (int j = 0; j < w; j++) {
                float x = f[o + j] + bias[j];
                f[o + j] = x;
                v[o + j] = c * x * (1 + a * x * x);
            }
        }
    }

    private static void geluInput(double[] f, double[] bias, double[] v, int w) {
        for (int o = 0; o < f.length; o += w) {
            for (int j = 0; j < w; j++) {
                double x = f[o + j] + bias[j];
                f[o + j] = x;
                v[o + j] = GELU_2C * x * (1 + GELU_A * x * x);
            }
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
            geluBackward(readDoubles(f, 1), readDoubles(s, 2), g, sums, w);
            writeDoubles(df, g);
            writeDoubles(dBias, sums);
        } else {
            float[] g = readFloats(dg, 0);
            float[] sums = new float[w];
            geluBackward(readFloats(f, 1), readFloats(s, 2), g, sums, w);
            writeFloats(df, g);
            writeFloats(dBias, sums);
        }
    }

    private static void geluBackward(float[] f, float[] s, float[] g, float[] sums, int w) {
        float c = (float) GELU_2C;
        float a3 = (float) (3 * GELU_A);
        for (int o = 0; o < f.length; o += w) {
            for (int j = 0; j < w; j++) {
                float x = f[o + j];
                float sg = s[o + j];
                float d = g[o + j] * (sg + x * sg * (1 - sg) * c * (1 + a3 * x * x));
                g[o + j] = d;
                sums[j] += d;
            }
        }
    }

    private static void geluBackward(double[] f, double[] s, double[] g, double[] sums, int w) {
        for (int o = 0; o < f.length; o += w) {
            for (int j = 0; j < w; j++) {
                double x = f[o + j];
                double sg = s[o + j];
                double d = g[o + j] * (sg + x * sg * (1 - sg) * GELU_2C * (1 + 3 * GELU_A * x * x));
                g[o + j] = d;
                sums[j] += d;
            }
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
            softmaxBackward(readDoubles(p, 1), g, mask == null ? null : readDoubles(mask, 2), w);
            writeDoubles(dp, g);
        } else {
            float[] g = readFloats(dp, 0);
            softmaxBackward(readFloats(p, 1), g, mask == null ? null : readFloats(mask, 2), w);
            writeFloats(dp, g);
        }
    }

    private static void softmaxBackward(float[] p, float[] g, float[] mask, int w) {
        for (int o = 0; o < p.length; o += w) {
            if (mask != null) {
                for (int j = 0; j < w; j++) {
                    g[o + j] *= mask[o + j];
                }
            }
            float r = 0;
            for (int j = 0; j < w; j++) {
                r += p[o + j] * g[o + j];
            }
            for (int j = 0; j < w; j++) {
                g[o + j] = p[o + j] * (g[o + j] - r);
            }
        }
    }

    private static void softmaxBackward(double[] p, double[] g, double[] mask, int w) {
        for (int o = 0; o < p.length; o += w) {
            double r = 0;
            for (int j = 0; j < w; j++) {
                if (mask != null) {
                    g[o + j] *= mask[o + j];
                }
                r += p[o + j] * g[o + j];
            }
            for (int j = 0; j < w; j++) {
                g[o + j] = p[o + j] * (g[o + j] - r);
            }
        }
    }

    private static int[] dims(INDArray heads) {
        return new int[] {(int) heads.size(0), (int) heads.size(1), (int) heads.size(2), (int) heads.size(3)};
    }
}
