package org.sparklm.finetune;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.sparklm.tokenizer.Tokenizer;

/**
 * Turns lines of labelled text into token sequences the classifier reads: the text encoded with the pretrained
 * model's tokenizer (special-token strings in the text stay text, as in shards), framed the way the pooling reads it
 * ({@code [CLS]} prepended for {@code first} pooling; {@code [EOS]} appended for a decoder, whose documents ended with
 * it in pretraining, so that {@code last} pooling reads the state after the whole text), and cut to
 * {@code maxLength} tokens by dropping the end of the text (the framing tokens are kept). Blank texts and malformed
 * lines are counted, not encoded.
 */
public final class ExampleEncoder implements Serializable {
    private static final long serialVersionUID = 1L;

    /** One encoded line: where it came from (the file's input-relative name, byte offset), its tokens, its label. */
    public record Encoded(String file, long offset, int[] tokens, String label) implements Serializable {
    }

    /** Counts of one pass over the input; summed over partitions with {@link #add}. */
    public static final class Stats implements Serializable {
        private static final long serialVersionUID = 1L;
        public long lines;
        public long examples;
        public long blank;
        public long malformed;
        public long truncated;
        public long tokens;
        /** The first malformed lines (reason, file, byte offset), at most {@link #KEEP}. */
        public final List<String> firstMalformed = new ArrayList<>();
        public final List<String> firstMalformedFile = new ArrayList<>();
        public final List<Long> firstMalformedAt = new ArrayList<>();
        static final int KEEP = 5;

        public Stats add(Stats o) {
            lines += o.lines;
            examples += o.examples;
            blank += o.blank;
            malformed += o.malformed;
            truncated += o.truncated;
            tokens += o.tokens;
            for (int i = 0; i < o.firstMalformed.size(); i++) {
                if (firstMalformed.size() < KEEP) {
                    firstMalformed.add(o.firstMalformed.get(i));
                    firstMalformedFile.add(o.firstMalformedFile.get(i));
                    firstMalformedAt.add(o.firstMalformedAt.get(i));
                }
            }
            return this;
        }
    }

    private final LabelledText reader;
    private final int prefixId;   // -1: none
    private final int suffixId;   // -1: none
    private final int maxLength;

    /**
     * @param prefixId  a token prepended to every example ([CLS]), or -1
     * @param suffixId  a token appended to every example ([EOS]), or -1
     * @param maxLength tokens per example at most, framing included (at least framing + 1)
     */
    public ExampleEncoder(LabelledText reader, int prefixId, int suffixId, int maxLength) {
        int framing = (prefixId >= 0 ? 1 : 0) + (suffixId >= 0 ? 1 : 0);
        if (maxLength < framing + 1) {
            throw new IllegalArgumentException("max length " + maxLength + " leaves no room for text (framing "
                + framing + ")");
        }
        this.reader = reader;
        this.prefixId = prefixId;
        this.suffixId = suffixId;
        this.maxLength = maxLength;
    }

    /** Encodes one line; null (and counted) when it is blank or malformed. */
    public Encoded encode(Tokenizer tok, String file, long offset, byte[] line, int off, int len, Stats stats) {
        stats.lines++;
        // a UTF-8 byte order mark at the start of a file is not text
        if (offset == 0 && len >= 3 && (line[off] & 0xFF) == 0xEF && (line[off + 1] & 0xFF) == 0xBB
            && (line[off + 2] & 0xFF) == 0xBF) {
            off += 3;
            len -= 3;
        }
        if (isBlank(line, off, len)) {
            stats.blank++;
            return null;
        }
        LabelledText.Example ex;
        try {
            ex = reader.parse(line, off, len);
        } catch (LabelledText.Malformed m) {
            stats.malformed++;
            if (stats.firstMalformed.size() < Stats.KEEP) {
                stats.firstMalformed.add(m.getMessage());
                stats.firstMalformedFile.add(file);
                stats.firstMalformedAt.add(offset);
            }
            return null;
        }
        if (ex.text().isBlank()) {
            stats.blank++;
            return null;
        }
        int[] ids = tok.encode(ex.text(), false);
        if (ids.length > room()) {
            stats.truncated++;
        }
        int[] out = frame(ids);
        stats.examples++;
        stats.tokens += out.length;
        return new Encoded(file, offset, out, ex.label());
    }

    /** Encodes a text given directly (classify): the same framing and cut as training. */
    public int[] encodeText(Tokenizer tok, String text) {
        return frame(tok.encode(text, false));
    }

    /** Tokens of text an example holds besides its framing. */
    private int room() {
        return maxLength - (prefixId >= 0 ? 1 : 0) - (suffixId >= 0 ? 1 : 0);
    }

    /** The text's ids cut to {@link #room()}, with the framing tokens around them. */
    private int[] frame(int[] ids) {
        int n = Math.min(ids.length, room());
        int[] out = new int[n + maxLength - room()];
        int p = 0;
        if (prefixId >= 0) {
            out[p++] = prefixId;
        }
        System.arraycopy(ids, 0, out, p, n);
        if (suffixId >= 0) {
            out[p + n] = suffixId;
        }
        return out;
    }

    private static boolean isBlank(byte[] b, int off, int len) {
        for (int i = off; i < off + len; i++) {
            byte c = b[i];
            if (c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != 0x0B && c != 0x0C) {
                return false;
            }
        }
        return true;
    }
}
