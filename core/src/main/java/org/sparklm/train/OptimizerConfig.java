package org.sparklm.train;

import org.deeplearning4j.nn.conf.GradientNormalization;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.schedule.ISchedule;

/**
 * AdamW (Loshchilov and Hutter 2019) as DL4J pieces: {@link Adam} with a {@link WarmupCosineSchedule} learning rate,
 * decoupled weight decay ({@code WeightDecay(coeff, applyLR = true)}: after the Adam step, {@code lr * wd * w} is
 * subtracted, on the linear maps' matrices only), and gradient clipping by L2 norm ({@link #gradientNormalization()}).
 *
 * @param lr peak learning rate, reached at the end of warmup
 * @param minLr learning rate at the end of the cosine decay
 * @param warmupSteps linear warmup iterations
 * @param totalSteps iterations of the whole run (end of the cosine decay)
 * @param weightDecay decoupled weight decay coefficient (0: none)
 * @param gradClip gradient L2 norm threshold (0: no clipping)
 * @param beta1 Adam's first moment decay
 * @param beta2 Adam's second moment decay
 * @param epsilon Adam's epsilon
 */
public record OptimizerConfig(double lr, double minLr, int warmupSteps, int totalSteps, double weightDecay,
                              double gradClip, double beta1, double beta2, double epsilon) {

    /** Defaults (nanoGPT's AdamW settings, a larger peak rate for small widths): the one place they are set. */
    public static final double LR = 1e-3;
    public static final double MIN_LR = 1e-4;
    public static final double WEIGHT_DECAY = 0.1;
    public static final double GRAD_CLIP = 1.0;
    public static final double BETA1 = 0.9;
    public static final double BETA2 = 0.95;
    public static final double EPSILON = 1e-8;
    /** Warmup when not given: {@code min(MAX_DEFAULT_WARMUP, totalSteps / 10)}. */
    public static final int MAX_DEFAULT_WARMUP = 100;

    public OptimizerConfig {
        new WarmupCosineSchedule(lr, minLr, warmupSteps, totalSteps);   // validates the schedule's part
        if (!(weightDecay >= 0)) {
            throw new IllegalArgumentException("weight decay must be >= 0, got " + weightDecay);
        }
        if (!(gradClip >= 0)) {
            throw new IllegalArgumentException("gradient clipping threshold must be >= 0, got " + gradClip);
        }
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(epsilon > 0)) {
            throw new IllegalArgumentException("Adam needs 0 <= beta < 1 and epsilon > 0, got beta1 " + beta1
                + ", beta2 " + beta2 + ", epsilon " + epsilon);
        }
    }

    /**
     * The defaults for a run of {@code totalSteps}: lr 1e-3 decaying to 1e-4, warmup {@link #defaultWarmup}, weight
     * decay 0.1, clipping at 1.0, betas 0.9 / 0.95, epsilon 1e-8.
     */
    public static OptimizerConfig defaults(int totalSteps) {
        return new OptimizerConfig(LR, MIN_LR, defaultWarmup(totalSteps), totalSteps, WEIGHT_DECAY, GRAD_CLIP, BETA1,
            BETA2, EPSILON);
    }

    /** The warmup of a run that does not set one: {@code min(100, totalSteps / 10)}. */
    public static int defaultWarmup(long totalSteps) {
        return (int) Math.min(MAX_DEFAULT_WARMUP, totalSteps / 10);
    }

    public ISchedule schedule() {
        return new WarmupCosineSchedule(lr, minLr, warmupSteps, totalSteps);
    }

    /** Adam with the schedule; weight decay and clipping are set on the layers by the model builder. */
    public IUpdater updater() {
        Adam a = new Adam(schedule());
        a.setBeta1(beta1);
        a.setBeta2(beta2);
        a.setEpsilon(epsilon);
        return a;
    }

    /**
     * DL4J has no global-norm clipping: {@link GradientNormalization#ClipL2PerLayer} rescales a layer's whole gradient
     * (all its parameters together) when its L2 norm exceeds the threshold. That keeps the direction within each layer,
     * unlike element-wise clipping, and only acts on outliers, unlike the renormalize modes; with a Transformer's few,
     * large layers (embedding, one per block, head) it is the closest to PyTorch's {@code clip_grad_norm_}.
     */
    public GradientNormalization gradientNormalization() {
        return gradClip > 0 ? GradientNormalization.ClipL2PerLayer : GradientNormalization.None;
    }

    public OptimizerConfig withTotalSteps(int steps) {
        return new OptimizerConfig(lr, minLr, Math.min(warmupSteps, steps), steps, weightDecay, gradClip, beta1, beta2,
            epsilon);
    }
}
