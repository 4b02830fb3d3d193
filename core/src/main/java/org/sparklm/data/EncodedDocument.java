package org.sparklm.data;

/**
 * One encoded document on its way into the shards: its identity hash ({@link DocumentKey}) and its token ids, the
 * EOS id last. A plain mutable class so that Spark's Kryo can serialize it.
 */
public final class EncodedDocument {
    public long split;
    public long orderHi;
    public long orderLo;
    public int[] tokens;
    /** Set only on the one trailing record per partition that carries the partition's statistics. */
    public EncodeStats stats;

    public EncodedDocument() {
    }

    public EncodedDocument(long split, long orderHi, long orderLo, int[] tokens) {
        this.split = split;
        this.orderHi = orderHi;
        this.orderLo = orderLo;
        this.tokens = tokens;
    }

    static EncodedDocument ofStats(EncodeStats stats) {
        EncodedDocument d = new EncodedDocument();
        d.stats = stats;
        return d;
    }

    public boolean isDocument() {
        return stats == null;
    }
}
