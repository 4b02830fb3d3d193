package org.sparklm.tokenizer.bpe;

import java.util.Arrays;
import org.sparklm.util.LongLongMap;

/**
 * The distinct adjacent pairs of a BPE training run, each with a dense id (in order of first sight), its current
 * count and the words that may hold it: the pair-to-words index. Words are named by their offset in the trainer's
 * word table. A list may name a word that no longer holds the pair, or name a word twice (such a visit changes
 * nothing); a word that holds the pair is always listed.
 *
 * <p>Layout: the pair-to-id hash table interleaves key and id in one {@code long[]} (one cache line per probe);
 * each word list is an {@code int[]} whose element 0 is its size. Memory per pair: 27 to 53 bytes of hash table
 * (16-byte slots, 0.3 to 0.6 full), 8 (count), 4 (list reference), 20 (list header and size), 4 per listed word.
 * Not thread-safe.
 */
final class PairIndex {
    private static final long EMPTY = -1L;
    private long[] table; // slot s: table[2s] = pair (or EMPTY), table[2s + 1] = id
    private int mask;
    private int resizeAt;
    private int size;
    private long[] counts;
    private int[][] words;

    PairIndex(int expected) {
        int cap = Integer.highestOneBit(Math.max(16, (int) Math.min(1 << 29, expected * 2L)) - 1) << 1;
        allocTable(cap);
        counts = new long[Math.max(16, expected)];
        words = new int[counts.length][];
    }

    private void allocTable(int cap) {
        table = new long[2 * cap];
        for (int s = 0; s < table.length; s += 2) {
            table[s] = EMPTY;
        }
        mask = cap - 1;
        resizeAt = (int) (cap * 0.6);
    }

    private static int slot(long pair, int mask) {
        long h = pair * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 29)) & mask;
    }

    /** Number of distinct pairs. */
    int size() {
        return size;
    }

    /** Reads the hash table slot where a lookup of the pair starts, to bring it into the cache. */
    int load(long pair) {
        return (int) table[2 * slot(pair, mask)];
    }

    /** The slot holding the pair, or the empty slot where it would go. */
    private int probe(long pair) {
        int s = slot(pair, mask);
        while (table[2 * s] != pair && table[2 * s] != EMPTY) {
            s = (s + 1) & mask;
        }
        return s;
    }

    /** The id of a pair, or -1 if it was never seen. */
    int id(long pair) {
        int s = probe(pair);
        return table[2 * s] == pair ? (int) table[2 * s + 1] : -1;
    }

    /** The id of a pair, given a new id (count 0, no words) if it was never seen. */
    int idOrAdd(long pair) {
        int s = probe(pair);
        if (table[2 * s] == pair) {
            return (int) table[2 * s + 1];
        }
        int id = size++;
        table[2 * s] = pair;
        table[2 * s + 1] = id;
        if (id == counts.length) {
            int cap = id + (id >> 1);
            counts = Arrays.copyOf(counts, cap);
            words = Arrays.copyOf(words, cap);
        }
        if (size >= resizeAt) {
            growTable();
        }
        return id;
    }

    private void growTable() {
        if (mask + 1 >= 1 << 29) {
            throw new IllegalStateException("more than " + size + " distinct pairs; see docs/DESIGN.md"
                + " (memory bounds)");
        }
        long[] old = table;
        allocTable((mask + 1) * 2);
        for (int s = 0; s < old.length; s += 2) {
            if (old[s] != EMPTY) {
                int t = slot(old[s], mask);
                while (table[2 * t] != EMPTY) {
                    t = (t + 1) & mask;
                }
                table[2 * t] = old[s];
                table[2 * t + 1] = old[s + 1];
            }
        }
    }

    /** Calls f with every pair and its id, in no particular order. */
    void forEach(LongLongMap.LongLongConsumer f) {
        for (int s = 0; s < table.length; s += 2) {
            if (table[s] != EMPTY) {
                f.accept(table[s], table[s + 1]);
            }
        }
    }

    long count(int id) {
        return counts[id];
    }

    void addCount(int id, long delta) {
        counts[id] += delta;
    }

    /** Makes room for n more words in a pair's list: a new list gets exactly that size. */
    void reserve(int id, int n) {
        int[] l = words[id];
        if (l == null) {
            words[id] = new int[1 + n];
        } else if (l.length < 1 + l[0] + n) {
            words[id] = Arrays.copyOf(l, Math.max(1 + l[0] + n, l.length + (l.length >> 1)));
        }
    }

    /** Appends word w to a pair's list, unless it is already the last entry (a word holding the pair twice). */
    void addWord(int id, int w) {
        int[] l = words[id];
        if (l == null) {
            l = words[id] = new int[4];
        }
        int n = l[0];
        if (n > 0 && l[n] == w) {
            return;
        }
        if (n + 1 == l.length) {
            l = words[id] = Arrays.copyOf(l, l.length + (l.length >> 1) + 1);
        }
        l[n + 1] = w;
        l[0] = n + 1;
    }

    /**
     * Removes and returns a pair's word list ({@code [n, w1 .. wn]}, possibly longer), or null if it has none. Taken
     * when the pair is merged: no word holds it afterwards (a later merge that rebuilds it starts a new list).
     */
    int[] takeWords(int id) {
        int[] l = words[id];
        words[id] = null;
        return l;
    }
}
