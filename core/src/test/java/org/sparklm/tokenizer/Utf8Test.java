package org.sparklm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class Utf8Test {

    private static byte[] bytes(int... values) {
        byte[] b = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            b[i] = (byte) values[i];
        }
        return b;
    }

    @Test
    void encodesValidTextLikeTheJdk() {
        Random rnd = new Random(11);
        for (int t = 0; t < 20_000; t++) {
            StringBuilder sb = new StringBuilder();
            int n = rnd.nextInt(20);
            for (int i = 0; i < n; i++) {
                int r = rnd.nextInt(4);
                int cp = r == 0 ? rnd.nextInt(0x80) : r == 1 ? 0x80 + rnd.nextInt(0x780)
                        : r == 2 ? rnd.nextInt(0x10000) : 0x10000 + rnd.nextInt(0x100000);
                if (!Character.isSurrogate((char) cp) || cp > 0xFFFF) {
                    sb.appendCodePoint(cp);
                }
            }
            String s = sb.toString();
            byte[] expected = s.getBytes(StandardCharsets.UTF_8);
            assertArrayEquals(expected, Utf8.encode(s), s);
            assertEquals(s, Utf8.decode(expected, 0, expected.length));
            assertEquals(0, Utf8.countMalformed(expected, 0, expected.length));
        }
    }

    @Test
    void encodesIntoARangeOfTheBuffer() {
        String s = "xxé€\uD83D\uDC4Dyy";
        byte[] dst = new byte[40];
        int n = Utf8.encode(s, 2, 6, dst, 5);
        assertEquals(9, n);
        assertArrayEquals("é€\uD83D\uDC4D".getBytes(StandardCharsets.UTF_8), Arrays.copyOfRange(dst, 5, 5 + n));
    }

    @Test
    void unpairedSurrogatesBecomeReplacementChar() {
        assertArrayEquals(bytes('a', 0xEF, 0xBF, 0xBD, 'b'), Utf8.encode("a\uD800b"));
        assertArrayEquals(bytes('a', 0xEF, 0xBF, 0xBD), Utf8.encode("a\uDC00"));
        assertArrayEquals(bytes(0xEF, 0xBF, 0xBD, 0xEF, 0xBF, 0xBD), Utf8.encode("\uDC00\uD800"));
        // A pair cut by the end of the range is unpaired inside it.
        byte[] dst = new byte[6];
        assertEquals(3, Utf8.encode("\uD83D\uDC4D", 0, 1, dst, 0));
        assertArrayEquals(bytes(0xEF, 0xBF, 0xBD), Arrays.copyOf(dst, 3));
        byte[] e = Utf8.encode("x\uDBFFy");
        assertEquals("x\uFFFDy", Utf8.decode(e, 0, e.length));
    }

    @Test
    void decodesAndCountsMalformedInput() {
        assertMalformed(bytes('a', 0xFF, 'b'), "a\uFFFDb", 1);
        assertMalformed(bytes('a', 0xE2, 0x82), "a\uFFFD", 1);              // truncated 3-byte sequence at the end
        assertMalformed(bytes(0xE2, 0x82, 'x'), "\uFFFDx", 1);              // truncated 3-byte sequence
        assertMalformed(bytes(0xC0, 0xAF), "\uFFFD\uFFFD", 2);              // overlong '/'
        assertMalformed(bytes(0xE0, 0x80, 0xAF), "\uFFFD\uFFFD\uFFFD", 3);  // overlong '/' in 3 bytes
        assertMalformed(bytes(0xED, 0xA0, 0x80), "\uFFFD", 1);              // encoded surrogate: one replacement
        assertMalformed(bytes(0xF4, 0x90, 0x80, 0x80), "\uFFFD\uFFFD\uFFFD\uFFFD", 4); // above U+10FFFF
        assertMalformed(bytes(0xF0, 0x9F, 0x91), "\uFFFD", 1);              // truncated emoji
        assertMalformed(bytes(0x80, 0xBF, 'z'), "\uFFFD\uFFFDz", 2);        // stray continuation bytes
        assertMalformed(bytes(0xEF, 0xBF, 0xBD), "\uFFFD", 0);              // a real U+FFFD is valid
        assertMalformed(bytes(), "", 0);
    }

    private static void assertMalformed(byte[] b, String decoded, int count) {
        assertEquals(decoded, Utf8.decode(b, 0, b.length));
        assertEquals(count, Utf8.countMalformed(b, 0, b.length));
    }

    @Test
    void countMalformedAgreesWithJdkDecodersOnRandomBytes() {
        int[] alphabet = {'a', ' ', 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED,
            0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xF7, 0xF8, 0xFF};
        Random rnd = new Random(3);
        for (int t = 0; t < 100_000; t++) {
            byte[] b = new byte[rnd.nextInt(12)];
            for (int i = 0; i < b.length; i++) {
                b[i] = (byte) (rnd.nextInt(8) == 0 ? rnd.nextInt(256) : alphabet[rnd.nextInt(alphabet.length)]);
            }
            int off = b.length == 0 ? 0 : rnd.nextInt(b.length);
            int len = b.length - off;
            int expected = countWithCharsetDecoder(b, off, len);
            assertEquals(expected, Utf8.countMalformed(b, off, len), () -> Arrays.toString(b) + " from " + off);
            String s = Utf8.decode(b, off, len);
            long replacements = s.chars().filter(c -> c == 0xFFFD).count();
            long realFffd = countValidFffd(Arrays.copyOfRange(b, off, off + len));
            assertEquals(expected, replacements - realFffd, () -> Arrays.toString(b) + " from " + off);
        }
    }

    /** The number of malformed-input reports of the JDK's CharsetDecoder (an independent implementation). */
    private static int countWithCharsetDecoder(byte[] b, int off, int len) {
        CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(b, off, len);
        CharBuffer out = CharBuffer.allocate(2 * len + 2);
        int count = 0;
        while (true) {
            CoderResult r = dec.decode(in, out, true);
            if (r.isUnderflow()) {
                return count;
            }
            count++;
            in.position(in.position() + r.length());
        }
    }

    /** How many EF BF BD sequences the bytes hold: each decodes to a real U+FFFD (no malformed part can swallow EF). */
    private static long countValidFffd(byte[] b) {
        long n = 0;
        for (int i = 0; i + 2 < b.length; i++) {
            if ((b[i] & 0xFF) == 0xEF && (b[i + 1] & 0xFF) == 0xBF && (b[i + 2] & 0xFF) == 0xBD) {
                n++;
            }
        }
        return n;
    }
}
