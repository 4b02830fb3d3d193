package org.sparklm.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * Fast UTF-8 helpers for the tokenizer's byte-level paths.
 *
 * <p>Encoding: an unpaired surrogate (a high surrogate not followed by a low one within the range, or a low surrogate
 * not preceded by a high one) is encoded as U+FFFD, the bytes EF BF BD. This differs on purpose from
 * {@code String.getBytes(UTF_8)}, which writes {@code '?'} (0x3F): with U+FFFD the damage stays visible and decoding
 * gives back U+FFFD rather than a real question mark. Valid text encodes exactly as {@code getBytes(UTF_8)} does.
 *
 * <p>Decoding replaces each malformed subsequence with U+FFFD exactly as {@code new String(bytes, UTF_8)} does;
 * {@link #countMalformed} counts those replacements without decoding.
 */
public final class Utf8 {

    private Utf8() {
    }

    /**
     * Encodes s[start, end) into dst at dstOff; the caller ensures room for {@code 3 * (end - start)} bytes.
     * Unpaired surrogates become U+FFFD (EF BF BD); a pair split by the range boundary counts as unpaired.
     *
     * @return the number of bytes written
     */
    public static int encode(CharSequence s, int start, int end, byte[] dst, int dstOff) {
        Objects.checkFromToIndex(start, end, s.length());
        int p = dstOff;
        int i = start;
        while (i < end) {
            char c = s.charAt(i++);
            if (c < 0x80) {
                dst[p++] = (byte) c;
            } else if (c < 0x800) {
                dst[p++] = (byte) (0xC0 | (c >> 6));
                dst[p++] = (byte) (0x80 | (c & 0x3F));
            } else if (!Character.isSurrogate(c)) {
                dst[p++] = (byte) (0xE0 | (c >> 12));
                dst[p++] = (byte) (0x80 | ((c >> 6) & 0x3F));
                dst[p++] = (byte) (0x80 | (c & 0x3F));
            } else {
                char d;
                if (Character.isHighSurrogate(c) && i < end && Character.isLowSurrogate(d = s.charAt(i))) {
                    int cp = Character.toCodePoint(c, d);
                    i++;
                    dst[p++] = (byte) (0xF0 | (cp >> 18));
                    dst[p++] = (byte) (0x80 | ((cp >> 12) & 0x3F));
                    dst[p++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
                    dst[p++] = (byte) (0x80 | (cp & 0x3F));
                } else {
                    dst[p++] = (byte) 0xEF;
                    dst[p++] = (byte) 0xBF;
                    dst[p++] = (byte) 0xBD;
                }
            }
        }
        return p - dstOff;
    }

    /** Encodes all of s (unpaired surrogates become U+FFFD). */
    public static byte[] encode(CharSequence s) {
        byte[] buf = new byte[3 * s.length()];
        int n = encode(s, 0, s.length(), buf, 0);
        return n == buf.length ? buf : Arrays.copyOf(buf, n);
    }

    /** Decodes b[off, off+len), replacing each malformed subsequence with U+FFFD. */
    public static String decode(byte[] b, int off, int len) {
        return new String(b, off, len, StandardCharsets.UTF_8);
    }

    /**
     * The number of U+FFFD replacements {@link #decode} makes in b[off, off+len), i.e. the number of malformed
     * subsequences as the JDK's UTF-8 decoder delimits them (0 for valid UTF-8). Mirrors the JDK 17 decoder: an
     * encoded surrogate (ED A0..BF xx) is one replacement of 3 bytes; a sequence truncated by the end of the input
     * is one replacement.
     */
    public static int countMalformed(byte[] b, int off, int len) {
        Objects.checkFromIndexSize(off, len, b.length);
        final int end = off + len;
        int count = 0;
        int i = off;
        while (i < end) {
            int b1 = b[i++];
            if (b1 >= 0) {
                continue;
            }
            b1 &= 0xFF;
            if (b1 >= 0xC2 && b1 <= 0xDF) {
                if (i < end && isContinuation(b[i])) {
                    i++;
                } else {
                    count++;
                }
            } else if (b1 >= 0xE0 && b1 <= 0xEF) {
                int m = malformedEnd3(b, i, end, b1);
                if (m < 0) {
                    i += 2;
                } else {
                    count++;
                    i = m;
                }
            } else if (b1 >= 0xF0 && b1 <= 0xF4) {
                int m = malformedEnd4(b, i, end, b1);
                if (m < 0) {
                    i += 3;
                } else {
                    count++;
                    i = m;
                }
            } else {
                count++; // a stray continuation byte, C0, C1 or F5..FF
            }
        }
        return count;
    }

    /**
     * For a lead byte b1 (E0..EF) at i-1: -1 if a valid sequence follows, else the end of the malformed subsequence
     * that the JDK decoder replaces with one U+FFFD.
     */
    private static int malformedEnd3(byte[] b, int i, int end, int b1) {
        if (i < end && !secondOk3(b1, b[i] & 0xFF)) {
            return i;
        }
        if (i + 1 >= end) {
            return end; // truncated by the end of input: one replacement for the rest
        }
        if (!isContinuation(b[i + 1])) {
            return i + 1;
        }
        if (b1 == 0xED && (b[i] & 0xFF) >= 0xA0) {
            return i + 2; // an encoded surrogate: one replacement for all 3 bytes
        }
        return -1;
    }

    /** Like {@link #malformedEnd3} for a lead byte F0..F4. */
    private static int malformedEnd4(byte[] b, int i, int end, int b1) {
        if (i < end && !secondOk4(b1, b[i] & 0xFF)) {
            return i;
        }
        if (i + 1 >= end) {
            return end;
        }
        if (!isContinuation(b[i + 1])) {
            return i + 1;
        }
        if (i + 2 >= end) {
            return end;
        }
        if (!isContinuation(b[i + 2])) {
            return i + 2;
        }
        return -1;
    }

    /** Second byte of a 3-byte sequence: a continuation byte, and not overlong (E0 needs A0..BF). */
    private static boolean secondOk3(int b1, int b2) {
        if (b1 == 0xE0) {
            return b2 >= 0xA0 && b2 <= 0xBF;
        }
        return (b2 & 0xC0) == 0x80;
    }

    /** Second byte of a 4-byte sequence: F0 needs 90..BF (no overlong), F4 needs 80..8F (at most U+10FFFF). */
    private static boolean secondOk4(int b1, int b2) {
        if (b1 == 0xF0) {
            return b2 >= 0x90 && b2 <= 0xBF;
        }
        if (b1 == 0xF4) {
            return b2 >= 0x80 && b2 <= 0x8F;
        }
        return (b2 & 0xC0) == 0x80;
    }

    private static boolean isContinuation(byte x) {
        return (x & 0xC0) == 0x80;
    }

    /** A code point as it is encoded: an unpaired surrogate counts as U+FFFD (see {@link #encode}). */
    public static int scalar(int codePoint) {
        return codePoint < 0x10000 && Character.isSurrogate((char) codePoint) ? 0xFFFD : codePoint;
    }
}
