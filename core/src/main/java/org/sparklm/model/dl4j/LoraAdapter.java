package org.sparklm.model.dl4j;

import java.util.List;
import java.util.function.Function;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * LoRA (Hu et al. 2021) on one linear map {@code y = x W} of a layer: {@code y += s (x A) B} with {@code s = alpha /
 * r}, {@code A [d_in, r]}, {@code B [r, d_out]}. Projections that share their input and write side by side into one
 * output (the fused query|key|value projection) are applied together: their A side by side ({@code [d_in, m r]}),
 * their B block-diagonal into the output's columns ({@code [m r, d_out]}), one product each.
 *
 * <p>Backward, with {@code u = x A} kept from the forward pass and {@code dy} the output's gradient:
 * {@code dB = s u^T dy}, {@code du = s dy B^T}, {@code dA = x^T du}, {@code dx += du A^T}.
 */
final class LoraAdapter {

    /** One adapted projection: its A and B keys, and the output columns it writes. */
    record Part(String aKey, String bKey, long col0, long cols) {
    }

    private final List<Part> parts;
    private final long dIn;
    private final long dOut;
    private final int rank;
    private final double scale;

    LoraAdapter(List<Part> parts, long dIn, long dOut, int rank, double scale) {
        this.parts = List.copyOf(parts);
        this.dIn = dIn;
        this.dOut = dOut;
        this.rank = rank;
        this.scale = scale;
    }

    boolean isEmpty() {
        return parts.isEmpty();
    }

    private long width() {
        return (long) rank * parts.size();
    }

    /** A side by side: the parameter itself for one part. */
    private INDArray a(Function<String, INDArray> param, Function<long[], INDArray> temp) {
        if (parts.size() == 1) {
            return param.apply(parts.get(0).aKey());
        }
        INDArray a = temp.apply(new long[] {dIn, width()});
        for (int i = 0; i < parts.size(); i++) {
            a.get(NDArrayIndex.all(), NDArrayIndex.interval((long) i * rank, (long) (i + 1) * rank))
                .assign(param.apply(parts.get(i).aKey()));
        }
        return a;
    }

    /** B block-diagonal into the output's columns (zero elsewhere). */
    private INDArray b(Function<String, INDArray> param, Function<long[], INDArray> temp) {
        if (parts.size() == 1 && parts.get(0).cols() == dOut) {
            return param.apply(parts.get(0).bKey());
        }
        INDArray b = temp.apply(new long[] {width(), dOut});
        b.assign(0);
        for (int i = 0; i < parts.size(); i++) {
            Part p = parts.get(i);
            b.get(NDArrayIndex.interval((long) i * rank, (long) (i + 1) * rank),
                NDArrayIndex.interval(p.col0(), p.col0() + p.cols())).assign(param.apply(p.bKey()));
        }
        return b;
    }

    /** {@code y += s (x A) B}; returns {@code u = x A [N, m r]} for the backward pass (in {@code keep}). */
    INDArray forward(INDArray x, INDArray y, Function<String, INDArray> param, Function<long[], INDArray> keep,
                     Function<long[], INDArray> temp) {
        INDArray u = keep.apply(new long[] {x.size(0), width()});
        MatrixThreads.gemm(x, a(param, temp), u, false, false, 1.0, 0.0);
        MatrixThreads.gemm(u, b(param, temp), y, false, false, scale, 1.0);
        return u;
    }

    /**
     * Gradients of A and B (into {@code grad}) and, when {@code dx} is non-null, {@code dx += du A^T}.
     *
     * @param x  the input of the forward pass (after the adapters' dropout)
     * @param u  what {@link #forward} returned
     * @param dy the output's gradient {@code [N, d_out]}
     */
    void backward(INDArray x, INDArray u, INDArray dy, INDArray dx, Function<String, INDArray> param,
                  Function<String, INDArray> grad, Function<long[], INDArray> temp) {
        INDArray b = b(param, temp);
        INDArray dB = temp.apply(new long[] {width(), dOut});
        MatrixThreads.gemm(u, dy, dB, true, false, scale, 0.0);
        INDArray du = temp.apply(new long[] {u.size(0), width()});
        MatrixThreads.gemm(dy, b, du, false, true, scale, 0.0);
        INDArray dA = temp.apply(new long[] {dIn, width()});
        MatrixThreads.gemm(x, du, dA, true, false, 1.0, 0.0);
        for (int i = 0; i < parts.size(); i++) {
            Part p = parts.get(i);
            grad.apply(p.aKey()).assign(dA.get(NDArrayIndex.all(),
                NDArrayIndex.interval((long) i * rank, (long) (i + 1) * rank)));
            grad.apply(p.bKey()).assign(dB.get(NDArrayIndex.interval((long) i * rank, (long) (i + 1) * rank),
                NDArrayIndex.interval(p.col0(), p.col0() + p.cols())));
        }
        if (dx != null) {
            MatrixThreads.gemm(du, a(param, temp), dx, false, true, 1.0, 1.0);
        }
    }
}
