package org.sparklm.jobs;

import java.io.Serializable;
import java.util.Comparator;

/**
 * A document's sort key in the shard job: a group (the split while planning, the global shard index while writing)
 * and the document's shuffled-order hash, compared as unsigned numbers.
 */
final class DocKey implements Comparable<DocKey>, Serializable {
    private static final long serialVersionUID = 1L;

    int group;
    long hi;
    long lo;

    DocKey() {
    }

    DocKey(int group, long hi, long lo) {
        this.group = group;
        this.hi = hi;
        this.lo = lo;
    }

    @Override
    public int compareTo(DocKey o) {
        int c = Integer.compare(group, o.group);
        if (c == 0) {
            c = Long.compareUnsigned(hi, o.hi);
        }
        return c != 0 ? c : Long.compareUnsigned(lo, o.lo);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DocKey k && k.group == group && k.hi == hi && k.lo == lo;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(hi * 31 + lo) * 31 + group;
    }

    /** Natural order as a serializable comparator (for repartitionAndSortWithinPartitions). */
    static final class Order implements Comparator<DocKey>, Serializable {
        private static final long serialVersionUID = 1L;

        @Override
        public int compare(DocKey a, DocKey b) {
            return a.compareTo(b);
        }
    }

    /** Sends each key to the partition named by its group. */
    static final class GroupPartitioner extends org.apache.spark.Partitioner {
        private static final long serialVersionUID = 1L;
        private final int partitions;

        GroupPartitioner(int partitions) {
            this.partitions = partitions;
        }

        @Override
        public int numPartitions() {
            return partitions;
        }

        @Override
        public int getPartition(Object key) {
            return ((DocKey) key).group;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof GroupPartitioner g && g.partitions == partitions;
        }

        @Override
        public int hashCode() {
            return partitions;
        }
    }

    /**
     * Range-partitions keys in (group, hi) order without sampling: the order hashes are uniform (sha256), so equal
     * ranges of hi are equally full. Partition {@code group * perGroup + bucket(hi)}; reading the partitions in index
     * order and each sorted gives the global (group, hi, lo) order.
     */
    static final class HashRangePartitioner extends org.apache.spark.Partitioner {
        private static final long serialVersionUID = 1L;
        private final int groups;
        private final int perGroup;

        HashRangePartitioner(int groups, int perGroup) {
            this.groups = groups;
            this.perGroup = perGroup;
        }

        @Override
        public int numPartitions() {
            return groups * perGroup;
        }

        @Override
        public int getPartition(Object key) {
            DocKey k = (DocKey) key;
            return k.group * perGroup + (int) (((k.hi >>> 32) * perGroup) >>> 32);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof HashRangePartitioner h && h.groups == groups && h.perGroup == perGroup;
        }

        @Override
        public int hashCode() {
            return groups * 31 + perGroup;
        }
    }
}
