package org.sparklm.eval;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.sparklm.UsageException;

/**
 * Draws the demonstrations of each evaluated example, as lm-evaluation-harness's sampler does: a seeded sample
 * without replacement from a pool (the few-shot file, or the task itself); when the pool is the task, the evaluated
 * example (and any example equal to it) is never drawn.
 *
 * <p>The draw of example {@code i} depends only on the seed and {@code i} (not on the order of evaluation or on
 * {@code --limit}), and the {@code k}-shot demonstrations are the first {@code k} of the {@code k + 1}-shot ones, so
 * accuracy against shots compares nested prompts.
 */
public final class DemoSampler {
    private final List<TaskExample> pool;
    private final boolean poolIsTask;
    private final long seed;

    /**
     * @param pool       the examples demonstrations are drawn from
     * @param poolIsTask the pool is the evaluated task (exclude the evaluated example)
     */
    public DemoSampler(List<TaskExample> pool, boolean poolIsTask, long seed) {
        this.pool = List.copyOf(pool);
        this.poolIsTask = poolIsTask;
        this.seed = seed;
    }

    /** The most demonstrations every example can have. */
    public int available() {
        return poolIsTask ? pool.size() - 1 : pool.size();
    }

    /**
     * The {@code k} demonstrations of the evaluated example {@code index} (its index in the task).
     *
     * @throws UsageException if fewer than {@code k} are available
     */
    public List<TaskExample> demonstrations(int index, TaskExample example, int k) {
        List<Integer> candidates = new ArrayList<>(pool.size());
        for (int j = 0; j < pool.size(); j++) {
            if (!(poolIsTask && (j == index || pool.get(j).equals(example)))) {
                candidates.add(j);
            }
        }
        if (candidates.size() < k) {
            throw new UsageException("evaluate-fewshot: " + k + " demonstrations asked, but only "
                + candidates.size() + " can be drawn for example " + index);
        }
        // partial Fisher-Yates: the first k draws do not depend on k
        SplittableRandom rnd = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + index);
        List<TaskExample> out = new ArrayList<>(k);
        for (int i = 0; i < k; i++) {
            int j = i + rnd.nextInt(candidates.size() - i);
            Integer t = candidates.get(i);
            candidates.set(i, candidates.get(j));
            candidates.set(j, t);
            out.add(pool.get(candidates.get(i)));
        }
        return out;
    }
}
