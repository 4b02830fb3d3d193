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
}
