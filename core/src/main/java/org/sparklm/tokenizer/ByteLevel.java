package org.sparklm.tokenizer;

import java.util.Objects;

/**
 * GPT-2's reversible byte-to-printable-char map ({@code bytes_to_unicode} in OpenAI's {@code encoder.py}, also
 * HuggingFace's {@code ByteLevel}): byte-level BPE vocabularies ({@code vocab.json}, {@code merges.txt}) spell tokens
 * in these chars so that every token is printable and contains no whitespace.
 *
 * <p>Bytes 33..126, 161..172 and 174..255 map to the char of the same value; the remaining 68 bytes (0..32, 127..160,
 * 173), in increasing order, map to U+0100, U+0101, ... U+0143. So the space byte 32 maps to 'Ġ' (U+0120) and the
 * newline byte 10 to 'Ċ' (U+010A).
 */
public final class ByteLevel {

    private static final char[] BYTE_TO_CHAR = new char[256];
    /** Indexed by char, for chars up to U+0143; -1 where the char is not in the image of the map. */
    private static final short[] CHAR_TO_BYTE = new short[256 + 68];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, (short) -1);
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
            char c = (char) (printable ? b : next++);
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = (short) b;
        }
    }

    private ByteLevel() {
    }

    /** The char that stands for byte b (0..255). */
    public static char byteToChar(int b) {
        if (b < 0 || b > 255) {
            throw new IllegalArgumentException("byte value out of range 0..255: " + b);
        }
        return BYTE_TO_CHAR[b];
    }

    /** The byte (0..255) that char c stands for, or -1 if c is not a mapped char. */
    public static int charToByte(char c) {
        return c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
    }

    /** Maps bytes[off, off+len) to their chars, one char per byte. */
    public static String encode(byte[] bytes, int off, int len) {
        Objects.checkFromIndexSize(off, len, bytes.length);
        char[] out = new char[len];
        for (int i = 0; i < len; i++) {
            out[i] = BYTE_TO_CHAR[bytes[off + i] & 0xFF];
        }
        return new String(out);
    }

    /**
     * Maps chars back to bytes, one byte per char.
     *
     * @throws IllegalArgumentException naming the first char that is not in the map, and its index
     */
    public static byte[] decode(CharSequence mapped) {
        byte[] out = new byte[mapped.length()];
        for (int i = 0; i < out.length; i++) {
            char c = mapped.charAt(i);
            int b = charToByte(c);
            if (b < 0) {
                throw new IllegalArgumentException(String.format(
                        "not a byte-level char: '%c' (U+%04X) at index %d of \"%s\"", c, (int) c, i, mapped));
            }
            out[i] = (byte) b;
        }
        return out;
    }
}
