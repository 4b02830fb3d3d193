package org.sparklm.tokenizer.bpe;

import java.util.Locale;

/** How text becomes the initial symbols of byte-pair encoding. */
public enum BpeMode {
    /**
     * GPT-2 style: each line is split with the GPT-2 pre-tokenization pattern and the UTF-8 bytes of each pre-token
     * are its initial symbols; all 256 bytes are in the vocabulary, so nothing is ever unknown.
     */
    BYTE("byte"),
    /**
     * The textbook algorithm (Sennrich et al. 2016): words split on whitespace, Unicode code points as initial
     * symbols, the last one of a word carrying the end-of-word suffix {@code </w>}; unseen characters are unknown.
     */
    CHAR_EOW("char-eow");

    /** The end-of-word suffix of {@link #CHAR_EOW}. */
    public static final String END_OF_WORD = "</w>";

    private final String cliName;

    BpeMode(String cliName) {
        this.cliName = cliName;
    }

    /** The name used on the command line and in files: {@code byte} or {@code char-eow}. */
    public String cliName() {
        return cliName;
    }

    public static BpeMode parse(String s) {
        for (BpeMode m : values()) {
            if (m.cliName.equals(s.toLowerCase(Locale.ROOT))) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown BPE mode '" + s + "' (expected byte or char-eow)");
    }
}
