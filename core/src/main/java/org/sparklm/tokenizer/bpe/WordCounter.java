package org.sparklm.tokenizer.bpe;

import java.util.Arrays;
import java.util.function.ObjLongConsumer;

/**
 * Counts words given as char ranges of a line, without allocating anything for words already seen. This is the
 * executors' hot loop in {@code bpe-train}, and with millions of distinct words it is bound by cache misses, so the
 * layout keeps them to about three per lookup:
 * <ul>
 *   <li>{@code slots}: open addressing, one {@code long} per slot: the word's 32-bit hash in the high half and its
 *   id + 1 in the low half (0 = empty), so most mismatches are rejected without leaving the table;</li>
 *   <li>{@code meta}: two {@code long}s per id, {@code start << 16 | length} into the character arena and the
 *   count, in one cache line;</li>
 *   <li>{@code chars}: the words' characters, back to back.</li>
 * </ul>
 * Words are at most 65 535 chars ({@link WordSplitter} cuts at 256). Not thread-safe.
 */
public final class WordCounter {
    private static final int MAX_WORD = 0xFFFF;

    private long[] slots;
    private int mask;
    private long[] meta = new long[2 * 1024];
    private char[] chars = new char[1 << 14];
    private int charCount;
    private int size;

    public WordCounter() {
        slots = new long[1 << 14];
        mask = slots.length - 1;
    }

    /** Adds one occurrence of {@code text[start, end)}. */
    public void add(String text, int start, int end) {
        add(text, start, end, 1);
    }

    /** Adds {@code n} occurrences of a word. */
    public void add(String word, long n) {
        add(word, 0, word.length(), n);
    }

    /** Adds {@code n} occurrences of {@code text[start, end)}. */
    public void add(String text, int start, int end, long n) {
        int len = end - start;
        if (len > MAX_WORD) {
            throw new IllegalArgumentException("word of " + len + " chars exceeds " + MAX_WORD);
        }
        int h = 0;
        for (int i = start; i < end; i++) {
            h = 31 * h + text.charAt(i);
        }
        h ^= h >>> 15;
        h *= 0x2C1B3C6D;
        h ^= h >>> 12;
        long tag = (long) h << 32;
        int i = h & mask;
        long s;
        while ((s = slots[i]) != 0) {
            if ((s & 0xFFFFFFFF00000000L) == tag) {
                int id = (int) s - 1;
                long m = meta[2 * id];
                if ((int) (m & 0xFFFF) == len && same(text, start, (int) (m >>> 16), len)) {
                    meta[2 * id + 1] += n;
                    return;
                }
            }
            i = (i + 1) & mask;
        }
        int id = size++;
        if (2 * size > meta.length) {
            meta = Arrays.copyOf(meta, meta.length * 2);
        }
        if (charCount + len > chars.length) {
            chars = Arrays.copyOf(chars, Math.max(charCount + len, chars.length * 2));
        }
        text.getChars(start, end, chars, charCount);
        meta[2 * id] = ((long) charCount << 16) | len;
        meta[2 * id + 1] = n;
        charCount += len;
        slots[i] = tag | (id + 1L);
        if (size * 10L > slots.length * 6L) {
            grow();
        }
    }

    private boolean same(String text, int start, int at, int len) {
        for (int k = 0; k < len; k++) {
            if (chars[at + k] != text.charAt(start + k)) {
                return false;
            }
        }
        return true;
    }

    /** Number of distinct words. */
    public int size() {
        return size;
    }

    /** Calls f for every word with its count, in first-seen order. */
    public void forEach(ObjLongConsumer<String> f) {
        for (int id = 0; id < size; id++) {
            long m = meta[2 * id];
            f.accept(new String(chars, (int) (m >>> 16), (int) (m & 0xFFFF)), meta[2 * id + 1]);
        }
    }

    /** Forgets every word. */
    public void clear() {
        Arrays.fill(slots, 0);
        size = 0;
        charCount = 0;
    }

    private void grow() {
        long[] old = slots;
        slots = new long[old.length * 2];
        mask = slots.length - 1;
        for (long s : old) {
            if (s != 0) {
                int i = (int) (s >>> 32) & mask;
                while (slots[i] != 0) {
                    i = (i + 1) & mask;
                }
                slots[i] = s;
            }
        }
    }
}
