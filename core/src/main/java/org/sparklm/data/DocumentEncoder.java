package org.sparklm.data;

import java.util.Arrays;
import java.util.Iterator;
import java.util.NoSuchElementException;
import org.sparklm.tokenizer.Tokenizer;

/**
 * Turns raw records into {@link EncodedDocument}s: the text of each record as {@link DocumentReader} reads it (blank
 * and malformed records skipped and counted), encoded with the tokenizer treating special-token strings in the text as
 * ordinary text, followed by the EOS id, with the document's identity (file name, position) hashed with the seed.
 * Not thread-safe; one per task.
 */
public final class DocumentEncoder {
    private final Tokenizer tokenizer;
    private final int eosId;
    private final DocumentReader reader;
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
        this.reader = new DocumentReader(format, textField);
        this.stats.read = reader.stats();
        this.key = new DocumentKey(seed);
        this.threshold = threshold;
    }

    public EncodeStats stats() {
        return stats;
    }

    /** Encodes one record; null when it is skipped (blank or malformed, both counted). */
    public EncodedDocument encode(String file, long position, byte[] b, int off, int len) {
        String text = reader.text(file, position, b, off, len);
        if (text == null) {
            return null;
        }
        int[] ids = tokenizer.encode(text, false);
        int[] tokens = Arrays.copyOf(ids, ids.length + 1);
        tokens[ids.length] = eosId;
        key.hash(file, position);
        stats.document(key.split(), DocumentKey.isValidation(key.split(), threshold), tokens.length);
        return new EncodedDocument(key.split(), key.orderHi(), key.orderLo(), tokens);
    }

    /** Encodes one record; null when it is skipped. */
    public EncodedDocument encode(DocumentReader.Record r) {
        return encode(r.file(), r.position(), r.bytes(), r.offset(), r.length());
    }

    /**
     * Encodes a stream of records lazily; the last element is a statistics record ({@link EncodedDocument#stats}).
     */
    public Iterator<EncodedDocument> encodeAll(Iterator<DocumentReader.Record> records) {
        return new Iterator<>() {
            private EncodedDocument next;
            private boolean statsDone;

            @Override
            public boolean hasNext() {
                while (next == null && records.hasNext()) {
                    next = encode(records.next());
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
}
