package org.sparklm.model.dl4j;

import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_dgemm;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemm;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.IntConsumer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * How the layers' matrix products use the cores. By default ({@link #threads()} 0) they call ND4J's {@code gemm} and
 * OpenBLAS threads each product itself. {@link #use(int)} switches to splitting each product into row (or column)
 * blocks computed by that many Java threads, each calling single-threaded OpenBLAS, and the per-head attention
 * products likewise by heads; it sets OpenBLAS to one thread for the whole process, which is why it is opt-in.
 *
 * <p>Measured on the 2-core machine (idle): OpenBLAS's own 2 threads took 1.72 ms for a 2048 x 128 x 384 product and
 * 1.56 ms for one attention product's 64 small gemms; two Java threads over single-threaded OpenBLAS took 1.12 and
 * 0.56 ms. (Switching OpenBLAS's thread count around each product instead costs about 1.1 ms per switch back and
 * forth.) CPU backend only; elsewhere the setting is ignored.
 */
public final class MatrixThreads {

    private static volatile int threads;
    private static ExecutorService pool;
    private static int restoreBlasThreads;

    private MatrixThreads() {
    }

    /**
     * Splits matrix products over {@code n} Java threads (n >= 2) and sets OpenBLAS to 1 thread; {@code n <= 1}
     * restores OpenBLAS's previous thread count and ND4J's gemm. Process-wide; call it before training, not during.
     */
    public static synchronized void use(int n) {
        if (!Nd4j.getEnvironment().isCPU() || n == threads || (n <= 1 && threads == 0)) {
            return;
        }
        if (n >= 2) {
            if (threads == 0) {
                restoreBlasThreads = Nd4j.factory().blas().getMaxThreads();
            }
            if (pool != null) {
                pool.shutdown();
            }
            pool = Executors.newFixedThreadPool(n - 1, r -> {
                Thread t = new Thread(r, "sparklm-matrix");
                t.setDaemon(true);
                return t;
            });
            Nd4j.factory().blas().setMaxThreads(1);
            threads = n;
        } else if (threads != 0) {
            pool.shutdown();
            pool = null;
            threads = 0;
            Nd4j.factory().blas().setMaxThreads(Math.max(1, restoreBlasThreads));
        }
    }

    /** The Java threads of matrix products, or 0 when OpenBLAS threads them. */
    public static int threads() {
        return threads;
    }

    /** Runs {@code part(0) .. part(parts - 1)}, spread over the threads (part 0 on the caller). */
    static void run(int parts, IntConsumer part) {
        ExecutorService p = pool;
        if (parts <= 1 || p == null) {
            for (int i = 0; i < parts; i++) {
                part.accept(i);
            }
            return;
        }
        CompletableFuture<?>[] others = new CompletableFuture<?>[parts - 1];
        for (int i = 1; i < parts; i++) {
            int k = i;
            others[i - 1] = CompletableFuture.runAsync(() -> part.accept(k), p);
        }
        part.accept(0);
        CompletableFuture.allOf(others).join();
    }

    /**
     * {@code c = alpha op(a) op(b) + beta c} for dense row-major 2-d arrays: ND4J's gemm, or split over the Java
     * threads by rows of c (by columns when c has fewer rows than columns).
     */
    static void gemm(INDArray a, INDArray b, INDArray c, boolean transA, boolean transB, double alpha, double beta) {
        int n = threads;
        long m = c.size(0);
        long cols = c.size(1);
        long k = transA ? a.size(0) : a.size(1);
        if (n < 2 || m * cols * k < 1 << 18 || !Kernels.isDense(a) || !Kernels.isDense(b) || !Kernels.isDense(c)) {
            Nd4j.gemm(a, b, c, transA, transB, alpha, beta);
            return;
        }
        boolean byRows = m >= cols;
        long span = byRows ? m : cols;
        int lda = (int) a.size(1);
        int ldb = (int) b.size(1);
        int ldc = (int) c.size(1);
        boolean dbl = Kernels.isDouble(c);
        run(n, p -> {
            long from = span * p / n;
            long to = span * (p + 1) / n;
            long offA = Kernels.pointerOffset(a);
            long offB = Kernels.pointerOffset(b);
            long offC = Kernels.pointerOffset(c);
            int mm = (int) m;
            int nn = (int) cols;
            if (byRows) {
                offA += transA ? from : from * lda;
                offC += from * ldc;
                mm = (int) (to - from);
            } else {
                offB += transB ? from * ldb : from;
                offC += from;
                nn = (int) (to - from);
            }
            int ta = transA ? CblasTrans : CblasNoTrans;
            int tb = transB ? CblasTrans : CblasNoTrans;
            if (dbl) {
                DoublePointer pa = new DoublePointer(a.data().addressPointer()).position(offA);
                DoublePointer pb = new DoublePointer(b.data().addressPointer()).position(offB);
                DoublePointer pc = new DoublePointer(c.data().addressPointer()).position(offC);
                cblas_dgemm(CblasRowMajor, ta, tb, mm, nn, (int) k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
            } else {
                FloatPointer pa = new FloatPointer(a.data().addressPointer()).position(offA);
                FloatPointer pb = new FloatPointer(b.data().addressPointer()).position(offB);
                FloatPointer pc = new FloatPointer(c.data().addressPointer()).position(offC);
                cblas_sgemm(CblasRowMajor, ta, tb, mm, nn, (int) k, (float) alpha, pa, lda, pb, ldb, (float) beta,
                    pc, ldc);
            }
        });
    }
}
