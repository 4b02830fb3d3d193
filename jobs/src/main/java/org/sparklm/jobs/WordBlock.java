package org.sparklm.jobs;

import java.io.Serializable;
import java.util.Arrays;
import java.util.function.ObjLongConsumer;
import org.sparklm.data.ReadStats;
import org.sparklm.tokenizer.Utf8;

/**
 * A batch of (word, count) records plus the reading statistics of the documents they came from: what {@code bpe-train}
 * shuffles and caches, so that Spark moves a few large records per partition rather than one record per word.
 * Words are stored as varint UTF-8 length, UTF-8 bytes, varint count.
 */
public final class WordBlock implements Serializable {
    private static final long serialVersionUID = 1L;

    private byte[] data = new byte[256];
    private int size;
    private int words;
    private ReadStats read = new ReadStats();

    /** Appends a word with its count. */
    public void add(String word, long count) {
        ensure(word.length() * 3 + 20);
        int lenPos = size;
        int n = Utf8.encode(word, 0, word.length(), data, lenPos + 5);
        size = putVarint(data, lenPos, n);
        System.arraycopy(data, lenPos + 5, data, size, n);
        size += n;
        size = putVarint(data, size, count);
        words++;
    }

    /** Adds another block's statistics (not its words). */
    public void addStats(WordBlock other) {
        read.merge(other.read);
    }

    /** Sets the reading statistics (of the records the words came from). */
    public void setStats(ReadStats stats) {
        read = stats;
    }

    /** Calls f for every word and count in order. */
    public void forEach(ObjLongConsumer<String> f) {
        int[] p = {0};
        while (p[0] < size) {
            int len = (int) getVarint(data, p);
            String w = Utf8.decode(data, p[0], len);
            p[0] += len;
            f.accept(w, getVarint(data, p));
        }
    }

    public int words() {
        return words;
    }

    /** The reading statistics riding on this block. */
    public ReadStats stats() {
        return read;
    }

    /** Drops the spare capacity (before the block is shuffled or cached). */
    public WordBlock compact() {
        if (data.length != size) {
            data = Arrays.copyOf(data, size);
        }
        return this;
    }

    /** Bytes of encoded words. */
    public int sizeBytes() {
        return size;
    }

    private void ensure(int extra) {
        if (size + extra > data.length) {
            data = Arrays.copyOf(data, Math.max(size + extra, data.length * 2));
        }
    }

    /** Reads an unsigned LEB128 varint at {@code p[0]} and moves {@code p[0]} past it. */
    private static long getVarint(byte[] a, int[] p) {
        long v = 0;
        int shift = 0;
        byte b;
        do {
            b = a[p[0]++];
            v |= (long) (b & 0x7F) << shift;
            shift += 7;
        } while (b < 0);
        return v;
    }

    private static int putVarint(byte[] a, int p, long v) {
        while ((v & ~0x7FL) != 0) {
            a[p++] = (byte) ((v & 0x7F) | 0x80);
            v >>>= 7;
        }
        a[p++] = (byte) v;
        return p;
    }
}
