package org.sparklm.model.dl4j;

import java.lang.ref.SoftReference;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.concurrency.AffinityManager;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastMulOp;
import org.nd4j.linalg.api.ops.random.impl.BernoulliDistribution;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Buffer access and the row-wise numerical pieces of the layers: LayerNorm and its gradient, row gathers and
 * scatters, cross-entropy at the labels. They run in Java on arrays copied from and to the ND4J buffers (two memcpys;
 * ND4J's layer_norm ops took 1.4 and 5 ms for 2048 x 128, the Java loops 0.6 and 0.8 ms). Every method handles FLOAT
 * and DOUBLE arrays (double for gradient checks): it reads the buffers, runs the loop of {@link FloatLoops} or of
 * its generated double twin {@code DoubleLoops} (the same source), and writes the results back. Buffers are read and
 * written in host memory; reads ask ND4J's affinity manager to bring the data to the host and writes tag it as
 * changed there (no-ops on the CPU backend; on CUDA that costs transfers, and is untested).
 */
final class Kernels {

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

    // Scratch arrays: large arrays are reused per thread instead of allocated per call. A fresh float[] of a million
    // elements is a G1 "humongous" allocation; allocating them per kernel call made about 250 MB of garbage and one
    // young collection plus a concurrent cycle per training step of the benchmark model. Soft references let the
    // collector take them back under memory pressure.
    private static final ThreadLocal<Map<Long, SoftReference<float[]>>> FLOATS =
        ThreadLocal.withInitial(HashMap::new);
    private static final ThreadLocal<Map<Long, SoftReference<double[]>>> DOUBLES =
        ThreadLocal.withInitial(HashMap::new);

    /**
     * A float array of exactly n elements, reused by later calls with the same slot and size on this thread: the
     * caller must not keep it beyond the current kernel. Zero-filled if asked, otherwise holding stale values.
     */
    static float[] floats(int slot, int n, boolean zero) {
        long key = ((long) slot << 32) | n;
        SoftReference<float[]> ref = FLOATS.get().get(key);
        float[] a = ref == null ? null : ref.get();
        if (a == null) {
            a = new float[n];
            FLOATS.get().put(key, new SoftReference<>(a));
        } else if (zero) {
            Arrays.fill(a, 0f);
        }
        return a;
    }

    /** {@link #floats(int, int, boolean)} for doubles. */
    static double[] doubles(int slot, int n, boolean zero) {
        long key = ((long) slot << 32) | n;
        SoftReference<double[]> ref = DOUBLES.get().get(key);
        double[] a = ref == null ? null : ref.get();
        if (a == null) {
            a = new double[n];
            DOUBLES.get().put(key, new SoftReference<>(a));
        } else if (zero) {
            Arrays.fill(a, 0.0);
        }
        return a;
    }

    /** The array's values in a new float array (for small arrays). */
    static float[] readFloats(INDArray a) {
        return readFloats(a, new float[Math.toIntExact(a.length())]);
    }

    /** The array's values in the scratch array of the slot. */
    static float[] readFloats(INDArray a, int slot) {
        return readFloats(a, floats(slot, Math.toIntExact(a.length()), false));
    }

    private static float[] readFloats(INDArray a, float[] out) {
        checkDense(a);
        Nd4j.getAffinityManager().ensureLocation(a, AffinityManager.Location.HOST);
        FloatBuffer b = a.data().asNioFloat();
        b.position(Math.toIntExact(a.offset()));
        b.get(out, 0, Math.toIntExact(a.length()));
        return out;
    }

    static void writeFloats(INDArray a, float[] v) {
        checkDense(a);
        FloatBuffer b = a.data().asNioFloat();
        b.position(Math.toIntExact(a.offset()));
        b.put(v, 0, Math.toIntExact(a.length()));
        Nd4j.getAffinityManager().tagLocation(a, AffinityManager.Location.HOST);
    }

    static double[] readDoubles(INDArray a) {
        return readDoubles(a, new double[Math.toIntExact(a.length())]);
    }

    static double[] readDoubles(INDArray a, int slot) {
        return readDoubles(a, doubles(slot, Math.toIntExact(a.length()), false));
    }

    private static double[] readDoubles(INDArray a, double[] out) {
        checkDense(a);
        Nd4j.getAffinityManager().ensureLocation(a, AffinityManager.Location.HOST);
        DoubleBuffer b = a.data().asNioDouble();
        b.position(Math.toIntExact(a.offset()));
        b.get(out, 0, Math.toIntExact(a.length()));
        return out;
    }

    static void writeDoubles(INDArray a, double[] v) {
        checkDense(a);
        DoubleBuffer b = a.data().asNioDouble();
        b.position(Math.toIntExact(a.offset()));
        b.put(v, 0, Math.toIntExact(a.length()));
        Nd4j.getAffinityManager().tagLocation(a, AffinityManager.Location.HOST);
    }

    /**
     * Where the array's first element is, in elements from {@code a.data().addressPointer()}: for a view, ND4J's data
     * buffer is itself a view whose pointer already includes part of the array's offset.
     */
    static long pointerOffset(INDArray a) {
        return a.offset() - a.data().offset();
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
            FloatLoops.toInts(readFloats(d), out);
        } else if (d.dataType() == DataType.DOUBLE) {
            DoubleLoops.toInts(readDoubles(d), out);
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
            double[] o = doubles(1, rows.length * d, false);
            DoubleLoops.gatherRows(readDoubles(src, 0), rows, o, d);
            writeDoubles(dst, o);
        } else {
            float[] o = floats(1, rows.length * d, false);
            FloatLoops.gatherRows(readFloats(src, 0), rows, o, d);
            writeFloats(dst, o);
        }
    }

    /** {@code dst[rows[i]] = src[i]}, every other row of dst zero; src [rows.length, d], dst [n, d]. */
    static void scatterRows(INDArray src, int[] rows, INDArray dst) {
        int d = Math.toIntExact(src.size(1));
        int n = Math.toIntExact(dst.size(0));
        if (isDouble(src)) {
            double[] o = doubles(1, n * d, true);
            DoubleLoops.scatterRows(readDoubles(src, 0), rows, o, d);
            writeDoubles(dst, o);
        } else {
            float[] o = floats(1, n * d, true);
            FloatLoops.scatterRows(readFloats(src, 0), rows, o, d);
            writeFloats(dst, o);
        }
    }

    /**
     * Cross-entropy of each row of a probability matrix against its label: {@code -log max(p[i, label[i]], tiny)}
     * (tiny: {@link FloatLoops#MIN_PROBABILITY}, the smallest normal float, in both precisions). With
     * {@code subtractOne}, also turns the probabilities into the gradient of the loss with respect to the logits,
     * {@code p - onehot(label)}, in place.
     *
     * @param probs [rows, vocab] softmax output, dense
     */
    static double[] crossEntropyRows(INDArray probs, int[] labels, boolean subtractOne) {
        int v = Math.toIntExact(probs.size(1));
        int base = Math.toIntExact(probs.offset());
        checkDense(probs);
        Nd4j.getAffinityManager().ensureLocation(probs, AffinityManager.Location.HOST);
        double[] loss = new double[labels.length];
        if (isDouble(probs)) {
            DoubleLoops.crossEntropyRows(probs.data().asNioDouble(), base, v, labels, subtractOne, loss);
        } else {
            FloatLoops.crossEntropyRows(probs.data().asNioFloat(), base, v, labels, subtractOne, loss);
        }
        if (subtractOne) {
            Nd4j.getAffinityManager().tagLocation(probs, AffinityManager.Location.HOST);
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
            double[] xs = readDoubles(x, 0);
            double[] ys = doubles(1, xs.length, false);
            double[] r = doubles(2, rows, false);
            DoubleLoops.layerNormRows(xs, readDoubles(gain), readDoubles(bias), ys, r, rows, d, eps);
            writeDoubles(y, ys);
            if (xhat != null) {
                writeDoubles(xhat, xs);
                writeDoubles(rstd, r);
            }
        } else {
            float[] xs = readFloats(x, 0);
            float[] ys = floats(1, xs.length, false);
            float[] r = floats(2, rows, false);
            FloatLoops.layerNormRows(xs, readFloats(gain), readFloats(bias), ys, r, rows, d, (float) eps);
            writeFloats(y, ys);
            if (xhat != null) {
                writeFloats(xhat, xs);
                writeFloats(rstd, r);
            }
        }
    }

    /**
     * Gradient of {@link #layerNorm}: {@code dx = residual + dL/dx} (the residual stream's gradient passes by the
     * LayerNorm branch) and the gain and bias gradients.
     *
     * @param dy [rows, d] gradient of the LayerNorm output
     * @param xhat [rows, d] normalised input from the forward pass
     * @param rstd [rows, 1] reciprocal standard deviations from the forward pass
     * @param gain [1, d]
     * @param residual [rows, d] gradient arriving through the residual connection, or null (zero)
     * @param dx [rows, d] set; may be {@code residual}
     * @param dGain [1, d] set
     * @param dBias [1, d] set
     */
    static void layerNormBackward(INDArray dy, INDArray xhat, INDArray rstd, INDArray gain, INDArray residual,
                                  INDArray dxOut, INDArray dGain, INDArray dBias) {
        int d = Math.toIntExact(dy.size(1));
        int rows = Math.toIntExact(dy.size(0));
        if (isDouble(dy)) {
            double[] dx = residual == null ? doubles(0, rows * d, true) : readDoubles(residual, 0);
            double[] dg = new double[d];
            double[] db = new double[d];
            DoubleLoops.layerNormBackRows(readDoubles(dy, 1), readDoubles(xhat, 2), readDoubles(rstd, 3),
                readDoubles(gain), dx, dg, db, rows, d);
            writeDoubles(dxOut, dx);
            writeDoubles(dGain, dg);
            writeDoubles(dBias, db);
        } else {
            float[] dx = residual == null ? floats(0, rows * d, true) : readFloats(residual, 0);
            float[] dg = new float[d];
            float[] db = new float[d];
            FloatLoops.layerNormBackRows(readFloats(dy, 1), readFloats(xhat, 2), readFloats(rstd, 3),
                readFloats(gain), dx, dg, db, rows, d);
            writeFloats(dxOut, dx);
            writeFloats(dGain, dg);
            writeFloats(dBias, db);
        }
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
}
