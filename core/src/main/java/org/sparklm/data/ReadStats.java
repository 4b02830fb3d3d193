package org.sparklm.data;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.sparklm.io.HadoopFiles;

/**
 * What reading documents saw in one partition ({@link DocumentReader}), mergeable across partitions: records read,
 * documents kept, blank documents and malformed records skipped (the first few malformed with their position),
 * invalid UTF-8. A plain mutable class so that Spark's Kryo can serialize it.
 */
public final class ReadStats implements java.io.Serializable {
    private static final long serialVersionUID = 1L;

    /** How many malformed records are kept with their position (the smallest by file name, then position). */
    public static final int KEEP_MALFORMED = 5;

    /** Records read: lines ({@code line}, {@code jsonl}) or files ({@code file}). */
    public long records;
    /** Bytes of the records as read (without line ends, BOM included). */
    public long inputBytes;
    public long documents;
    /** UTF-8 bytes of the documents' text (without BOM or line ends). */
    public long textBytes;
    public long emptyDocuments;
    public long malformed;
    public long invalidUtf8;
    /** Up to {@link #KEEP_MALFORMED} malformed records: file name, byte position, reason. */
    public ArrayList<String[]> firstMalformed = new ArrayList<>();

    public ReadStats() {
    }

    void malformed(String file, long position, String reason) {
        malformed++;
        firstMalformed.add(new String[] {file, Long.toString(position), reason});
        trim();
    }

    private void trim() {
        firstMalformed.sort(ORDER);
        while (firstMalformed.size() > KEEP_MALFORMED) {
            firstMalformed.remove(firstMalformed.size() - 1);
        }
    }

    private static final Comparator<String[]> ORDER = Comparator.<String[], String>comparing(a -> a[0])
        .thenComparingLong(a -> Long.parseLong(a[1]));

    /** Adds another partition's statistics into this one and returns this. */
    public ReadStats merge(ReadStats o) {
        records += o.records;
        inputBytes += o.inputBytes;
        documents += o.documents;
        textBytes += o.textBytes;
        emptyDocuments += o.emptyDocuments;
        malformed += o.malformed;
        invalidUtf8 += o.invalidUtf8;
        firstMalformed.addAll(o.firstMalformed);
        trim();
        return this;
    }

    /** The first malformed records (file name, byte position, reason), in (file, position) order. */
    public List<String[]> firstMalformed() {
        return firstMalformed;
    }

    /** A malformed record located for people: the file's URI, its 1-based line number and byte offset, why. */
    public record MalformedRecord(String file, long line, long byteOffset, String reason) {
        @Override
        public String toString() {
            return file + ":" + line + ": " + reason;
        }
    }

    /**
     * The first malformed records with line numbers, found by reading those files up to the positions (on the driver:
     * an executor would need the line count of every preceding split).
     *
     * @param uriOf the file URI of each input-relative file name
     */
    public List<MalformedRecord> describeMalformed(Configuration conf, Map<String, String> uriOf) throws IOException {
        Map<String, List<String[]>> byFile = new LinkedHashMap<>();
        for (String[] m : firstMalformed) {
            byFile.computeIfAbsent(m[0], k -> new ArrayList<>()).add(m);
        }
        List<MalformedRecord> out = new ArrayList<>();
        for (var e : byFile.entrySet()) {
            String uri = uriOf.get(e.getKey());
            long[] offsets = e.getValue().stream().mapToLong(m -> Long.parseLong(m[1])).toArray();
            long[] lines = HadoopFiles.lineNumbers(conf, uri, offsets);
            for (int i = 0; i < offsets.length; i++) {
                out.add(new MalformedRecord(uri, lines[i], offsets[i], e.getValue().get(i)[2]));
            }
        }
        return out;
    }

    /**
     * Why the input cannot be used, as one line without a command prefix, or null when it can: malformed records
     * under {@code strict} (the first ones named), or no document at all.
     */
    public String problem(boolean strict, List<MalformedRecord> described) {
        if (malformed > 0 && strict) {
            return String.format(Locale.ROOT, "%d malformed JSON line(s) (--strict): %s", malformed,
                String.join("; ", described.stream().map(MalformedRecord::toString).toList()));
        }
        if (documents == 0) {
            return String.format(Locale.ROOT, "the input holds no document (%d record(s): %d empty, %d malformed)",
                records, emptyDocuments, malformed);
        }
        return null;
    }
}
