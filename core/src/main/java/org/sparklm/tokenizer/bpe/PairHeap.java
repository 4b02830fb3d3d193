package org.sparklm.tokenizer.bpe;

import java.util.Arrays;
import java.util.List;

/**
 * Max-heap of (count, pair) for the merge loop: higher count first; equal counts go to the pair whose left token's
 * bytes are lexicographically smallest (unsigned), then the right token's. Entries may be stale; the trainer checks
 * them against the current count when they reach the top.
 */
final class PairHeap {
    private long[] counts = new long[1024];
    private long[] pairs = new long[1024];
    private int size;
    private final List<byte[]> tokenBytes;

    PairHeap(List<byte[]> tokenBytes) {
        this.tokenBytes = tokenBytes;
    }

    boolean isEmpty() {
        return size == 0;
    }

    int size() {
        return size;
    }

    long topCount() {
        return counts[0];
    }

    long topPair() {
        return pairs[0];
    }

    /** Whether entry (c1, p1) goes before (c2, p2). */
    private boolean before(long c1, long p1, long c2, long p2) {
        if (c1 != c2) {
            return c1 > c2;
        }
        if (p1 == p2) {
            return false;
        }
        int l1 = BpeTrainer.left(p1);
        int l2 = BpeTrainer.left(p2);
        if (l1 != l2) {
            return Arrays.compareUnsigned(tokenBytes.get(l1), tokenBytes.get(l2)) < 0;
        }
        return Arrays.compareUnsigned(tokenBytes.get(BpeTrainer.right(p1)), tokenBytes.get(BpeTrainer.right(p2))) < 0;
    }

    void push(long c, long p) {
        if (size == counts.length) {
            counts = Arrays.copyOf(counts, size * 2);
            pairs = Arrays.copyOf(pairs, size * 2);
        }
        int i = size++;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (!before(c, p, counts[parent], pairs[parent])) {
                break;
            }
            counts[i] = counts[parent];
            pairs[i] = pairs[parent];
            i = parent;
        }
        counts[i] = c;
        pairs[i] = p;
    }

    void pop() {
        size--;
        if (size == 0) {
            return;
        }
        long c = counts[size];
        long p = pairs[size];
        int i = 0;
        int half = size >>> 1;
        while (i < half) {
            int child = 2 * i + 1;
            int r = child + 1;
            if (r < size && before(counts[r], pairs[r], counts[child], pairs[child])) {
                child = r;
            }
            if (!before(counts[child], pairs[child], c, p)) {
                break;
            }
            counts[i] = counts[child];
            pairs[i] = pairs[child];
            i = child;
        }
        counts[i] = c;
        pairs[i] = p;
    }
}
