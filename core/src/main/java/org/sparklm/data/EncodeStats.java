package org.sparklm.data;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * What encoding saw in one partition (mergeable across partitions): records read, documents kept and skipped,
 * malformed records with the first few positions, invalid UTF-8, and the range of split hashes. A plain mutable class
 * so that Spark's Kryo can serialize it.
 */
public final class EncodeStats {
    /** How many malformed records are kept with their position (the smallest by file name, then position). */
    public static final int KEEP_MALFORMED = 5;

    public long records;
    public long inputBytes;
    public long documents;
    public long tokens;
    /** UTF-8 bytes of the documents' text (without BOM or line ends), for bytes per token. */
    public long textBytes;
    public long emptyDocuments;
    public long malformed;
    public long invalidUtf8;
    /** Documents below the nominal validation threshold. */
    public long nominalValidation;
    /** Unsigned minimum and maximum split hash; only meaningful when documents > 0. */
    public long minSplit = -1L;
    public long maxSplit;
    /** Up to {@link #KEEP_MALFORMED} malformed records: file name, byte position, reason. */
    public ArrayList<String[]> firstMalformed = new ArrayList<>();

    public EncodeStats() {
    }

    void document(long split, boolean validation, int tokenCount, long bytes) {
        documents++;
        tokens += tokenCount;
        textBytes += bytes;
        if (validation) {
            nominalValidation++;
        }
        if (Long.compareUnsigned(split, minSplit) < 0) {
            minSplit = split;
        }
        if (Long.compareUnsigned(split, maxSplit) > 0) {
            maxSplit = split;
        }
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
    public EncodeStats merge(EncodeStats o) {
        records += o.records;
        inputBytes += o.inputBytes;
        if (o.documents > 0) {
            if (documents == 0 || Long.compareUnsigned(o.minSplit, minSplit) < 0) {
                minSplit = o.minSplit;
            }
            if (documents == 0 || Long.compareUnsigned(o.maxSplit, maxSplit) > 0) {
                maxSplit = o.maxSplit;
            }
        }
        documents += o.documents;
        tokens += o.tokens;
        textBytes += o.textBytes;
        emptyDocuments += o.emptyDocuments;
        malformed += o.malformed;
        invalidUtf8 += o.invalidUtf8;
        nominalValidation += o.nominalValidation;
        firstMalformed.addAll(o.firstMalformed);
        trim();
        return this;
    }

    /** The first malformed records, in (file, position) order. */
    public List<String[]> firstMalformed() {
        return firstMalformed;
    }
}
