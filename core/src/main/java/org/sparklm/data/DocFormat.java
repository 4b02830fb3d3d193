package org.sparklm.data;

import java.util.Locale;

/** How input files are cut into documents. */
public enum DocFormat {
    /** Each non-blank line is a document. */
    LINE,
    /** Each file is one document. */
    FILE,
    /** One JSON object per line; the document is one of its string fields. */
    JSONL;

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static DocFormat parse(String s) {
        for (DocFormat f : values()) {
            if (f.cliName().equals(s)) {
                return f;
            }
        }
        throw new IllegalArgumentException("unknown document format '" + s + "' (line, file or jsonl)");
    }
}
