package org.sparklm.data;

import java.util.Iterator;
import java.util.NoSuchElementException;
import org.sparklm.tokenizer.Tokenizer;
import org.sparklm.tokenizer.Utf8;

/**
 * Turns raw records (a line, a JSON line or a whole file, as UTF-8 bytes) into {@link EncodedDocument}s: decode
 * (invalid UTF-8 becomes U+FFFD and is counted), take the text (the JSON field for {@link DocFormat#JSONL}), skip
 * blank documents (counted), encode with the tokenizer treating special-token strings in the text as ordinary text,
 * append the EOS id, and hash the document's identity (file name, position) with the seed. A UTF-8 byte-order mark at
 * the start of a file is dropped. Not thread-safe; one per task.
 */
public final class DocumentEncoder {
    private final Tokenizer tokenizer;
    private final int eosId;
    private final DocFormat format;
    private final JsonlText jsonl;
    private final DocumentKey key;
    private final long threshold;
    private final EncodeStats stats = new EncodeStats();

    /**
     * @param threshold the nominal validation threshold ({@link DocumentKey#threshold}), only for the statistics
     */
    public DocumentEncoder(Tokenizer tokenizer, int eosId, DocFormat format, String textField, long seed,
                           long threshold) {
        this.tokenizer = tokenizer;
        this.eosId = eosId;
        this.format = format;
        this.jsonl = format == DocFormat.JSONL ? new JsonlText(textField) : null;
        this.key = new DocumentKey(seed);
        this.threshold = threshold;
    }

    public EncodeStats stats() {
        return stats;
    }

    /** Encodes one record; null when it is skipped (blank or malformed, both counted). */
    public EncodedDocument encode(String file, long position, byte[] b, int off, int len) {
        stats.records++;
        stats.inputBytes += len;
        if (position == 0 && len >= 3 && (b[off] & 0xFF) == 0xEF && (b[off + 1] & 0xFF) == 0xBB
            && (b[off + 2] & 0xFF) == 0xBF) {
            off += 3;
            len -= 3;
        }
        stats.invalidUtf8 += Utf8.countMalformed(b, off, len);
        String text;
        long textBytes = len;
        if (format == DocFormat.JSONL) {
            if (isBlank(b, off, len)) {
                stats.emptyDocuments++;
                return null;
            }
            try {
                text = jsonl.text(b, off, len);
            } catch (JsonlText.Malformed e) {
                stats.malformed(file, position, e.getMessage());
                return null;
            }
            textBytes = utf8Length(text);
        } else {
            text = Utf8.decode(b, off, len);
        }
        if (text.isBlank()) {
            stats.emptyDocuments++;
            return null;
        }
        int[] ids = tokenizer.encode(text, false);
        int[] tokens = java.util.Arrays.copyOf(ids, ids.length + 1);
        tokens[ids.length] = eosId;
        key.hash(file, position);
        stats.document(key.split(), DocumentKey.isValidation(key.split(), threshold), tokens.length, textBytes);
        return new EncodedDocument(key.split(), key.orderHi(), key.orderLo(), tokens);
    }

    /**
     * Encodes a stream of records lazily; the last element is a statistics record ({@link EncodedDocument#stats}).
     */
    public <R> Iterator<EncodedDocument> encodeAll(Iterator<R> records, RecordReader<R> reader) {
        return new Iterator<>() {
            private EncodedDocument next;
            private boolean statsDone;

            @Override
            public boolean hasNext() {
                while (next == null && records.hasNext()) {
                    next = reader.encode(records.next(), DocumentEncoder.this);
                }
                if (next == null && !statsDone) {
                    next = EncodedDocument.ofStats(stats);
                    statsDone = true;
                }
                return next != null;
            }

            @Override
            public EncodedDocument next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                EncodedDocument d = next;
                next = null;
                return d;
            }
        };
    }

    /** Feeds one record of some input type to {@link #encode}. */
    @FunctionalInterface
    public interface RecordReader<R> {
        EncodedDocument encode(R record, DocumentEncoder encoder);
    }

    private static boolean isBlank(byte[] b, int off, int len) {
        for (int i = off; i < off + len; i++) {
            int c = b[i] & 0xFF;
            if (c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '\f' && c != 0x0B) {
                return false;
            }
        }
        return true;
    }

    private static long utf8Length(String s) {
        long n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                n++;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                n += 4;
                i++;
            } else {
                n += 3;
            }
        }
        return n;
    }
}
