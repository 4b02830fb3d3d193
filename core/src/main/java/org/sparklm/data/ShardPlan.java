package org.sparklm.data;

import java.util.Locale;

/**
 * How documents are cut into shards. Within a split the documents are laid end to end in their shuffled order
 * ({@link DocumentKey}); a document whose tokens occupy {@code [start, start + length)} of the split's {@code total}
 * tokens goes to shard {@code floor((start + length / 2) * shards / total)}: its midpoint decides. Shards therefore
 * hold contiguous runs of a random order (each is a random sample of the documents), and each holds
 * {@code total / shards} tokens give or take one document.
 */
public final class ShardPlan {
    /** Tokens per training shard when the shard count is left to the job. */
    public static final long DEFAULT_SHARD_TOKENS = 100_000_000L;

    private ShardPlan() {
    }

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
}
