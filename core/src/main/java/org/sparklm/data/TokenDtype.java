package org.sparklm.data;

import java.util.Locale;

/** The integer type of a token shard: little-endian unsigned 16 or 32 bits (numpy's {@code <u2} / {@code <u4}). */
public enum TokenDtype {
    UINT16(2, "uint16"),
    UINT32(4, "uint32");

    private final int bytes;
    private final String numpyName;

    TokenDtype(int bytes, String numpyName) {
        this.bytes = bytes;
        this.numpyName = numpyName;
    }

    /** Bytes per token. */
    public int bytes() {
        return bytes;
    }

    /** The name numpy gives it ({@code numpy.memmap(path, dtype=numpy.uint16)}). */
    public String numpyName() {
        return numpyName;
    }

    /** uint16 when every id fits (at most 65 536 ids), else uint32. */
    public static TokenDtype forVocabulary(int vocabSize) {
        if (vocabSize < 1) {
            throw new IllegalArgumentException("vocabulary size must be positive, got " + vocabSize);
        }
        return vocabSize <= 65_536 ? UINT16 : UINT32;
    }

    public static TokenDtype parse(String s) {
        for (TokenDtype d : values()) {
            if (d.numpyName.equals(s.toLowerCase(Locale.ROOT))) {
                return d;
            }
        }
        throw new IllegalArgumentException("unknown token dtype '" + s + "' (expected uint16 or uint32)");
    }
}
