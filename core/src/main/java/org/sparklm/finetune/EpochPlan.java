package org.sparklm.finetune;

import java.util.SplittableRandom;

/**
 * Epochs as real passes over the training examples. Epoch {@code e} visits every example exactly once, in the order of
 * a permutation seeded by (seed, e). It takes {@link #stepsPerEpoch()} = ceil(n / (W B)) global steps; at each step
 * every one of the W workers trains one minibatch. The n examples of an epoch are cut, in permutation order, into the
 * {@code S W} minibatches of its steps (step-major, then worker) with sizes as equal as possible (they differ by at
 * most one, and are at most B), so no minibatch is empty and none is padded with repeats.
 *
 * <p>A pure function of (seed, global step, worker), like pretraining's windows: a resumed run sees exactly the
 * examples the uninterrupted run would have.
 */
public final class EpochPlan implements java.io.Serializable {
    private static final long serialVersionUID = 1L;

    private final int examples;
    private final int workers;
    private final int batch;
    private final long seed;
    private final int steps;
    private final int base;
    private final int extra;
    private transient long cachedEpoch = -1;
    private transient int[] cached;

    public EpochPlan(int examples, int workers, int batch, long seed) {
        if (workers < 1 || batch < 1) {
            throw new IllegalArgumentException("workers and batch size must be >= 1, got " + workers + ", " + batch);
        }
        if (examples < workers) {
            throw new IllegalArgumentException("fewer training examples (" + examples + ") than workers (" + workers
                + "): every worker needs at least one example per step");
        }
        this.examples = examples;
        this.workers = workers;
        this.batch = batch;
        this.seed = seed;
        this.steps = (int) ((examples + (long) workers * batch - 1) / ((long) workers * batch));
        long slots = (long) steps * workers;
        this.base = (int) (examples / slots);
        this.extra = (int) (examples % slots);
    }

    /** Global steps of one epoch. */
    public int stepsPerEpoch() {
        return steps;
    }

    public int examples() {
        return examples;
    }

    /** The examples (indices into the example set) of worker {@code w}'s minibatch at global step {@code step}. */
    public int[] minibatch(long step, int w) {
        long epoch = step / steps;
        int k = (int) (step % steps);
        int slot = k * workers + w;
        int start = slot * base + Math.min(slot, extra);
        int size = base + (slot < extra ? 1 : 0);
        int[] perm;
        synchronized (this) {
            if (cached == null || cachedEpoch != epoch) {
                cached = permutation(epoch);
                cachedEpoch = epoch;
            }
            perm = cached;
        }
        int[] out = new int[size];
        System.arraycopy(perm, start, out, 0, size);
        return out;
    }

    /** The seeded order of epoch {@code e} (Fisher-Yates from a generator seeded by (seed, e)). */
    public int[] permutation(long epoch) {
        int[] p = new int[examples];
        for (int i = 0; i < examples; i++) {
            p[i] = i;
        }
        SplittableRandom r = new SplittableRandom(mix(seed, epoch));
        for (int i = examples - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    private static long mix(long seed, long epoch) {
        long z = seed * 0x9E3779B97F4A7C15L + epoch * 0xBF58476D1CE4E5B9L + 0x94D049BB133111EBL;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
