package org.sparklm.util;

import java.util.Arrays;

/**
 * Open-addressing hash map from non-negative {@code long} keys to {@code long} values, absent keys reading as 0.
 * No removal (the BPE merge loop only ever adds keys). Not thread-safe.
 */
public final class LongLongMap {
    private static final long EMPTY = -1L;
    private long[] keys;
    private long[] values;
    private int size;
    private int mask;
    private int resizeAt;

    public LongLongMap(int expected) {
        int cap = Integer.highestOneBit(Math.max(16, (int) Math.min(1 << 30, expected * 2L)) - 1) << 1;
        alloc(cap);
    }

    private void alloc(int cap) {
        keys = new long[cap];
        Arrays.fill(keys, EMPTY);
        values = new long[cap];
        mask = cap - 1;
        resizeAt = (int) (cap * 0.6);
    }

    static int slot(long key, int mask) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 29)) & mask;
    }

    private int find(long key) {
        int i = slot(key, mask);
        while (true) {
            long k = keys[i];
            if (k == key || k == EMPTY) {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    private static void checkKey(long key) {
        if (key < 0) {
            throw new IllegalArgumentException("negative key " + key);
        }
    }

    /** The value for key, or 0 when absent. */
    public long get(long key) {
        int i = find(key);
        return keys[i] == key ? values[i] : 0L;
    }

    /** Whether the key was ever put or added. */
    public boolean containsKey(long key) {
        return keys[find(key)] == key;
    }

    public void put(long key, long value) {
        checkKey(key);
        int i = find(key);
        if (keys[i] == EMPTY) {
            keys[i] = key;
            values[i] = value;
            if (++size >= resizeAt) {
                grow();
            }
        } else {
            values[i] = value;
        }
    }

    /** Adds delta to the value of key (absent keys count as 0) and returns the new value. */
    public long add(long key, long delta) {
        checkKey(key);
        int i = find(key);
        if (keys[i] == EMPTY) {
            keys[i] = key;
            values[i] = delta;
            if (++size >= resizeAt) {
                grow();
            }
            return delta;
        }
        return values[i] += delta;
    }

    public int size() {
        return size;
    }

    /** Calls f for every key with its value, in no particular order. */
    public void forEach(LongLongConsumer f) {
        for (int i = 0; i < keys.length; i++) {
            if (keys[i] != EMPTY) {
                f.accept(keys[i], values[i]);
            }
        }
    }

    /** Receives one entry. */
    @FunctionalInterface
    public interface LongLongConsumer {
        void accept(long key, long value);
    }

    private void grow() {
        long[] oldKeys = keys;
        long[] oldValues = values;
        alloc(keys.length * 2);
        for (int i = 0; i < oldKeys.length; i++) {
            long k = oldKeys[i];
            if (k != EMPTY) {
                int j = slot(k, mask);
                while (keys[j] != EMPTY) {
                    j = (j + 1) & mask;
                }
                keys[j] = k;
                values[j] = oldValues[i];
            }
        }
    }
}
