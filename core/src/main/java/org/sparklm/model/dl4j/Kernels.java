package org.sparklm.model.dl4j;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastMulOp;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Sigmoid;
import org.nd4j.linalg.api.ops.random.impl.BernoulliDistribution;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The numerical pieces of the layers that ND4J has no fast op for. Row-wise work (LayerNorm and its gradient, row
 * gathers and scatters) runs in Java on arrays copied from and to the ND4J buffers (two memcpys, cheaper than ND4J's
 * LayerNorm ops on these shapes); elementwise transcendental work (GELU's sigmoid) and matrix products stay in ND4J.
 * Every method handles FLOAT and DOUBLE arrays (double for gradient checks).
 */
final class Kernels {

    /** sqrt(2 / pi): GPT-2's tanh approximation of GELU. */
    private static final double GELU_C = Math.sqrt(2 / Math.PI);
    private static final double GELU_A = 0.044715;

    private Kernels() {
    }

    static boolean isDouble(INDArray a) {
        return a.dataType() == DataType.DOUBLE;
    }

    /** True if the array is laid out row-major without gaps, so its buffer can be read as one block. */
    static boolean isDense(INDArray a) {
        long[] shape = a.shape();
        long[] stride = a.stride();
        long expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && stride[i] != expected) {
                return false;
            }
            expected *= shape[i];
        }
        return true;
    }

    /** The array itself if dense row-major, else a dense copy in the given workspace. */
    static INDArray dense(INDArray a, LayerWorkspaceMgr mgr, ArrayType type) {
        return isDense(a) ? a : mgr.dup(type, a, 'c');
    }

    static float[] readFloats(INDArray a) {
        checkDense(a);
        float[] out = new float[Math.toIntExact(a.length())];
        FloatBuffer b = a.data().asNioFloat();
        b.position(Math.toIntExact(a.offset()));
        b.get(out);
        return out;
    }

    static void writeFloats(INDArray a, float[] v) {
        checkDense(a);
        FloatBuffer b = a.data().asNioFloat();
        b.position(Math.toIntExact(a.offset()));
        b.put(v, 0, Math.toIntExact(a.length()));
    }

    static double[] readDoubles(INDArray a) {
        checkDense(a);
        double[] out = new double[Math.toIntExact(a.length())];
        DoubleBuffer b = a.data().asNioDouble();
        b.position(Math.toIntExact(a.offset()));
        b.get(out);
        return out;
    }

    static void writeDoubles(INDArray a, double[] v) {
        checkDense(a);
        DoubleBuffer b = a.data().asNioDouble();
        b.position(Math.toIntExact(a.offset()));
        b.put(v, 0, Math.toIntExact(a.length()));
    }

    private static void checkDense(INDArray a) {
        if (!isDense(a)) {
            throw new IllegalArgumentException("expected a dense row-major array, got shape "
                + java.util.Arrays.toString(a.shape()) + " strides " + java.util.Arrays.toString(a.stride()));
        }
    }

    /** Reads any numeric array (a view, or of another type) as ints, row-major: token ids. */
    static int[] readInts(INDArray a) {
        INDArray d = isDense(a) ? a : a.dup('c');
        int n = Math.toIntExact(d.length());
        int[] out = new int[n];
        if (d.dataType() == DataType.FLOAT) {
            float[] f = readFloats(d);
            for (int i = 0; i < n; i++) {
                out[i] = (int) f[i];
            }
        } else if (d.dataType() == DataType.DOUBLE) {
            double[] f = readDoubles(d);
            for (int i = 0; i < n; i++) {
                out[i] = (int) f[i];
            }
        } else {
            INDArray flat = d.reshape(n);
            for (int i = 0; i < n; i++) {
                out[i] = flat.getInt(i);
            }
        }
        return out;
    }

    // ---- rows ----

    /** {@code dst[i] = src[rows[i]]}; src [n, d], dst [rows.length, d]. */
    static void gatherRows(INDArray src, int[] rows, INDArray dst) {
        int d = Math.toIntExact(src.size(1));
        if (isDouble(src)) {
            double[] s = readDoubles(src);
            double[] o = new double[rows.length * d];
            for (int i = 0; i < rows.length; i++) {
                System.arraycopy(s, rows[i] * d, o, i * d, d);
            }
            writeDoubles(dst, o);
        } else {
            float[] s = readFloats(src);
            float[] o = new float[rows.length * d];
            for (int i = 0; i < rows.length; i++) {
                System.arraycopy(s, rows[i] * d, o, i * d, d);
            }
            writeFloats(dst, o);
        }
    }

    /** {@code dst[rows[i]] = src[i]}, every other row of dst zero; src [rows.length, d], dst [n, d]. */
    static void scatterRows(INDArray src, int[] rows, INDArray dst) {
        int d = Math.toIntExact(src.size(1));
        int n = Math.toIntExact(dst.size(0));
        if (isDouble(src)) {
            double[] s = readDoubles(src);
            double[] o = new double[n * d];
            for (int i = 0; i < rows.length; i++) {
                System.arraycopy(s, i * d, o, rows[i] * d, d);
            }
            writeDoubles(dst, o);
        } else {
            float[] s = readFloats(src);
            float[] o = new float[n * d];
            for (int i = 0; i < rows.length; i++) {
                System.arraycopy(s, i * d, o, rows[i] * d, d);
            }
            writeFloats(dst, o);
        }
    }

    /**
     * Cross-entropy of each row of a probability matrix against its label: {@code -log max(p[i, label[i]], tiny)}
     * (tiny: the smallest normal float, so a vanishing probability gives a large finite loss). With
     * {@code subtractOne}, also turns the probabilities into the gradient of the loss with respect to the logits,
     * {@code p - onehot(label)}, in place.
     *
     * @param probs [rows, vocab] softmax output, dense
     */
    static double[] crossEntropyRows(INDArray probs, int[] labels, boolean subtractOne) {
        int v = Math.toIntExact(probs.size(1));
        int base = Math.toIntExact(probs.offset());
        checkDense(probs);
        double[] loss = new double[labels.length];
        if (isDouble(probs)) {
            DoubleBuffer b = probs.data().asNioDouble();
            for (int i = 0; i < labels.length; i++) {
                int at = base + i * v + labels[i];
                double p = b.get(at);
                loss[i] = -Math.log(Math.max(p, Float.MIN_NORMAL));
                if (subtractOne) {
                    b.put(at, p - 1);
                }
            }
        } else {
            FloatBuffer b = probs.data().asNioFloat();
            for (int i = 0; i < labels.length; i++) {
                int at = base + i * v + labels[i];
                float p = b.get(at);
                loss[i] = -Math.log(Math.max(p, Float.MIN_NORMAL));
                if (subtractOne) {
                    b.put(at, p - 1);
                }
            }
        }
        return loss;
    }

    // ---- LayerNorm (Ba et al. 2016) over the last dimension of [rows, d] ----

    /**
     * {@code y = (x - mean) / sqrt(var + eps) * gain + bias} per row; optionally keeps the normalised rows and the
     * reciprocal standard deviations for the backward pass.
     *
     * @param x [rows, d]
     * @param gain [1, d]
     * @param bias [1, d]
     * @param y [rows, d] output
     * @param xhat [rows, d] or null
     * @param rstd [rows, 1] or null
     */
    static void layerNorm(INDArray x, INDArray gain, INDArray bias, INDArray y, INDArray xhat, INDArray rstd,
                          double eps) {
        int d = Math.toIntExact(x.size(1));
        int rows = Math.toIntExact(x.size(0));
        if (isDouble(x)) {
            double[] xs = readDoubles(x);
            double[] g = readDoubles(gain);
            double[] b = readDoubles(bias);
            double[] r = new double[rows];
            double[] ys = new double[xs.length];
            for (int i = 0; i < rows; i++) {
                int o = i * d;
                double m = 0;
                for (int j = 0; j < d; j++) {
                    m += xs[o + j];
                }
                m /= d;
                double v = 0;
                for (int j = 0; j < d; j++) {
                    double c = xs[o + j] - m;
                    xs[o + j] = c;
                    v += c * c;
                }
                double rs = 1 / Math.sqrt(v / d + eps);
                r[i] = rs;
                for (int j = 0; j < d; j++) {
                    double h = xs[o + j] * rs;
                    xs[o + j] = h;
                    ys[o + j] = h * g[j] + b[j];
                }
            }
            writeDoubles(y, ys);
            if (xhat != null) {
                writeDoubles(xhat, xs);
                writeDoubles(rstd, r);
            }
        } else {
            float[] xs = readFloats(x);
            float[] g = readFloats(gain);
            float[] b = readFloats(bias);
            float[] r = new float[rows];
            float[] ys = new float[xs.length];
            for (int i = 0; i < rows; i++) {
                int o = i * d;
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
                r[i] = rs;
                for (int j = 0; j < d; j++) {
                    float h = xs[o + j] * rs;
                    xs[o + j] = h;
                    ys[o + j] = h * g[j] + b[j];
                }
            }
            writeFloats(y, ys);
            if (xhat != null) {
                writeFloats(xhat, xs);
                writeFloats(rstd, r);
            }
        }
    }

    /**
     * Gradient of {@link #layerNorm}: adds dL/dx to {@code dxAcc} (which holds the residual stream's gradient on
     * entry) and sets the gain and bias gradients.
     *
     * @param dy [rows, d] gradient of the LayerNorm output
     * @param xhat [rows, d] normalised input from the forward pass
     * @param rstd [rows, 1] reciprocal standard deviations from the forward pass
     * @param gain [1, d]
     * @param dxAcc [rows, d] accumulated into
     * @param dGain [1, d] set
     * @param dBias [1, d] set
     */
    static void layerNormBackward(INDArray dy, INDArray xhat, INDArray rstd, INDArray gain, INDArray dxAcc,
                                  INDArray dGain, INDArray dBias) {
        int d = Math.toIntExact(dy.size(1));
        int rows = Math.toIntExact(dy.size(0));
        if (isDouble(dy)) {
            double[] dys = readDoubles(dy);
            double[] xh = readDoubles(xhat);
            double[] r = readDoubles(rstd);
            double[] g = readDoubles(gain);
            double[] dx = readDoubles(dxAcc);
            double[] dg = new double[d];
            double[] db = new double[d];
            for (int i = 0; i < rows; i++) {
                int o = i * d;
                double m1 = 0;
                double m2 = 0;
                for (int j = 0; j < d; j++) {
                    double gy = dys[o + j];
                    double dxh = gy * g[j];
                    m1 += dxh;
                    m2 += dxh * xh[o + j];
                    dg[j] += gy * xh[o + j];
                    db[j] += gy;
                }
                m1 /= d;
                m2 /= d;
                double rs = r[i];
                for (int j = 0; j < d; j++) {
                    dx[o + j] += rs * (dys[o + j] * g[j] - m1 - xh[o + j] * m2);
                }
            }
            writeDoubles(dxAcc, dx);
            writeDoubles(dGain, dg);
            writeDoubles(dBias, db);
        } else {
            float[] dys = readFloats(dy);
            float[] xh = readFloats(xhat);
            float[] r = readFloats(rstd);
            float[] g = readFloats(gain);
            float[] dx = readFloats(dxAcc);
            float[] dg = new float[d];
            float[] db = new float[d];
            for (int i = 0; i < rows; i++) {
                int o = i * d;
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
                float rs = r[i];
                for (int j = 0; j < d; j++) {
                    dx[o + j] += rs * (dys[o + j] * g[j] - m1 - xh[o + j] * m2);
                }
            }
            writeFloats(dxAcc, dx);
            writeFloats(dGain, dg);
            writeFloats(dBias, db);
        }
    }

    // ---- GELU, GPT-2's tanh approximation: 0.5 x (1 + tanh(c (x + a x^3))) = x * sigmoid(2 c (x + a x^3)) ----

    /**
     * {@code out = f * s} with {@code s = sigmoid(2c(f + a f^3))}, kept for the backward pass.
     *
     * @param f [rows, n] pre-activation
     * @param s [rows, n] output: the sigmoid
     * @param out [rows, n] output: GELU(f)
     */
    static void gelu(INDArray f, INDArray s, INDArray out) {
        f.mul(f, s);                                   // f^2
        s.muli(2 * GELU_C * GELU_A).addi(2 * GELU_C);  // 2c (1 + a f^2)
        s.muli(f);                                     // 2c (f + a f^3)
        Nd4j.exec(new Sigmoid(s, s));
        f.mul(s, out);
    }

    /**
     * {@code dF = dOut * GELU'(f)}, {@code GELU'(f) = s + f s (1 - s) 2c (1 + 3 a f^2)}.
     *
     * @param tmp [rows, n] scratch
     */
    static void geluBackward(INDArray f, INDArray s, INDArray dOut, INDArray dF, INDArray tmp) {
        f.mul(f, tmp);                                    // f^2
        tmp.muli(6 * GELU_C * GELU_A).addi(2 * GELU_C);   // 2c (1 + 3a f^2)
        tmp.muli(f);                                      // f * v'
        s.mul(s, dF);                                     // s^2
        dF.rsubi(s);                                      // s (1 - s)
        tmp.muli(dF).addi(s);                             // GELU'(f)
        dOut.mul(tmp, dF);
    }

    // ---- dropout (Srivastava et al. 2014), inverted: kept units scaled by 1 / (1 - p) ----

    /** Fills {@code mask} with 0 (probability p) or 1 / (1 - p), from ND4J's global RNG. */
    static void dropoutMask(INDArray mask, double p) {
        Nd4j.getExecutioner().exec(new BernoulliDistribution(mask, 1 - p));
        mask.muli(1 / (1 - p));
    }

    /** {@code out = x * v} with {@code v} [rows] broadcast along each row of x [rows, n]. */
    static void scaleRows(INDArray x, INDArray v, INDArray out) {
        Nd4j.getExecutioner().exec(new BroadcastMulOp(x, v, out, 0));
    }

    /** {@code out [1, n] = sum of the rows of x [rows, n]}, as a matrix product with a ones row (fast in BLAS). */
    static void columnSums(INDArray x, INDArray ones, INDArray out) {
        Nd4j.gemm(ones, x, out, false, false, 1.0, 0.0);
    }

    /** A detached row of ones [1, n] (outside any workspace, so a layer may keep it). */
    static INDArray onesRow(DataType type, long n) {
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            return Nd4j.ones(type, 1, n);
        }
    }
}
