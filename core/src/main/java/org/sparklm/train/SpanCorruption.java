package org.sparklm.train;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.sparklm.UsageException;
import org.sparklm.tokenizer.SpecialTokens;

/**
 * T5's span corruption (Raffel et al. 2020, {@code t5/data/preprocessors.py}: {@code random_spans_noise_mask},
 * {@code noise_span_to_unique_sentinel}, {@code random_spans_helper}), on our token ids.
 *
 * <p>The noise mask of a window of {@code L} tokens: {@code n = round(L x density)} noise tokens, clamped to
 * {@code [1, L-1]}; {@code s = max(1, round(n / meanSpanLength))} noise spans; the noise tokens and the {@code L - n}
 * non-noise tokens are each cut into {@code s} non-empty segments, every such cut equally likely; the segments
 * interleave starting with non-noise. Rounding is half-to-even, as Python's {@code round} and TensorFlow's
 * {@code tf.round}, of the double product (as T5's length helper; T5's mask multiplies in float32, which differs from
 * its own helper where {@code L x density} is exactly a half, e.g. L = 190 at 0.15: we follow the helper so that the
 * lengths are exact).
 *
 * <p>The example: the input is the window with each noise span replaced by one sentinel ({@code <extra_id_0>},
 * {@code <extra_id_1>}, ... in order of appearance), then EOS; the target is each sentinel followed by the span it
 * replaced, then EOS. So the input has {@code L - n + s + 1} tokens and the target {@code n + s + 1}.
 *
 * <p>Instances are immutable and serializable; the draws depend only on the random generator given.
 */
public final class SpanCorruption implements Serializable {
    private static final long serialVersionUID = 1L;

    /** T5's noise density. */
    public static final double NOISE_DENSITY = 0.15;
    /** T5's mean noise span length. */
    public static final double MEAN_SPAN_LENGTH = 3.0;

    private final double noiseDensity;
    private final double meanSpanLength;
    private final int[] sentinelIds;
    private final int eosId;

    /**
     * @param sentinelIds the ids of {@code <extra_id_0>, <extra_id_1>, ...} (in that order)
     * @param eosId the end-of-sequence id appended to input and target
     */
    public SpanCorruption(double noiseDensity, double meanSpanLength, int[] sentinelIds, int eosId) {
        checkRates(noiseDensity, meanSpanLength);
        if (sentinelIds.length == 0) {
            throw new IllegalArgumentException("span corruption needs at least one sentinel");
        }
        this.noiseDensity = noiseDensity;
        this.meanSpanLength = meanSpanLength;
        this.sentinelIds = sentinelIds.clone();
        this.eosId = eosId;
    }

    /**
     * Uses the tokenizer's reserved sentinels {@code <extra_id_0>, <extra_id_1>, ...} (the consecutive run from 0)
     * and its {@code [EOS]}.
     *
     * @throws UsageException when the tokenizer has no sentinel or no [EOS]
     */
    public static SpanCorruption of(SpecialTokens specials, double noiseDensity, double meanSpanLength) {
        return new SpanCorruption(noiseDensity, meanSpanLength, sentinels(specials), eos(specials));
    }

    /** The ids of the tokenizer's sentinels {@code <extra_id_0>, <extra_id_1>, ...}, as far as they go. */
    public static int[] sentinels(SpecialTokens specials) {
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; specials.idOf(SpecialTokens.sentinel(i)) >= 0; i++) {
            ids.add(specials.idOf(SpecialTokens.sentinel(i)));
        }
        if (ids.isEmpty()) {
            throw new UsageException("span corruption needs the sentinel tokens " + SpecialTokens.sentinel(0) + ", "
                + SpecialTokens.sentinel(1) + ", ... among the tokenizer's special tokens; this tokenizer has none"
                + " (train it with the default special tokens)");
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The tokenizer's [EOS] id. */
    static int eos(SpecialTokens specials) {
        int eos = specials.idOf(SpecialTokens.EOS);
        if (eos < 0) {
            throw new UsageException("encoder-decoder objectives need an " + SpecialTokens.EOS
                + " token in the tokenizer");
        }
        return eos;
    }

    static void checkRates(double noiseDensity, double meanSpanLength) {
        if (!(noiseDensity > 0 && noiseDensity < 1)) {
            throw new UsageException("--noise-density must be between 0 and 1 (exclusive), got " + noiseDensity);
        }
        if (!(meanSpanLength >= 1) || Double.isInfinite(meanSpanLength)) {
            throw new UsageException("--mean-span-length must be at least 1, got " + meanSpanLength);
        }
    }

    public double noiseDensity() {
        return noiseDensity;
    }

    public double meanSpanLength() {
        return meanSpanLength;
    }

    public int eosId() {
        return eosId;
    }

    /** The sentinel ids, {@code <extra_id_0>} first. */
    public int[] sentinelIds() {
        return sentinelIds.clone();
    }

    // ------------------------------------------------------------------------------------------------ lengths

    /** Noise tokens of a window of {@code length} tokens: {@code round(L x density)} clamped to [1, L-1]. */
    public static int noiseTokens(int length, double noiseDensity) {
        if (length < 2) {
            throw new IllegalArgumentException("a window to corrupt needs at least 2 tokens, got " + length);
        }
        int n = (int) Math.rint(length * noiseDensity);
        return Math.min(Math.max(n, 1), length - 1);
    }

    /** Noise spans of a window of {@code length} tokens: {@code max(1, round(noise / mean))}. */
    public static int noiseSpans(int length, double noiseDensity, double meanSpanLength) {
        return Math.max(1, (int) Math.rint(noiseTokens(length, noiseDensity) / meanSpanLength));
    }

    /**
     * The lengths of span corruption for an encoder context, as T5's {@code random_spans_helper}: the longest raw
     * window whose input (non-noise tokens, one sentinel per span, EOS) fits {@code encoderContext}, and its target
     * length (noise tokens, one sentinel per span, EOS).
     *
     * @param window  raw tokens read per example
     * @param input   encoder input tokens (with sentinels and EOS), at most the encoder context
     * @param target  target tokens (sentinels, spans, EOS): the decoder context must hold them
     * @param noise   noise tokens per window
     * @param spans   noise spans (= sentinels) per window
     */
    public record Lengths(int window, int input, int target, int noise, int spans) {
    }

    /**
     * T5's {@code random_spans_helper} with one sentinel per span in the input and in the target: the longest raw
     * window {@code L} whose input fits {@code encoderContext}. The counts are the clamped ones the mask draws
     * (T5's helper does not clamp; with the defaults they agree from 10-token windows on). T5's special case for
     * density 0.5 (shorten by one so that the target length equals the input length) is left out: the lengths here
     * are exactly those of the examples.
     *
     * @throws UsageException when not even a window of 2 tokens fits
     */
    public static Lengths lengths(int encoderContext, double noiseDensity, double meanSpanLength) {
        checkRates(noiseDensity, meanSpanLength);
        // the input length never decreases as the window grows (each raw token adds 1, minus at most one noise
        // token, plus at most one span), so the longest window that fits is the last before the first that does not
        Lengths best = null;
        for (int l = 2; l < Integer.MAX_VALUE; l++) {
            Lengths x = of(l, noiseDensity, meanSpanLength);
            if (x.input() > encoderContext) {
                break;
            }
            best = x;
        }
        if (best == null) {
            throw new UsageException("span corruption: an encoder context of " + encoderContext + " tokens is too"
                + " short to corrupt a window (it needs at least " + of(2, noiseDensity, meanSpanLength).input()
                + ": one kept token, one sentinel and EOS)");
        }
        return best;
    }

    /** The lengths of the example of one window of {@code window} raw tokens. */
    public static Lengths of(int window, double noiseDensity, double meanSpanLength) {
        int n = noiseTokens(window, noiseDensity);
        int s = noiseSpans(window, noiseDensity, meanSpanLength);
        return new Lengths(window, window - n + s + 1, n + s + 1, n, s);
    }

    // ------------------------------------------------------------------------------------------------ the mask

    /**
     * T5's {@code random_spans_noise_mask}: which tokens of a window of {@code length} are noise.
     */
    public static boolean[] noiseMask(int length, double noiseDensity, double meanSpanLength, SplittableRandom rng) {
        int noise = noiseTokens(length, noiseDensity);
        int spans = noiseSpans(length, noiseDensity, meanSpanLength);
        int[] noiseLengths = randomSegmentation(noise, spans, rng);
        int[] keptLengths = randomSegmentation(length - noise, spans, rng);
        boolean[] mask = new boolean[length];
        int p = 0;
        for (int i = 0; i < spans; i++) {
            p += keptLengths[i];
            Arrays.fill(mask, p, p + noiseLengths[i], true);
            p += noiseLengths[i];
        }
        return mask;
    }

    /**
     * {@code items} cut into {@code segments} non-empty consecutive segments, every cut equally likely: the
     * {@code segments - 1} segment starts are a uniform subset of the {@code items - 1} inner boundaries (T5 shuffles
     * an indicator vector; a partial Fisher-Yates draw of the subset has the same distribution).
     */
    static int[] randomSegmentation(int items, int segments, SplittableRandom rng) {
        if (segments < 1 || segments > items) {
            throw new IllegalArgumentException("cannot cut " + items + " items into " + segments
                + " non-empty segments");
        }
        int gaps = items - 1;
        int[] boundary = new int[gaps];
        for (int i = 0; i < gaps; i++) {
            boundary[i] = i + 1;   // a segment may start at item 1 .. items-1
        }
        for (int j = 0; j < segments - 1; j++) {
            int r = j + rng.nextInt(gaps - j);
            int t = boundary[j];
            boundary[j] = boundary[r];
            boundary[r] = t;
        }
        int[] starts = Arrays.copyOf(boundary, segments - 1);
        Arrays.sort(starts);
        int[] lengths = new int[segments];
        int prev = 0;
        for (int i = 0; i < segments - 1; i++) {
            lengths[i] = starts[i] - prev;
            prev = starts[i];
        }
        lengths[segments - 1] = items - prev;
        return lengths;
    }

    // ------------------------------------------------------------------------------------------------ examples

    /** Corrupts one window with a mask drawn from {@code rng}. */
    public Seq2SeqBatches.Example corrupt(int[] window, SplittableRandom rng) {
        int spans = noiseSpans(window.length, noiseDensity, meanSpanLength);
        if (spans > sentinelIds.length) {
            throw new UsageException(tooManySpans(window.length, spans, sentinelIds.length));
        }
        return apply(window, noiseMask(window.length, noiseDensity, meanSpanLength, rng));
    }

    static String tooManySpans(int window, int spans, int sentinels) {
        return "span corruption: a window of " + window + " tokens has " + spans + " noise spans but the tokenizer"
            + " has only " + sentinels + " sentinels (" + SpecialTokens.sentinel(0) + " .. "
            + SpecialTokens.sentinel(sentinels - 1) + "); use a shorter encoder context, a lower --noise-density or a"
            + " longer --mean-span-length";
    }

    /**
     * The example of a window and its noise mask ({@code noise_span_to_unique_sentinel} on the inputs with the mask,
     * on the targets with its complement, then EOS on both).
     */
    public Seq2SeqBatches.Example apply(int[] window, boolean[] noise) {
        if (noise.length != window.length) {
            throw new IllegalArgumentException("mask of " + noise.length + " for a window of " + window.length);
        }
        int[] in = new int[window.length + 1];
        int[] out = new int[window.length + sentinelIds.length + 1];
        int ni = 0;
        int no = 0;
        int span = -1;
        for (int i = 0; i < window.length; i++) {
            if (noise[i]) {
                if (i == 0 || !noise[i - 1]) {
                    span++;
                    if (span >= sentinelIds.length) {
                        throw new UsageException(tooManySpans(window.length, span + 1, sentinelIds.length));
                    }
                    in[ni++] = sentinelIds[span];
                    out[no++] = sentinelIds[span];
                }
                out[no++] = window[i];
            } else {
                in[ni++] = window[i];
            }
        }
        in[ni++] = eosId;
        out[no++] = eosId;
        return new Seq2SeqBatches.Example(Arrays.copyOf(in, ni), Arrays.copyOf(out, no));
    }
}
