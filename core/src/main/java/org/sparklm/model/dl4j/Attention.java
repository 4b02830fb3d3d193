package org.sparklm.model.dl4j;

import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_dgemm;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemm;

import java.util.function.Function;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The four products of multi-head scaled dot-product attention (Vaswani et al. 2017) and their gradients, per batch
 * element and head, with the queries, keys and values read in place from the projection output {@code qkv [N, 3D]}
 * (query, key, value side by side, heads contiguous within each) and the context written in place into
 * {@code ctx [N, D]}.
 *
 * <p>On the CPU backend each product is one BLAS {@code gemm} on strided sub-matrices of those arrays (leading
 * dimension 3D or D), called directly through the OpenBLAS binding ND4J itself uses: no copies between
 * {@code [B, T, H, dh]} and {@code [B, H, T, dh]}, and 64 small gemms took 1.6 ms where ND4J's batched matmul of the
 * same shapes took 2.0 ms (and the copies 0.3-0.5 ms each). With {@link MatrixThreads} the (batch, head) pairs are
 * split over its Java threads. On another backend (or with {@link #useBlas} off) the heads are copied to
 * {@code [B, H, T, dh]} arrays and multiplied with ND4J's batched {@code matmul}.
 *
 * <p>Shapes: {@code scores, attn [B, H, T, T]}; rows of qkv, ctx are {@code b * T + t}.
 */
final class Attention {

    private static volatile boolean useBlas = Nd4j.getEnvironment().isCPU();

    private Attention() {
    }

    /** Chooses direct BLAS calls (CPU backend only) or ND4J's batched matmul; for tests. Returns the old setting. */
    static boolean useBlas(boolean on) {
        boolean old = useBlas;
        useBlas = on && Nd4j.getEnvironment().isCPU();
        return old;
    }

    /** Geometry of one call. */
    record Shape(int b, int h, int t, int dh) {
        int d() {
            return h * dh;
        }
    }

    static Shape shape(INDArray scores, int dh) {
        return new Shape((int) scores.size(0), (int) scores.size(1), (int) scores.size(2), dh);
    }

    /** {@code scores[b, h] = alpha Q[b, h] K[b, h]^T}. */
    static void scores(INDArray qkv, INDArray scores, Shape s, double alpha, Function<long[], INDArray> temp) {
        if (useBlas) {
            int d = s.d();
            eachHead(s, (from, to) -> {
                Gemm g = new Gemm(qkv, qkv, scores);
                for (int i = from; i < to; i++) {
                    int b = i / s.h();
                    int h = i % s.h();
                    long row = (long) b * s.t() * 3 * d;
                    g.run(false, true, s.t(), s.t(), s.dh(), alpha,
                        row + h * s.dh(), 3 * d,
                        row + d + h * s.dh(), 3 * d,
                        0.0, (long) i * s.t() * s.t(), s.t());
                }
            });
        } else {
            INDArray[] qk = heads(qkv, s, temp);
            Nd4j.matmul(qk[0], qk[1], scores, false, true, false);
            scores.muli(alpha);
        }
    }

    /** {@code ctx[b rows, h columns] = attn[b, h] V[b, h]}. */
    static void context(INDArray attn, INDArray qkv, INDArray ctx, Shape s, Function<long[], INDArray> temp) {
        if (useBlas) {
            int d = s.d();
            eachHead(s, (from, to) -> {
                Gemm g = new Gemm(attn, qkv, ctx);
                for (int i = from; i < to; i++) {
                    int b = i / s.h();
                    int h = i % s.h();
                    g.run(false, false, s.t(), s.dh(), s.t(), 1.0,
                        (long) i * s.t() * s.t(), s.t(),
                        (long) b * s.t() * 3 * d + 2 * d + h * s.dh(), 3 * d,
                        0.0, (long) b * s.t() * d + h * s.dh(), d);
                }
            });
        } else {
            INDArray v = heads(qkv, s, temp)[2];
            INDArray c4 = temp.apply(new long[] {s.b(), s.h(), s.t(), s.dh()});
            Nd4j.matmul(attn, v, c4, false, false, false);
            BlockKernels.toColumns(c4, ctx, 0);
        }
    }

    /**
     * Gradient of {@link #context}: {@code dAttn[b, h] = dctx[b, h] V[b, h]^T} and the value part of {@code dqkv},
     * {@code dV[b, h] = attn[b, h]^T dctx[b, h]} (written into columns 2D..3D of dqkv).
     */
    static void contextBackward(INDArray attn, INDArray qkv, INDArray dctx, INDArray dAttn, INDArray dqkv, Shape s,
                                Function<long[], INDArray> temp) {
        int d = s.d();
        if (useBlas) {
            eachHead(s, (from, to) -> {
                Gemm ga = new Gemm(dctx, qkv, dAttn);
                Gemm gv = new Gemm(attn, dctx, dqkv);
                for (int i = from; i < to; i++) {
                    int b = i / s.h();
                    int h = i % s.h();
                    long att = (long) i * s.t() * s.t();
                    long ctxAt = (long) b * s.t() * d + h * s.dh();
                    long vAt = (long) b * s.t() * 3 * d + 2 * d + h * s.dh();
                    ga.run(false, true, s.t(), s.t(), s.dh(), 1.0, ctxAt, d, vAt, 3 * d, 0.0, att, s.t());
                    gv.run(true, false, s.t(), s.dh(), s.t(), 1.0, att, s.t(), ctxAt, d, 0.0, vAt, 3 * d);
                }
            });
        } else {
            INDArray v = heads(qkv, s, temp)[2];
            INDArray dc4 = temp.apply(new long[] {s.b(), s.h(), s.t(), s.dh()});
            BlockKernels.fromColumns(dctx, 0, dc4);
            Nd4j.matmul(dc4, v, dAttn, false, true, false);
            INDArray dv = temp.apply(new long[] {s.b(), s.h(), s.t(), s.dh()});
            Nd4j.matmul(attn, dc4, dv, true, false, false);
            BlockKernels.toColumns(dv, dqkv, 2 * d);
        }
    }

    /**
     * Gradient of {@link #scores}: the query and key parts of {@code dqkv} (columns 0..2D),
     * {@code dQ = alpha dS K} and {@code dK = alpha dS^T Q}.
     */
    static void scoresBackward(INDArray dScores, INDArray qkv, INDArray dqkv, Shape s, double alpha,
                               Function<long[], INDArray> temp) {
        int d = s.d();
        if (useBlas) {
            eachHead(s, (from, to) -> {
                Gemm g = new Gemm(dScores, qkv, dqkv);
                for (int i = from; i < to; i++) {
                    int b = i / s.h();
                    int h = i % s.h();
                    long ds = (long) i * s.t() * s.t();
                    long row = (long) b * s.t() * 3 * d;
                    g.run(false, false, s.t(), s.dh(), s.t(), alpha, ds, s.t(), row + d + h * s.dh(), 3 * d,
                        0.0, row + h * s.dh(), 3 * d);
                    g.run(true, false, s.t(), s.dh(), s.t(), alpha, ds, s.t(), row + h * s.dh(), 3 * d,
                        0.0, row + d + h * s.dh(), 3 * d);
                }
            });
        } else {
            INDArray[] qk = heads(qkv, s, temp);
            INDArray dq = temp.apply(new long[] {s.b(), s.h(), s.t(), s.dh()});
            Nd4j.matmul(dScores, qk[1], dq, false, false, false);
            dq.muli(alpha);
            INDArray dk = temp.apply(new long[] {s.b(), s.h(), s.t(), s.dh()});
            Nd4j.matmul(dScores, qk[0], dk, true, false, false);
            dk.muli(alpha);
            BlockKernels.toColumns(dq, dqkv, 0);
            BlockKernels.toColumns(dk, dqkv, d);
        }
    }

    /** A range of the (batch, head) pairs {@code b * H + h}. */
    private interface HeadRange {
        void run(int from, int to);
    }

    /** Runs all (batch, head) pairs: on the caller, or split over {@link MatrixThreads}. */
    private static void eachHead(Shape s, HeadRange body) {
        int total = s.b() * s.h();
        int n = Math.max(1, Math.min(MatrixThreads.threads(), total));
        MatrixThreads.run(n, p -> body.run(total * p / n, total * (p + 1) / n));
    }

    /** q, k, v as [B, H, T, dh] copies (ND4J path). */
    private static INDArray[] heads(INDArray qkv, Shape s, Function<long[], INDArray> temp) {
        long[] shape = {s.b(), s.h(), s.t(), s.dh()};
        INDArray q = temp.apply(shape);
        INDArray k = temp.apply(shape);
        INDArray v = temp.apply(shape);
        BlockKernels.fromColumns(qkv, 0, q);
        BlockKernels.fromColumns(qkv, s.d(), k);
        BlockKernels.fromColumns(qkv, 2L * s.d(), v);
        return new INDArray[] {q, k, v};
    }

    /** Row-major gemm on sub-matrices of three dense arrays, addressed by element offsets. */
    private static final class Gemm {
        private final boolean dbl;
        private final FloatPointer fa;
        private final FloatPointer fb;
        private final FloatPointer fc;
        private final DoublePointer da;
        private final DoublePointer db;
        private final DoublePointer dc;
        private final long oa;
        private final long ob;
        private final long oc;

        Gemm(INDArray a, INDArray b, INDArray c) {
            for (INDArray x : new INDArray[] {a, b, c}) {
                if (!Kernels.isDense(x)) {
                    throw new IllegalArgumentException("attention gemm needs dense arrays");
                }
            }
            dbl = Kernels.isDouble(c);
            oa = Kernels.pointerOffset(a);
            ob = Kernels.pointerOffset(b);
            oc = Kernels.pointerOffset(c);
            if (dbl) {
                da = new DoublePointer(a.data().addressPointer());
                db = new DoublePointer(b.data().addressPointer());
                dc = new DoublePointer(c.data().addressPointer());
                fa = null;
                fb = null;
                fc = null;
            } else {
                fa = new FloatPointer(a.data().addressPointer());
                fb = new FloatPointer(b.data().addressPointer());
                fc = new FloatPointer(c.data().addressPointer());
                da = null;
                db = null;
                dc = null;
            }
        }

        /** {@code C[m x n] = alpha op(A)[m x k] op(B)[k x n] + beta C}, row-major with leading dimensions. */
        void run(boolean transA, boolean transB, int m, int n, int k, double alpha, long a, int lda, long b, int ldb,
                 double beta, long c, int ldc) {
            int ta = transA ? CblasTrans : CblasNoTrans;
            int tb = transB ? CblasTrans : CblasNoTrans;
            if (dbl) {
                da.position(oa + a);
                db.position(ob + b);
                dc.position(oc + c);
                cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, da, lda, db, ldb, beta, dc, ldc);
            } else {
                fa.position(oa + a);
                fb.position(ob + b);
                fc.position(oc + c);
                cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, (float) alpha, fa, lda, fb, ldb, (float) beta, fc, ldc);
            }
        }
    }
}
