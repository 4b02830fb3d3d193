package org.sparklm.train;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.updater.BaseMultiLayerUpdater;
import org.deeplearning4j.nn.updater.UpdaterBlock;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.AdamUpdater;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Adam's second moment of the combined batch under parameter averaging ({@code pretrain --second-moment combined}).
 *
 * <p>With W workers of batch B averaging their Adam state, the averaged second moment {@code v} is the mean of the
 * workers' squared batch-B gradients, {@code mu^2 + s2}, where the synchronous run with batch W B would have
 * {@code mu^2 + s2 / W} ({@code s2}: the gradient noise variance of a batch-B minibatch, per coordinate). Where the
 * noise dominates, the averaged run divides by up to {@code sqrt W} too much: measured, 2% of validation loss at
 * every H, even averaging after every step. The excess {@code (1 - 1/W) s2} is estimated on the driver from what it
 * already receives: the spread of the workers' first moments. After a round of H steps from a common state, each
 * worker's first moment holds {@code (1 - b1) sum_j b1^j g_(H-j)}, so the population variance over the workers of
 * {@code m} is {@code (1 - b1)^2 (1 - b1^(2H)) / (1 - b1^2)} times the per-step excess (taking the noise as
 * independent between steps and the same within a round). The driver sends that estimate with the next round, and
 * every worker deflates its second moment after each of its steps by what that step added in excess:
 *
 * <pre>
 *   excess = k_H popvar_w(m_w),   k_H = (1 - b1^2) / ((1 - b1)^2 (1 - b1^(2H)))     (driver, after a round)
 *   v <- max(v - (1 - b2) excess, raw / W)                                         (worker, after each step)
 * </pre>
 *
 * where {@code raw} is the second moment the worker would have had without deflation since the round began. The
 * floor is the least the combined batch's can be ({@code mu^2 + s2/W >= (mu^2 + s2) / W}); it is taken against the
 * undeflated moment, not the previous step's deflated one, because a floor of {@code v / W} per step compounds: with
 * an estimate left over from the larger gradients of a previous round, v halved step after step (measured: 12%
 * worse at H 32). Capping each step's deflation at {@code (1 - 1/W)} of what that step added is stable too, but
 * biased (a single squared gradient is often far below its mean) and measured no better than no correction. The first
 * round runs without an estimate. For large H the workers' moments differ by more than noise (their parameters
 * have drifted apart) and the estimate is too large; see docs/BENCHMARKS.md. With one worker it does nothing.
 *
 * <p>The layout: DL4J keeps Adam's state as one array of updater blocks, each {@code [m (n), v (n)]} for its n
 * parameters; {@link #of} reads the blocks from the network's updater. Noise vectors are indexed like the parameters
 * of the blocks in order (their total length is half the state's).
 */
public final class CombinedSecondMoment implements Serializable {
    private static final long serialVersionUID = 1L;
    private final int[] offsets;   // each block's start in the state array
    private final int[] sizes;     // each block's n (its m and its v are n long)
    private final int workers;
    private final double beta1;
    private final double beta2;

    CombinedSecondMoment(int[] offsets, int[] sizes, int workers, double beta1, double beta2) {
        if (workers < 1 || !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("needs workers >= 1 and 0 <= beta < 1, got " + workers + ", " + beta1
                + ", " + beta2);
        }
        this.offsets = offsets.clone();
        this.sizes = sizes.clone();
        this.workers = workers;
        this.beta1 = beta1;
        this.beta2 = beta2;
    }

    /**
     * The layout of {@code net}'s Adam state, for {@code workers} workers.
     *
     * @throws IllegalArgumentException if a block of the network's updater is not Adam
     */
    public static CombinedSecondMoment of(ComputationGraph net, int workers, double beta1, double beta2) {
        List<int[]> blocks = new ArrayList<>();
        for (UpdaterBlock b : ((BaseMultiLayerUpdater<?>) net.getUpdater()).getUpdaterBlocks()) {
            int len = b.getUpdaterViewOffsetEnd() - b.getUpdaterViewOffsetStart();
            if (len == 0) {
                continue;                                   // parameters without state (none in our models)
            }
            if (!(b.getGradientUpdater() instanceof AdamUpdater)) {
                throw new IllegalArgumentException("the combined second moment needs Adam, the network has "
                    + b.getGradientUpdater().getClass().getSimpleName());
            }
            blocks.add(new int[] {b.getUpdaterViewOffsetStart(), len / 2});
        }
        return new CombinedSecondMoment(blocks.stream().mapToInt(x -> x[0]).toArray(),
            blocks.stream().mapToInt(x -> x[1]).toArray(), workers, beta1, beta2);
    }

    /** The length of a noise vector (the parameters with Adam state). */
    public long length() {
        long n = 0;
        for (int s : sizes) {
            n += s;
        }
        return n;
    }

    public int workers() {
        return workers;
    }

    /** {@code k_H}: the per-step excess of one worker's squared gradient per unit of the spread of m after H steps. */
    public double noiseFactor(int h) {
        return (1 - beta1 * beta1) / ((1 - beta1) * (1 - beta1) * (1 - Math.pow(beta1, 2.0 * h)));
    }

    /** The squares of a state's first moments, as a noise-indexed vector (what each worker adds to the sums). */
    public INDArray firstMomentSquares(INDArray state) {
        INDArray out = Nd4j.createUninitialized(state.dataType(), length());
        long at = 0;
        for (int i = 0; i < offsets.length; i++) {
            INDArray m = flat(state, offsets[i], sizes[i]);
            out.get(NDArrayIndex.interval(at, at + sizes[i])).assign(m.mul(m));
            at += sizes[i];
        }
        return out;
    }

    /**
     * The per-step excess after a round of {@code h} steps: {@code k_H max(E[m^2] - E[m]^2, 0)} over the workers.
     *
     * @param meanState        the workers' mean state
     * @param meanSquaresOfM   the workers' mean of {@link #firstMomentSquares}
     */
    public INDArray excess(INDArray meanState, INDArray meanSquaresOfM, int h) {
        INDArray out = meanSquaresOfM.dup();
        long at = 0;
        for (int i = 0; i < offsets.length; i++) {
            INDArray m = flat(meanState, offsets[i], sizes[i]);
            out.get(NDArrayIndex.interval(at, at + sizes[i])).subi(m.mul(m));
            at += sizes[i];
        }
        return Transforms.max(out, 0.0, false).muli(noiseFactor(h));
    }

    /**
     * After a step, in place. {@code deflated} is how far the worker's v lies below the v it would have without
     * deflation since its round began ({@code raw - v}; zeros at the round's start). As the step decayed both by b2
     * and added the same squared gradient to both, {@code raw = v + b2 deflated}; then
     * {@code v <- max(v - (1 - b2) excess, raw / W)} and {@code deflated <- raw - v}. (Tracking the gap instead of
     * raw itself needs no copy of the state per step.)
     *
     * @param state    the worker's state after the step (v deflated in place)
     * @param deflated noise-indexed, updated in place
     * @param excess   the driver's estimate
     */
    public void deflate(INDArray state, INDArray deflated, INDArray excess) {
        if (workers == 1) {
            return;
        }
        long at = 0;
        for (int i = 0; i < offsets.length; i++) {
            INDArray v = flat(state, offsets[i] + (long) sizes[i], sizes[i]);
            INDArray d = deflated.get(NDArrayIndex.interval(at, at + sizes[i]));
            INDArray raw = d.muli(beta2).addi(v);                       // d now holds raw
            INDArray lowered = v.sub(excess.get(NDArrayIndex.interval(at, at + sizes[i])).mul(1 - beta2));
            v.assign(Transforms.max(lowered, raw.div(workers), false));
            raw.subi(v);                                                // d: raw - v
            at += sizes[i];
        }
    }

    private static INDArray flat(INDArray state, long from, long n) {
        INDArray s = state.reshape(state.length());
        return s.get(NDArrayIndex.interval(from, from + n));
    }
}
