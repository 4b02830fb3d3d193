package org.sparklm.model.dl4j;

/**
 * T5's bucketed relative position bias (Raffel et al. 2020, section 2.1; the bucketing of the T5 code's
 * {@code _relative_position_bucket}): each attention score gets a learned scalar per head that depends only on the
 * bucket of the offset {@code key - query}. Small offsets have a bucket each; from {@code buckets / 2} (per direction)
 * the buckets are log-spaced up to {@code maxDistance}, beyond which all offsets share the last bucket. The encoder
 * is bidirectional (half the buckets for keys before the query, half for keys after); the decoder is causal (keys
 * after the query share bucket 0, and the causal mask hides them anyway).
 *
 * <p>The logarithm is taken in double precision (the PyTorch port computes it in float32; the two can differ by one
 * bucket at exact boundaries of the log spacing).
 */
public final class RelativePositions {

    private RelativePositions() {
    }

    /**
     * The bucket of the offset {@code relative = key - query}.
     *
     * @param bidirectional the encoder's buckets (both directions), else the decoder's (keys up to the query)
     * @param buckets the number of buckets ({@code relative_buckets})
     * @param maxDistance offsets from this distance share the last bucket of their direction
     */
    public static int bucket(int relative, boolean bidirectional, int buckets, int maxDistance) {
        int base = 0;
        int n = buckets;
        int distance;
        if (bidirectional) {
            n /= 2;
            if (relative > 0) {
                base = n;
            }
            distance = Math.abs(relative);
        } else {
            distance = Math.max(-relative, 0);
        }
        int maxExact = n / 2;
        if (distance < maxExact) {
            return base + distance;
        }
        int large = maxExact + (int) (Math.log((double) distance / maxExact)
            / Math.log((double) maxDistance / maxExact) * (n - maxExact));
        return base + Math.min(large, n - 1);
    }

    /** The buckets of a {@code tq x tk} score matrix, row-major: entry {@code q * tk + k} is bucket(k - q). */
    public static int[] buckets(int tq, int tk, boolean bidirectional, int buckets, int maxDistance) {
        int[] out = new int[tq * tk];
        for (int q = 0; q < tq; q++) {
            for (int k = 0; k < tk; k++) {
                out[q * tk + k] = bucket(k - q, bidirectional, buckets, maxDistance);
            }
        }
        return out;
    }
}
