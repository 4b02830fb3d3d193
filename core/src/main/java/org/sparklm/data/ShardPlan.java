package org.sparklm.data;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * How documents are cut into shards, and the plan that cuts them without holding anything per document.
 *
 * <p>The rule: within a split the documents are laid end to end in their shuffled order ({@link DocumentKey}); a
 * document whose tokens occupy {@code [start, start + length)} of the split's {@code total} tokens goes to shard
 * {@code floor((start + length / 2) * shards / total)}: its midpoint decides. Shards therefore hold contiguous runs of
 * a random order (each is a random sample of the documents), and each holds {@code total / shards} tokens give or
 * take one document.
 *
 * <p>The plan, in the steps the shard job runs them (each step's input comes from documents sorted by (split, order
 * hash) and cut into consecutive sorted partitions, in any number):
 * <ol>
 *   <li>{@link Sums}: documents and tokens per split of each partition;</li>
 *   <li>{@link #fromSums}: the totals, the shard counts, and each partition's start offset in its split (a prefix
 *       sum over the partitions);</li>
 *   <li>{@link #runStarts}: in each partition, the first document of every run of documents that share a shard (at
 *       most partitions + shards keys in all);</li>
 *   <li>{@link #withRuns}: the plan that maps any document's (split, order hash) to its shard by binary search over
 *       those run starts ({@link #shard}).</li>
 * </ol>
 * The result does not depend on how the documents were partitioned. A plan is immutable and serializable (it is
 * captured in task closures).
 */
public final class ShardPlan implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Tokens per training shard when the shard count is left to the job. */
    public static final long DEFAULT_SHARD_TOKENS = 100_000_000L;
    /** The split index of training documents. */
    public static final int TRAIN = 0;
    /** The split index of validation documents. */
    public static final int VAL = 1;
    private static final String[] SPLIT_NAMES = {"train", "val"};

    // ------------------------------------------------------------------------------------------------ the rules

    /** The shard of a document from its start offset and length within a split of {@code total} tokens. */
    public static int shardOf(long start, long length, long total, int shards) {
        if (total <= 0 || shards <= 1) {
            return 0;
        }
        // (start + length/2) * shards may overflow a long for huge splits; use double only when it would
        long mid2 = 2 * start + length; // twice the midpoint
        int s;
        if (mid2 < Long.MAX_VALUE / shards) {
            s = (int) (mid2 * shards / (2 * total));
        } else {
            s = (int) Math.floor((double) mid2 * shards / (2.0 * total));
        }
        return Math.min(shards - 1, Math.max(0, s));
    }

    /**
     * The number of training shards: {@code requested} when positive, else one per {@link #DEFAULT_SHARD_TOKENS};
     * never more than the documents (a shard should not be empty) and at least 1.
     */
    public static int trainShards(int requested, long tokens, long documents) {
        long n = requested > 0 ? requested : (tokens + DEFAULT_SHARD_TOKENS - 1) / DEFAULT_SHARD_TOKENS;
        return (int) Math.max(1, Math.min(n, Math.max(1, documents)));
    }

    /**
     * The number of validation shards: shards about as large as the training shards, at least 1 when there is any
     * validation document, and never more than its documents.
     */
    public static int validationShards(long valTokens, long valDocuments, long trainTokens, int trainShards) {
        if (valDocuments == 0) {
            return 0;
        }
        double perShard = trainTokens > 0 ? (double) trainTokens / trainShards : valTokens;
        long n = (long) Math.ceil(valTokens / Math.max(1.0, perShard));
        return (int) Math.max(1, Math.min(n, valDocuments));
    }

    /** The file name of shard {@code index} of {@code count} in a split, e.g. {@code train-00003-of-00016.bin}. */
    public static String fileName(String split, int index, int count) {
        return String.format(Locale.ROOT, "%s-%05d-of-%05d.bin", split, index, count);
    }

    /**
     * The validation threshold actually used: the nominal one ({@link DocumentKey#threshold}), moved when it leaves a
     * split empty although there are two or more documents: just above the smallest split hash when validation would
     * be empty (that document goes to validation), to the largest when training would be (that one stays in train).
     */
    public static long finalThreshold(double valFraction, long nominal, EncodeStats s) {
        if (s.documents() < 2 || valFraction == 0) {
            return nominal;
        }
        if (s.nominalValidation == 0) {
            return s.minSplit + 1;
        }
        if (s.nominalValidation == s.documents()) {
            return s.maxSplit;
        }
        return nominal;
    }

    // ------------------------------------------------------------------------------------------------ step 1

    /** Documents and tokens per split of one sorted partition; {@link #toArray()} is what {@link #fromSums} takes. */
    public static final class Sums {
        private final long[] s = new long[4];

        /** Counts one document of {@code split} ({@link #TRAIN} or {@link #VAL}) with {@code length} tokens. */
        public void add(int split, long length) {
            s[2 * split]++;
            s[2 * split + 1] += length;
        }

        /** {train documents, train tokens, val documents, val tokens}. */
        public long[] toArray() {
            return s.clone();
        }
    }

    // ------------------------------------------------------------------------------------------------ step 2

    private final long[] documents;
    private final long[] tokens;
    private final int[] shards;
    /** Per sorted partition, per split: the split's tokens in the partitions before it. */
    private final long[][] partitionStart;
    /** Per split, the run starts sorted by order hash: hi, lo, and the shard within the split. */
    private final long[][] runHi;
    private final long[][] runLo;
    private final int[][] runShard;

    private ShardPlan(long[] documents, long[] tokens, int[] shards, long[][] partitionStart, long[][] runHi,
                      long[][] runLo, int[][] runShard) {
        this.documents = documents;
        this.tokens = tokens;
        this.shards = shards;
        this.partitionStart = partitionStart;
        this.runHi = runHi;
        this.runLo = runLo;
        this.runShard = runShard;
    }

    /**
     * The plan from the sums of the sorted partitions ({@link Sums#toArray()}, in partition order), for
     * {@code requestedTrainShards} training shards (0: one per {@link #DEFAULT_SHARD_TOKENS}).
     */
    public static ShardPlan fromSums(List<long[]> partitionSums, int requestedTrainShards) {
        long[] tokens = new long[2];
        long[] documents = new long[2];
        long[][] start = new long[partitionSums.size()][];
        for (int i = 0; i < partitionSums.size(); i++) {
            long[] s = partitionSums.get(i);
            start[i] = tokens.clone();
            for (int g = 0; g < 2; g++) {
                documents[g] += s[2 * g];
                tokens[g] += s[2 * g + 1];
            }
        }
        int nTrain = trainShards(requestedTrainShards, tokens[TRAIN], documents[TRAIN]);
        int nVal = validationShards(tokens[VAL], documents[VAL], tokens[TRAIN], nTrain);
        return new ShardPlan(documents, tokens, new int[] {nTrain, nVal}, start, null, null, null);
    }

    /** Shards of a split ({@link #TRAIN} or {@link #VAL}). */
    public int shards(int split) {
        return shards[split];
    }

    /** Shards of both splits: training shards are 0 .. train-1, validation shards follow. */
    public int totalShards() {
        return shards[TRAIN] + shards[VAL];
    }

    public long documents(int split) {
        return documents[split];
    }

    public long tokens(int split) {
        return tokens[split];
    }

    /** The split name ({@code train} or {@code val}) of a global shard index. */
    public String splitName(int shard) {
        return SPLIT_NAMES[shard < shards[TRAIN] ? TRAIN : VAL];
    }

    /** The file name of a global shard index, e.g. {@code val-00000-of-00001.bin}. */
    public String fileName(int shard) {
        return shard < shards[TRAIN] ? fileName("train", shard, shards[TRAIN])
            : fileName("val", shard - shards[TRAIN], shards[VAL]);
    }

    /** The manifest's splits from the written shards in global index order (a split without shards is left out). */
    public Map<String, List<ShardManifest.Shard>> splits(List<ShardManifest.Shard> byShard) {
        Map<String, List<ShardManifest.Shard>> out = new LinkedHashMap<>();
        for (int i = 0; i < byShard.size(); i++) {
            out.computeIfAbsent(splitName(i), k -> new ArrayList<>()).add(byShard.get(i));
        }
        return out;
    }

    // ------------------------------------------------------------------------------------------------ step 3

    /** Finds the run starts of one sorted partition; feed it the partition's documents in order. */
    public RunStarts runStarts(int partition) {
        return new RunStarts(partitionStart[partition].clone(), tokens, shards);
    }

    /** The first document of the partition and every document that starts a new shard, per split. */
    public static final class RunStarts {
        private final long[] offset;
        private final long[] totals;
        private final int[] counts;
        private final int[] last = {-1, -1};
        private final List<long[]> starts = new ArrayList<>();

        private RunStarts(long[] offset, long[] totals, int[] counts) {
            this.offset = offset;
            this.totals = totals;
            this.counts = counts;
        }

        /** The next document of the partition: its split, order hash (hi, lo) and length in tokens. */
        public void add(int split, long hi, long lo, long length) {
            int s = shardOf(offset[split], length, totals[split], counts[split]);
            offset[split] += length;
            if (s != last[split]) {
                starts.add(new long[] {split, hi, lo, s});
                last[split] = s;
            }
        }

        /** The run starts found, each {split, hi, lo, shard within the split}. */
        public List<long[]> starts() {
            return starts;
        }
    }

    // ------------------------------------------------------------------------------------------------ step 4

    /** This plan with the run starts of all partitions (any order), ready for {@link #shard}. */
    public ShardPlan withRuns(List<long[]> runs) {
        long[][] hi = new long[2][];
        long[][] lo = new long[2][];
        int[][] shard = new int[2][];
        Comparator<long[]> byOrder = (a, b) -> {
            int c = Long.compareUnsigned(a[1], b[1]);
            return c != 0 ? c : Long.compareUnsigned(a[2], b[2]);
        };
        for (int g = 0; g < 2; g++) {
            int gg = g;
            List<long[]> r = new ArrayList<>(runs.stream().filter(a -> a[0] == gg).toList());
            r.sort(byOrder);
            hi[g] = r.stream().mapToLong(a -> a[1]).toArray();
            lo[g] = r.stream().mapToLong(a -> a[2]).toArray();
            shard[g] = r.stream().mapToInt(a -> (int) a[3]).toArray();
        }
        return new ShardPlan(documents, tokens, shards, partitionStart, hi, lo, shard);
    }

    /** The global shard index of a document: that of the last run start at or before its (split, order hash). */
    public int shard(boolean validation, long h, long l) {
        if (runHi == null) {
            throw new IllegalStateException("no run starts yet (withRuns)");
        }
        int g = validation ? VAL : TRAIN;
        int a = 0;
        int b = runHi[g].length - 1;
        int found = 0;
        while (a <= b) {
            int m = (a + b) >>> 1;
            int c = Long.compareUnsigned(runHi[g][m], h);
            if (c == 0) {
                c = Long.compareUnsigned(runLo[g][m], l);
            }
            if (c <= 0) {
                found = m;
                a = m + 1;
            } else {
                b = m - 1;
            }
        }
        int s = runShard[g].length == 0 ? 0 : runShard[g][found];
        return validation ? shards[TRAIN] + s : s;
    }
}
