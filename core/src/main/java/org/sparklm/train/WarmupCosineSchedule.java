package org.sparklm.train;

import java.util.Objects;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * Learning rate as a pure function of the global iteration (0-based, DL4J's iteration counter at the update): linear
 * warmup from {@code maxLr / warmupSteps} to {@code maxLr} over the first {@code warmupSteps} iterations, then cosine
 * decay to {@code minLr} at {@code totalSteps}, constant {@code minLr} after (as in nanoGPT and the GPT-3 paper,
 * Brown et al. 2020). The epoch is ignored, so the value is the same whatever the number of workers or the averaging
 * frequency, as long as the iteration counter counts minibatches. Serialisable to DL4J's JSON; immutable.
 */
public final class WarmupCosineSchedule implements ISchedule {

    private static final long serialVersionUID = 1L;

    private final double maxLr;
    private final double minLr;
    private final int warmupSteps;
    private final int totalSteps;

    @JsonCreator
    public WarmupCosineSchedule(@JsonProperty("maxLr") double maxLr, @JsonProperty("minLr") double minLr,
                                @JsonProperty("warmupSteps") int warmupSteps,
                                @JsonProperty("totalSteps") int totalSteps) {
        if (!(maxLr > 0) || !(minLr >= 0) || minLr > maxLr) {
            throw new IllegalArgumentException("need 0 <= min lr <= lr and lr > 0, got lr " + maxLr + ", min lr "
                + minLr);
        }
        if (warmupSteps < 0 || totalSteps < 1 || warmupSteps > totalSteps) {
            throw new IllegalArgumentException("need 0 <= warmup steps <= total steps and total steps >= 1, got warmup "
                + warmupSteps + ", total " + totalSteps);
        }
        this.maxLr = maxLr;
        this.minLr = minLr;
        this.warmupSteps = warmupSteps;
        this.totalSteps = totalSteps;
    }

    @Override
    public double valueAt(int iteration, int epoch) {
        if (iteration < warmupSteps) {
            return maxLr * (iteration + 1) / warmupSteps;
        }
        if (iteration >= totalSteps || totalSteps == warmupSteps) {
            return minLr;
        }
        double progress = (double) (iteration - warmupSteps) / (totalSteps - warmupSteps);
        return minLr + 0.5 * (maxLr - minLr) * (1 + Math.cos(Math.PI * progress));
    }

    @Override
    public ISchedule clone() {
        return this;
    }

    @JsonProperty("maxLr")
    public double getMaxLr() {
        return maxLr;
    }

    @JsonProperty("minLr")
    public double getMinLr() {
        return minLr;
    }

    @JsonProperty("warmupSteps")
    public int getWarmupSteps() {
        return warmupSteps;
    }

    @JsonProperty("totalSteps")
    public int getTotalSteps() {
        return totalSteps;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof WarmupCosineSchedule s && s.maxLr == maxLr && s.minLr == minLr
            && s.warmupSteps == warmupSteps && s.totalSteps == totalSteps;
    }

    @Override
    public int hashCode() {
        return Objects.hash(maxLr, minLr, warmupSteps, totalSteps);
    }

    @Override
    public String toString() {
        return "WarmupCosineSchedule(lr=" + maxLr + ", minLr=" + minLr + ", warmup=" + warmupSteps + ", total="
            + totalSteps + ")";
    }
}
