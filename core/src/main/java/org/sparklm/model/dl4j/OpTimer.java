package org.sparklm.model.dl4j;

import java.util.EnumMap;
import java.util.Map;

/**
 * Wall-clock time per group of operations inside the Transformer layers, for the train-step benchmark. Off by default
 * (then {@link #now()} and {@link #lap} cost a field read). ND4J's CPU ops are synchronous, so the time between two
 * calls is the time of the ops between them. Process-wide, not thread-safe: for one training thread.
 */
public final class OpTimer {

    /** Groups of operations. */
    public enum Group {
        /** token and position lookup, its gradient's scatter-add */
        EMBEDDING,
        /** LayerNorm forward and backward */
        LAYER_NORM,
        /** the linear maps of the blocks (QKV, output projection, MLP): products, biases, their gradients */
        LINEAR,
        /** the Q K^T and A V products per head and their gradients */
        ATTENTION_MATMUL,
        /** score masks, softmax and its gradient */
        SOFTMAX,
        /** GELU and its gradient */
        GELU,
        /** dropout masks and their application */
        DROPOUT,
        /** residual additions and gradient copies */
        RESIDUAL,
        /** LM head: logits product and its gradients */
        LM_HEAD_MATMUL,
        /** LM head: vocabulary softmax, cross-entropy, row selection */
        LM_HEAD_LOSS
    }

    private static volatile boolean enabled;
    private static final long[] NANOS = new long[Group.values().length];

    private OpTimer() {
    }

    public static void enable(boolean on) {
        enabled = on;
    }

    public static void reset() {
        java.util.Arrays.fill(NANOS, 0);
    }

    /** Milliseconds per group since the last reset. */
    public static Map<Group, Double> millis() {
        Map<Group, Double> m = new EnumMap<>(Group.class);
        for (Group g : Group.values()) {
            m.put(g, NANOS[g.ordinal()] / 1e6);
        }
        return m;
    }

    static long now() {
        return enabled ? System.nanoTime() : 0;
    }

    /** Adds the time since {@code start} to the group; returns the new start. */
    static long lap(Group g, long start) {
        if (!enabled) {
            return 0;
        }
        long t = System.nanoTime();
        NANOS[g.ordinal()] += t - start;
        return t;
    }
}
