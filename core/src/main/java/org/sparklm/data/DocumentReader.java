package org.sparklm.data;

import org.sparklm.tokenizer.Utf8;

/**
 * Turns raw records of a corpus (a line, a JSON line or a whole file, as UTF-8 bytes) into document text: the one
 * reader of {@code bpe-train} and {@code shard}, so the vocabulary is learned from exactly the text that is encoded.
 *
 * <p>Per record: a UTF-8 byte-order mark at the start of a file (position 0) is dropped; invalid UTF-8 is decoded
 * as U+FFFD and counted; the text is the whole record for {@link DocFormat#LINE} and {@link DocFormat#FILE} (a file
 * keeps its line ends, which are whitespace inside the document), or the string at the text field of the record's JSON
 * object for {@link DocFormat#JSONL} (its escaped newlines are newlines of the text); a record whose text is blank
 * (only whitespace) is skipped and counted, a JSON line without such a string is skipped and counted as malformed with
 * its position. Not thread-safe; one per task.
 */
public final class DocumentReader {
    /** A file-format document larger than this is refused (it would not fit a Java string once decoded). */
    public static final long MAX_FILE_BYTES = 512L << 20;

    /**
     * One raw record: the input-relative name of its file, its position there (the byte offset of a line in the
     * decompressed file; 0 for a whole file), and its bytes {@code bytes[offset, offset + length)}, without line end.
     * The bytes may be a reused buffer, valid until the next record is read.
     */
    public record Record(String file, long position, byte[] bytes, int offset, int length) {
    }

    private final DocFormat format;
    private final JsonlText jsonl;
    private final ReadStats stats = new ReadStats();

    /**
     * @param textField jsonl: the field holding the text, or a JSON pointer such as {@code /meta/body}; ignored
     *     by the other formats
     */
    public DocumentReader(DocFormat format, String textField) {
        this.format = format;
        this.jsonl = format == DocFormat.JSONL ? new JsonlText(textField) : null;
    }

    public DocFormat format() {
        return format;
    }

    /** What this reader has read so far. */
    public ReadStats stats() {
        return stats;
    }

    /** The document text of one record, or null when it is skipped (blank or malformed, both counted). */
    public String text(Record r) {
        return text(r.file(), r.position(), r.bytes(), r.offset(), r.length());
    }

    /** The document text of the record {@code b[off, off + len)}, or null when it is skipped (counted). */
    public String text(String file, long position, byte[] b, int off, int len) {
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
        stats.documents++;
        stats.textBytes += textBytes;
        return text;
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
