package org.sparklm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ByteLevelTest {

    @Test
    void mapIsABijectionOntoPrintableChars() {
        Set<Character> seen = new HashSet<>();
        for (int b = 0; b < 256; b++) {
            char c = ByteLevel.byteToChar(b);
            assertTrue(seen.add(c), "duplicate char for byte " + b);
            assertEquals(b, ByteLevel.charToByte(c));
            assertTrue(!Character.isWhitespace(c) && !Character.isISOControl(c) && !Character.isSpaceChar(c),
                    "not printable: byte " + b);
        }
    }

    @Test
    void knownValues() {
        assertEquals('\u0120', ByteLevel.byteToChar(32)); // 'Ġ'
        assertEquals('\u010A', ByteLevel.byteToChar(10)); // 'Ċ'
        assertEquals('a', ByteLevel.byteToChar('a'));
        assertEquals('!', ByteLevel.byteToChar(33));
        assertEquals('\u0100', ByteLevel.byteToChar(0));
        assertEquals('\u0121', ByteLevel.byteToChar(127));
        assertEquals('\u0142', ByteLevel.byteToChar(160));
        assertEquals('\u0143', ByteLevel.byteToChar(173)); // soft hyphen, the last unprintable byte
        assertEquals('\u00AE', ByteLevel.byteToChar(174));
        assertEquals('\u00FF', ByteLevel.byteToChar(255));
    }

    @Test
    void encodeDecodeRoundTrip() {
        byte[] all = new byte[256];
        for (int b = 0; b < 256; b++) {
            all[b] = (byte) b;
        }
        String mapped = ByteLevel.encode(all, 0, 256);
        assertEquals(256, mapped.length());
        assertArrayEquals(all, ByteLevel.decode(mapped));
        assertEquals("Ġworld", ByteLevel.encode(" world".getBytes(java.nio.charset.StandardCharsets.UTF_8), 0, 6));
        assertEquals("Ã©", ByteLevel.encode(Utf8.encode("é"), 0, 2));
        assertEquals("ell", ByteLevel.encode("hello".getBytes(java.nio.charset.StandardCharsets.US_ASCII), 1, 3));
    }

    @Test
    void rejectsUnmappedChars() {
        assertEquals(-1, ByteLevel.charToByte(' '));
        assertEquals(-1, ByteLevel.charToByte('\u00AD'));
        assertEquals(-1, ByteLevel.charToByte('\u0144'));
        assertEquals(-1, ByteLevel.charToByte('\u4E00'));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ByteLevel.decode("ab c"));
        assertTrue(e.getMessage().contains("U+0020") && e.getMessage().contains("index 2"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ByteLevel.byteToChar(256));
        assertThrows(IllegalArgumentException.class, () -> ByteLevel.byteToChar(-1));
    }
}
