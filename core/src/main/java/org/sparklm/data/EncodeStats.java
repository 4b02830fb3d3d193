package org.sparklm.data;

/**
 * What encoding saw in one partition (mergeable across partitions): what reading saw ({@link ReadStats}: records,
 * documents, skipped records, invalid UTF-8), the tokens, and the range of split hashes. A plain mutable class so that
 * Spark's Kryo can serialize it.
 */
public final class EncodeStats {
    /** What reading the records saw. */
    public ReadStats read = new ReadStats();
    public long tokens;
    /** Documents below the nominal validation threshold. */
    public long nominalValidation;
    /** Unsigned minimum and maximum split hash; only meaningful when {@code read.documents > 0}. */
    public long minSplit = -1L;
    public long maxSplit;

    public EncodeStats() {
    }

    /** Encoded documents (the documents read). */
    public long documents() {
        return read.documents;
    }

    void document(long split, boolean validation, int tokenCount) {
        tokens += tokenCount;
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

    /** Adds another partition's statistics into this one and returns this. */
    public EncodeStats merge(EncodeStats o) {
        if (o.read.documents > 0) {
            if (read.documents == 0 || Long.compareUnsigned(o.minSplit, minSplit) < 0) {
                minSplit = o.minSplit;
            }
            if (read.documents == 0 || Long.compareUnsigned(o.maxSplit, maxSplit) > 0) {
                maxSplit = o.maxSplit;
            }
        }
        read.merge(o.read);
        tokens += o.tokens;
        nominalValidation += o.nominalValidation;
        return this;
    }
}
