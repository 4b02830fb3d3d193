package org.sparklm.train;

import java.io.Serializable;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.sparklm.UsageException;

/**
 * Prefix language modelling for an encoder-decoder (T5's {@code prefix_lm}, Raffel et al. 2020): a window of
 * {@code L} tokens is split after its first {@code k} tokens; the encoder reads the prefix and EOS, the decoder
 * produces the rest and EOS. {@code k} is uniform over the whole numbers of {@code [ceil(min L), floor(max L)]},
 * clamped to {@code [1, L-1]} (at least one token on each side). With the default fraction range [0, 1] that is T5's
 * {@code random_prefix_noise_mask}: {@code k} uniform in {@code [1, L-1]}.
 *
 * <p>The window length is the longest for which every split of the range fits both contexts
 * ({@code k + 1 <= Te} and {@code L - k + 1 <= Td}), so no example is ever cut; for the default range that is
 * {@code min(Te, Td)}.
 */
public final class PrefixLm implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Default smallest fraction of a window given to the encoder (T5: any split). */
    public static final double MIN_FRACTION = 0.0;
    /** Default largest fraction of a window given to the encoder. */
    public static final double MAX_FRACTION = 1.0;

    private final double minFraction;
    private final double maxFraction;
    private final int eosId;

    public PrefixLm(double minFraction, double maxFraction, int eosId) {
        checkRange(minFraction, maxFraction);
        this.minFraction = minFraction;
        this.maxFraction = maxFraction;
        this.eosId = eosId;
    }

    static void checkRange(double min, double max) {
        if (!(min >= 0 && max <= 1 && min <= max)) {
            throw new UsageException("the prefix fractions must satisfy 0 <= --prefix-min <= --prefix-max <= 1, got "
                + min + " and " + max);
        }
    }

    public double minFraction() {
        return minFraction;
    }

    public double maxFraction() {
        return maxFraction;
    }

    /** The smallest and largest prefix length of a window of {@code length} tokens (empty when min > max). */
    public static int[] splitRange(int length, double minFraction, double maxFraction) {
        int lo = Math.max(1, (int) Math.ceil(minFraction * length - 1e-9));
        int hi = Math.min(length - 1, (int) Math.floor(maxFraction * length + 1e-9));
        return new int[] {lo, hi};
    }

    /**
     * The longest window whose every split fits an encoder of {@code encoderContext} and a decoder of
     * {@code decoderContext} tokens (each with its EOS).
     *
     * @throws UsageException when no window of at least 2 tokens fits
     */
    public static int windowLength(int encoderContext, int decoderContext, double minFraction, double maxFraction) {
        checkRange(minFraction, maxFraction);
        for (long l = (long) encoderContext + decoderContext; l >= 2; l--) {
            int[] r = splitRange((int) l, minFraction, maxFraction);
            if (r[0] <= r[1] && r[1] + 1 <= encoderContext && l - r[0] + 1 <= decoderContext) {
                return (int) l;
            }
        }
        throw new UsageException("prefix-lm: an encoder context of " + encoderContext + " and a decoder context of "
            + decoderContext + " tokens are too short for a split window with prefix fractions [" + minFraction + ", "
            + maxFraction + "] (each side needs at least one token and EOS)");
    }

    /** Splits a window at a prefix length drawn from {@code rng}. */
    public Seq2SeqBatches.Example split(int[] window, SplittableRandom rng) {
        int[] r = splitRange(window.length, minFraction, maxFraction);
        if (r[0] > r[1]) {
            throw new IllegalArgumentException("no split of a window of " + window.length + " tokens lies in ["
                + minFraction + ", " + maxFraction + "]");
        }
        return split(window, r[0] + rng.nextInt(r[1] - r[0] + 1));
    }

    /** The example of a window split after its first {@code prefix} tokens. */
    public Seq2SeqBatches.Example split(int[] window, int prefix) {
        if (prefix < 1 || prefix >= window.length) {
            throw new IllegalArgumentException("prefix " + prefix + " of a window of " + window.length);
        }
        int[] in = Arrays.copyOf(window, prefix + 1);
        in[prefix] = eosId;
        int[] out = Arrays.copyOfRange(window, prefix, window.length + 1);
        out[out.length - 1] = eosId;
        return new Seq2SeqBatches.Example(in, out);
    }
}
