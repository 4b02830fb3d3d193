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
 * element and head, with the queries, keys and values read in place from the matrices that hold them
 * ({@link Operand}: for self-attention the fused projection output {@code qkv [N, 3D]}, query, key, value side by side,
 * heads contiguous within each; keys and values may come from another matrix with another length, such as a prefix
 * or an encoder's output) and the context written in place into {@code ctx [N, D]}.
 *
 * <p>On the CPU backend each product is one BLAS {@code gemm} on strided sub-matrices of those arrays (leading
 * dimension 3D or D), called directly through the OpenBLAS binding ND4J itself uses: no copies between
 * {@code [B, T, H, dh]} and {@code [B, H, T, dh]}, and 64 small gemms took 1.6 ms where ND4J's batched matmul of the
 * same shapes took 2.0 ms (and the copies 0.3-0.5 ms each). With {@link MatrixThreads} the (batch, head) pairs are
 * split over its Java threads. On another backend (or with {@link #useBlas} off) the heads are copied to
 * {@code [B, H, T, dh]} arrays and multiplied with ND4J's batched {@code matmul}.
 *
 * <p>Shapes: {@code scores, attn [B, H, Tq, Tk]}; rows of an operand are {@code b * T + t} with its own T.
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

    /**
     * Geometry of one call: {@code b} sequences, {@code h} heads of width {@code dh}, {@code tq} query positions and
     * {@code tk} key/value positions per sequence (equal for self-attention; more keys than queries with a prefix;
     * the encoder's length for cross-attention).
     */
    record Shape(int b, int h, int tq, int tk, int dh) {
        /** Self-attention over {@code t} positions. */
        Shape(int b, int h, int t, int dh) {
            this(b, h, t, t, dh);
        }

        int d() {
            return h * dh;
        }
    }

    /**
     * The heads of one tensor inside a row-major matrix: position {@code i} of sequence {@code b} is row
     * {@code b * t + i}; head {@code h} occupies columns {@code off + h dh .. off + (h + 1) dh} of a row of width
     * {@code ld}.
     */
    record Operand(INDArray a, long off, int ld, int t) {
        /** The queries of a fused projection {@code qkv [N, 3d]} (keys from column d, values from column 2d). */
        static Operand q(INDArray qkv, int d, int t) {
            return new Operand(qkv, 0, 3 * d, t);
        }

        static Operand k(INDArray qkv, int d, int t) {
            return new Operand(qkv, d, 3 * d, t);
        }

        static Operand v(INDArray qkv, int d, int t) {
            return new Operand(qkv, 2L * d, 3 * d, t);
        }

        /** All columns of {@code [N, d]} rows (the context). */
        static Operand rows(INDArray x, int d, int t) {
            return new Operand(x, 0, d, t);
        }

        long at(int b, int h, int dh) {
            return (long) b * t * ld + off + (long) h * dh;
        }
    }

    /** {@code scores[b, h] = alpha Q[b, h] K[b, h]^T}: {@code [B, H, Tq, Tk]}. */
    static void scores(Operand q, Operand k, INDArray scores, Shape s, double alpha, Function<long[], INDArray> temp) {
        if (useBlas) {
            eachHead(s, (from, to) -> {
                Gemm g = new Gemm(q.a(), k.a(), scores);
                for (int i = from; i < to; i++) {
                    int b = i / s.h();
                    int h = i % s.h();
                    g.run(false, true, s.tq(), s.tk(), s.dh(), alpha, q.at(b, h, s.dh()), q.ld(),
                        k.at(b, h, s.dh()), k.ld(), 0.0, (long) i * s.tq() * s.tk(), s.tk());
                }
            });
        } else {
            Nd4j.matmul(heads(q, s, s.tq(), temp), heads(k, s, s.tk(), temp), scores, false, true, false);
            scores.muli(alpha);
        }
    }

    /** {@code ctx[b rows, h columns] = attn[b, h] V[b, h]}. */
    static void context(INDArray attn, Operand v, Operand ctx, Shape s, Function<long[], INDArray> temp) {
        if (useBlas) {
            eachHead(s, (from, to) -> {
                Gemm g = new Gemm(attn, v.a(), ctx.a());
                for (int i = from; i < to; i++) {
                    int b = i / s.h();
                    int h = i % s.h();
                    g.run(false, false, s.tq(), s.dh(), s.tk(), 1.0, (long) i * s.tq() * s.tk(), s.tk(),
                        v.at(b, h, s.dh()), v.ld(), 0.0, ctx.at(b, h, s.dh()), ctx.ld());
                }
            });
        } else {
            INDArray c4 = temp.apply(new long[] {s.b(), s.h(), s.tq(), s.dh()});
            Nd4j.matmul(attn, heads(v, s, s.tk(), temp), c4, false, false, false);
            BlockKernels.toColumns(c4, ctx.a(), ctx.off());
        }
    }

    /**
     * Gradient of {@link #context}: {@code dAttn[b, h] = dctx[b, h] V[b, h]^T} and {@code dV[b, h] = attn[b, h]^T
     * dctx[b, h]} (overwriting {@code dv}'s columns).
     */
    static void contextBackward(INDArray attn, Operand v, Operand dctx, INDArray dAttn, Operand dv, Shape s,
                                Function<long[], INDArray> temp) {
        if (useBlas) {
            eachHead(s, (from, to) -> {
                Gemm ga = new Gemm(dctx.a(), v.a(), dAttn);
                Gemm gv = new Gemm(attn, dctx.a(), dv.a());
                for (int i = from; i < to; i++) {
                    int b = i / s.h();
                    int h = i % s.h();
                    long att = (long) i * s.tq() * s.tk();
                    ga.run(false, true, s.tq(), s.tk(), s.dh(), 1.0, dctx.at(b, h, s.dh()), dctx.ld(),
                        v.at(b, h, s.dh()), v.ld(), 0.0, att, s.tk());
                    gv.run(true, false, s.tk(), s.dh(), s.tq(), 1.0, att, s.tk(), dctx.at(b, h, s.dh()), dctx.ld(),
                        0.0, dv.at(b, h, s.dh()), dv.ld());
                }
            });
        } else {
            INDArray dc4 = heads(dctx, s, s.tq(), temp);
            Nd4j.matmul(dc4, heads(v, s, s.tk(), temp), dAttn, false, true, false);
            INDArray dv4 = temp.apply(new long[] {s.b(), s.h(), s.tk(), s.dh()});
            Nd4j.matmul(attn, dc4, dv4, true, false, false);
            BlockKernels.toColumns(dv4, dv.a(), dv.off());
        }
    }

    /**
     * Gradient of {@link #scores}: {@code dQ = alpha dS K} and {@code dK = alpha dS^T Q} (overwriting the columns
     * of {@code dq} and {@code dk}).
     */
    static void scoresBackward(INDArray dScores, Operand q, Operand k, Operand dq, Operand dk, Shape s, double alpha,
                               Function<long[], INDArray> temp) {
        if (useBlas) {
            eachHead(s, (from, to) -> {
                Gemm gq = new Gemm(dScores, k.a(), dq.a());
                Gemm gk = new Gemm(dScores, q.a(), dk.a());
                for (int i = from; i < to; i++) {
                    int b = i / s.h();
                    int h = i % s.h();
                    long ds = (long) i * s.tq() * s.tk();
                    gq.run(false, false, s.tq(), s.dh(), s.tk(), alpha, ds, s.tk(), k.at(b, h, s.dh()), k.ld(),
                        0.0, dq.at(b, h, s.dh()), dq.ld());
                    gk.run(true, false, s.tk(), s.dh(), s.tq(), alpha, ds, s.tk(), q.at(b, h, s.dh()), q.ld(),
                        0.0, dk.at(b, h, s.dh()), dk.ld());
                }
            });
        } else {
            INDArray dq4 = temp.apply(new long[] {s.b(), s.h(), s.tq(), s.dh()});
            Nd4j.matmul(dScores, heads(k, s, s.tk(), temp), dq4, false, false, false);
            dq4.muli(alpha);
            INDArray dk4 = temp.apply(new long[] {s.b(), s.h(), s.tk(), s.dh()});
            Nd4j.matmul(dScores, heads(q, s, s.tq(), temp), dk4, true, false, false);
            dk4.muli(alpha);
            BlockKernels.toColumns(dq4, dq.a(), dq.off());
            BlockKernels.toColumns(dk4, dk.a(), dk.off());
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

    /** One operand's heads as a {@code [B, H, t, dh]} copy (ND4J path). */
    private static INDArray heads(Operand o, Shape s, int t, Function<long[], INDArray> temp) {
        INDArray x = temp.apply(new long[] {s.b(), s.h(), t, s.dh()});
        BlockKernels.fromColumns(o.a(), o.off(), x);
        return x;
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
