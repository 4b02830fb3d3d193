package org.sparklm.util;

import java.util.Arrays;

/** A growable list of {@code int}s. Not thread-safe. */
public final class IntList {
    private int[] a;
    private int size;

    public IntList() {
        this(8);
    }

    public IntList(int capacity) {
        a = new int[Math.max(1, capacity)];
    }

    public void add(int v) {
        if (size == a.length) {
            a = Arrays.copyOf(a, Math.max(8, a.length + (a.length >> 1)));
        }
        a[size++] = v;
    }

    public int get(int i) {
        if (i >= size) {
            throw new IndexOutOfBoundsException(i + " >= " + size);
        }
        return a[i];
    }

    public int size() {
        return size;
    }

    public void clear() {
        size = 0;
    }

    /** The backing array; valid up to {@link #size()}. */
    public int[] array() {
        return a;
    }

    public int[] toArray() {
        return Arrays.copyOf(a, size);
    }
}
