package org.sparklm.model.dl4j;

import java.nio.FloatBuffer;

/**
 * The numerical loops of the hand-written layers, each written once: plain loops over float arrays (one over a float
 * buffer) addressed by row widths, offsets and row indices, with no knowledge of INDArrays or of a particular layer.
 * The dispatch methods in {@link Kernels}, {@link BlockKernels} and the layers read the ND4J buffers into arrays, call
 * a loop here (float arrays) or in its double twin (double arrays), and write the results back.
 *
 * <p><b>The double twin is generated.</b> {@code DoubleLoops} is written by the build (core/pom.xml, phase
 * generate-sources, into {@code core/target/generated-sources/twins}; never committed) from this file by textual
 * substitution: every "float" becomes "double" and every "Float" becomes "Double", anywhere in the text (so the class
 * name and the buffer type change too; this class comment alone is replaced by a pointer here). Training runs this
 * class; the double-precision gradient checks run the twin, so they check this code, and
 * {@code PrecisionAgreementTest} checks that a network gives the same loss and gradients through either. For the
 * substitution to keep the meaning, write this file so that:
 * <ul>
 *   <li>no literal has an f suffix (the build fails on one): write 1, 0.5, or a double constant cast where used;
 *   <li>no constant or method of the Float class is used (the build fails on one): their Double counterparts have
 *       other values or names (MIN_NORMAL, MAX_VALUE, ...); define such values as double constants (see
 *       {@link #MIN_PROBABILITY});
 *   <li>every other name containing "float" or "Float" has a twin that means the same (float[] and FloatBuffer become
 *       double[] and DoubleBuffer; Math's overloads take either type), and no name that must stay as it is contains
 *       either;
 *   <li>constants that must be equal in both twins (GELU's, the probability floor) are doubles, cast to the element
 *       type where used, so the arithmetic stays in that type (an uncast one turns single-precision arithmetic into
 *       double: the cross-entropy loop ran twice as long).
 * </ul>
 *
 * <p>Each loop is a small method of its own: inlined into one large method with both types, HotSpot compiled the
 * LayerNorm loop about 6x slower (8 ms instead of 1.3 ms for 2048 x 128). Matrices are dense row-major: row i of a
 * {@code [rows, w]} matrix starts at {@code i * w}. Loops that take no row count run over the whole array, which the
 * caller sizes exactly (as {@link Kernels}' scratch arrays are).
 */
final class FloatLoops {

    /**
     * The floor under a probability before its logarithm, in both twins: 2^-126, the smallest normal single-precision
     * value, so a vanishing probability gives a large finite loss (87.3).
     */
    static final double MIN_PROBABILITY = 0x1.0p-126;

    /** 2 sqrt(2 / pi) and 0.044715: GELU(x) ~ x sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3)) (GPT-2's tanh form). */
    static final double GELU_2C = 2 * Math.sqrt(2 / Math.PI);
    static final double GELU_A = 0.044715;

    private FloatLoops() {
    }

    // ---- conversions ----

    /** {@code out[i] = (int) a[i]} for the first {@code out.length} values (token ids stored as numbers). */
    static void toInts(float[] a, int[] out) {
        for (int i = 0; i < out.length; i++) {
            out[i] = (int) a[i];
        }
    }

    // ---- rows: [n, d] matrices addressed by row index ----

    /** {@code dst[i] = src[rows[i]]} for {@code i < rows.length}; rows of width d. */
    static void gatherRows(float[] src, int[] rows, float[] dst, int d) {
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(src, rows[i] * d, dst, i * d, d);
        }
    }

    /** {@code dst[rows[i]] = src[i]} for {@code i < rows.length} (other rows of dst untouched); rows of width d. */
    static void scatterRows(float[] src, int[] rows, float[] dst, int d) {
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(src, i * d, dst, rows[i] * d, d);
        }
    }

    /**
     * {@code out[i] = table[rows[i]] + periodic[i % period]} for {@code i < rows.length}, rows of width d: a lookup
     * plus a table repeated along the rows (token plus position embeddings, with rows {@code b * period + t}).
     */
    static void gatherAddPeriodic(float[] table, int[] rows, float[] periodic, int period, float[] out, int d) {
        for (int i = 0; i < rows.length; i++) {
            int tr = rows[i] * d;
            int pr = (i % period) * d;
            int or = i * d;
            for (int j = 0; j < d; j++) {
                out[or + j] = table[tr + j] + periodic[pr + j];
            }
        }
    }

    /**
     * The gradient of {@link #gatherAddPeriodic}, accumulated: {@code dTable[rows[i]] += g[i]} and
     * {@code dPeriodic[i % period] += g[i]} for {@code i < rows.length} (repeated rows add up, in order).
     */
    static void scatterAddPeriodic(float[] g, int[] rows, int period, float[] dTable, float[] dPeriodic, int d) {
        for (int i = 0; i < rows.length; i++) {
            int tr = rows[i] * d;
            int pr = (i % period) * d;
            int gr = i * d;
            for (int j = 0; j < d; j++) {
                dTable[tr + j] += g[gr + j];
                dPeriodic[pr + j] += g[gr + j];
            }
        }
    }

    /**
     * {@code heads [b, h, t, dh]} <-> the columns {@code c0 .. c0 + h dh} of {@code rows [b * t, w]}: toHeads copies
     * rows -> heads, else heads -> rows (other columns of rows untouched).
     */
    static void permuteHeads(float[] rows, float[] heads, int w, int c0, int b, int h, int t, int dh,
                             boolean toHeads) {
        for (int bi = 0; bi < b; bi++) {
            for (int ti = 0; ti < t; ti++) {
                int row = (bi * t + ti) * w + c0;
                for (int hi = 0; hi < h; hi++) {
                    int o = ((bi * h + hi) * t + ti) * dh;
                    if (toHeads) {
                        System.arraycopy(rows, row + hi * dh, heads, o, dh);
                    } else {
                        System.arraycopy(heads, o, rows, row + hi * dh, dh);
                    }
                }
            }
        }
    }

    // ---- cross-entropy ----

    /**
     * Cross-entropy of each row of a probability matrix in a buffer against its label:
     * {@code loss[i] = -log max(p[i, labels[i]], MIN_PROBABILITY)}; with {@code subtractOne} also
     * {@code p[i, labels[i]] -= 1} in the buffer (the softmax's output becomes the gradient at the logits). Works in
     * the buffer itself (absolute positions): the matrix, of {@code v} columns from {@code base}, is not copied. The
     * floor is cast to the element type so the comparison stays in it (in single precision, comparing as doubles made
     * this loop twice as slow).
     */
    static void crossEntropyRows(FloatBuffer p, int base, int v, int[] labels, boolean subtractOne, double[] loss) {
        for (int i = 0; i < labels.length; i++) {
            int at = base + i * v + labels[i];
            float q = p.get(at);
            loss[i] = -Math.log(Math.max(q, (float) MIN_PROBABILITY));
            if (subtractOne) {
                p.put(at, q - 1);
            }
        }
    }

    // ---- LayerNorm (Ba et al. 2016) over rows of width d ----

    /**
     * {@code ys = (xs - mean) / sqrt(var + eps) * g + b} per row; xs becomes the normalised rows and {@code r[i]} the
     * reciprocal standard deviation of row i.
     */
    static void layerNormRows(float[] xs, float[] g, float[] b, float[] ys, float[] r, int rows, int d, float eps) {
        for (int i = 0; i < rows; i++) {
            r[i] = layerNormRow(xs, g, b, ys, i * d, d, eps);
        }
    }

    private static float layerNormRow(float[] xs, float[] g, float[] b, float[] ys, int o, int d, float eps) {
        float m = 0;
        for (int j = 0; j < d; j++) {
            m += xs[o + j];
        }
        m /= d;
        float v = 0;
        for (int j = 0; j < d; j++) {
            float c = xs[o + j] - m;
            xs[o + j] = c;
            v += c * c;
        }
        float rs = (float) (1 / Math.sqrt(v / d + eps));
        for (int j = 0; j < d; j++) {
            float h = xs[o + j] * rs;
            xs[o + j] = h;
            ys[o + j] = h * g[j] + b[j];
        }
        return rs;
    }

    /**
     * Gradient of {@link #layerNormRows} from the normalised rows {@code xh} and reciprocal deviations {@code r}:
     * {@code dx += dL/dx} (dx holds what arrives by other paths, e.g. the residual stream, or zeros),
     * {@code dg += dys * xh} and {@code db += dys} summed over rows.
     */
    static void layerNormBackRows(float[] dys, float[] xh, float[] r, float[] g, float[] dx, float[] dg, float[] db,
                                  int rows, int d) {
        for (int i = 0; i < rows; i++) {
            layerNormBackRow(dys, xh, r[i], g, dx, dg, db, i * d, d);
        }
    }

    private static void layerNormBackRow(float[] dys, float[] xh, float rs, float[] g, float[] dx, float[] dg,
                                         float[] db, int o, int d) {
        float m1 = 0;
        float m2 = 0;
        for (int j = 0; j < d; j++) {
            float gy = dys[o + j];
            float dxh = gy * g[j];
            m1 += dxh;
            m2 += dxh * xh[o + j];
            dg[j] += gy * xh[o + j];
            db[j] += gy;
        }
        m1 /= d;
        m2 /= d;
        for (int j = 0; j < d; j++) {
            dx[o + j] += rs * (dys[o + j] * g[j] - m1 - xh[o + j] * m2);
        }
    }

    // ---- row vectors and column sums over [rows, w] (all rows: the arrays hold exactly the matrix) ----

    /** {@code x[i] += bias} on every row. */
    static void addBias(float[] x, float[] bias, int w) {
        for (int o = 0; o < x.length; o += w) {
            for (int j = 0; j < w; j++) {
                x[o + j] += bias[j];
            }
        }
    }

    /** {@code sums += } the sums of the columns (a bias gradient, with sums zero). */
    static void columnSums(float[] x, float[] sums, int w) {
        for (int o = 0; o < x.length; o += w) {
            for (int j = 0; j < w; j++) {
                sums[j] += x[o + j];
            }
        }
    }

    // ---- residual branches with inverted dropout (Srivastava et al. 2014): mask values 0 or 1 / (1 - p) ----

    /** {@code x += mask * (a + bias)} (mask null: 1); a, mask like x, bias one row. */
    static void residual(float[] x, float[] a, float[] bias, float[] mask, int w) {
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

    /** Gradient of {@link #residual}'s branch: {@code g *= mask} (unless null) and {@code sums +=} g's column sums. */
    static void branchGradient(float[] g, float[] mask, float[] sums, int w) {
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

    // ---- GELU, tanh form: GELU(x) = x sigmoid(v), v = 2c x (1 + a x^2) ----

    /** {@code f += bias} (in place) and {@code v = 2c f (1 + a f^2)}; the caller takes the sigmoid. */
    static void geluInput(float[] f, float[] bias, float[] v, int w) {
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

    /**
     * GELU's gradient in place: {@code g *= s + f s (1 - s) 2c (1 + 3 a f^2)} with {@code s = sigmoid(v)} from the
     * forward pass, and {@code sums +=} the column sums of the result (the bias gradient).
     */
    static void geluBackward(float[] f, float[] s, float[] g, float[] sums, int w) {
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

    // ---- softmax over rows of width w ----

    /**
     * Softmax gradient in place: {@code g *= mask} (dropout after the softmax; null: none), then per row
     * {@code g = p (g - sum(p g))}.
     */
    static void softmaxBackward(float[] p, float[] g, float[] mask, int w) {
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
}
