package org.sparklm.finetune;

import java.io.Serializable;
import java.util.Arrays;
import java.util.List;

/**
 * Encoded labelled examples in three flat arrays (tokens of all examples end to end, each example's start, its class
 * id): compact to broadcast to the executors once per job, and read there without allocation per example.
 */
public final class ExampleSet implements Serializable {
    private static final long serialVersionUID = 1L;

    private final int[] tokens;
    private final int[] starts;   // n + 1 entries
    private final int[] labels;

    /** One encoded example. */
    public record Encoded(int[] tokens, int label) {
    }

    public ExampleSet(List<Encoded> examples) {
        int n = examples.size();
        long total = 0;
        for (Encoded e : examples) {
            total += e.tokens().length;
        }
        if (total > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("too many tokens for one example set: " + total);
        }
        tokens = new int[(int) total];
        starts = new int[n + 1];
        labels = new int[n];
        int p = 0;
        for (int i = 0; i < n; i++) {
            Encoded e = examples.get(i);
            starts[i] = p;
            System.arraycopy(e.tokens(), 0, tokens, p, e.tokens().length);
            p += e.tokens().length;
            labels[i] = e.label();
        }
        starts[n] = p;
    }

    public int size() {
        return labels.length;
    }

    public int[] tokens(int i) {
        return Arrays.copyOfRange(tokens, starts[i], starts[i + 1]);
    }

    public int length(int i) {
        return starts[i + 1] - starts[i];
    }

    public int label(int i) {
        return labels[i];
    }

    /** Number of examples of each class. */
    public long[] classCounts(int classes) {
        long[] c = new long[classes];
        for (int l : labels) {
            c[l]++;
        }
        return c;
    }

    /** Total tokens. */
    public long tokenCount() {
        return tokens.length;
    }
}
