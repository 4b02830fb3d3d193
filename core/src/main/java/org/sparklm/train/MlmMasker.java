package org.sparklm.train;

import java.util.SplittableRandom;
import org.sparklm.tokenizer.SpecialTokens;
import org.sparklm.tokenizer.Tokenizer;

/**
 * BERT's masking (Devlin et al. 2019), drawn again every epoch as RoBERTa's dynamic masking (Liu et al. 2019): of the
 * non-special positions of a window, 15% are chosen (the count is rounded up or down at random so that the expected
 * rate is exact); a chosen token becomes {@code [MASK]} with probability 0.8, a uniformly random non-special token
 * with 0.1, and stays unchanged with 0.1. The loss counts only the chosen positions. Special tokens ({@code [PAD]},
 * {@code [CLS]}, ...: ids {@code 0 .. specials - 1}) are never chosen nor used as random replacements.
 *
 * <p>The draws depend only on {@code (seed, epoch, window index)}, never on the batch a window lands in, the
 * partition or the worker: the same window is masked the same way in the same epoch on any cluster.
 */
public final class MlmMasker {

    public static final double CHOOSE_RATE = 0.15;
    public static final double MASK_RATE = 0.8;
    public static final double RANDOM_RATE = 0.1;

    private final int vocabSize;
    private final int specials;
    private final int maskId;
    private final long seed;

    /**
     * @param vocabSize number of ids
     * @param specials number of special tokens (they take ids {@code 0 .. specials - 1})
     * @param maskId the id of {@code [MASK]}
     */
    public MlmMasker(int vocabSize, int specials, int maskId, long seed) {
        if (specials < 0 || specials >= vocabSize) {
            throw new IllegalArgumentException("need 0 <= specials < vocab size, got " + specials + " of " + vocabSize);
        }
        if (maskId < 0 || maskId >= specials) {
            throw new IllegalArgumentException("the mask token must be a special token, got id " + maskId);
        }
        this.vocabSize = vocabSize;
        this.specials = specials;
        this.maskId = maskId;
        this.seed = seed;
    }

    /** Uses the tokenizer's vocabulary and its {@code [MASK]} token (an error if it has none). */
    public static MlmMasker of(Tokenizer tokenizer, long seed) {
        SpecialTokens s = tokenizer.specialTokens();
        int mask = s.idOf(SpecialTokens.MASK);
        if (mask < 0) {
            throw new IllegalArgumentException("the tokenizer has no " + SpecialTokens.MASK
                + " token; masked-LM needs one (train it with the default special tokens)");
        }
        return new MlmMasker(tokenizer.vocabSize(), s.size(), mask, seed);
    }

    public int maskId() {
        return maskId;
    }

    public boolean isSpecial(int id) {
        return id < specials;
    }

    /**
     * A masked window.
     *
     * @param input the tokens the model sees
     * @param chosen the positions whose original token is a label
     */
    public record Masked(int[] input, boolean[] chosen) {
    }

    /** Masks one window; {@code windowIndex} identifies the window in the data set (not in the batch). */
    public Masked mask(int[] window, long epoch, long windowIndex) {
        SplittableRandom rng = new SplittableRandom(mix(seed, epoch, windowIndex));
        int[] input = window.clone();
        boolean[] chosen = new boolean[window.length];
        int[] candidates = new int[window.length];
        int c = 0;
        for (int i = 0; i < window.length; i++) {
            if (window[i] < 0 || window[i] >= vocabSize) {
                throw new IllegalArgumentException("token id " + window[i] + " outside the vocabulary [0, "
                    + vocabSize + ")");
            }
            if (!isSpecial(window[i])) {
                candidates[c++] = i;
            }
        }
        double expected = CHOOSE_RATE * c;
        int k = (int) Math.floor(expected);
        if (rng.nextDouble() < expected - k) {
            k++;
        }
        // partial Fisher-Yates: the first k candidates after shuffling
        for (int j = 0; j < k; j++) {
            int r = j + rng.nextInt(c - j);
            int tmp = candidates[j];
            candidates[j] = candidates[r];
            candidates[r] = tmp;
            int pos = candidates[j];
            chosen[pos] = true;
            double u = rng.nextDouble();
            if (u < MASK_RATE) {
                input[pos] = maskId;
            } else if (u < MASK_RATE + RANDOM_RATE) {
                input[pos] = specials + rng.nextInt(vocabSize - specials);
            }
        }
        return new Masked(input, chosen);
    }

    private static long mix(long seed, long epoch, long index) {
        long h = seed ^ 0x9E3779B97F4A7C15L;
        h = fmix(h + epoch * 0xC2B2AE3D27D4EB4FL);
        h = fmix(h + index * 0x165667B19E3779F9L);
        return h;
    }

    /** MurmurHash3's 64-bit finaliser (also {@link Seq2SeqSpec#rng}'s). */
    static long fmix(long k) {
        k ^= k >>> 33;
        k *= 0xFF51AFD7ED558CCDL;
        k ^= k >>> 33;
        k *= 0xC4CEB9FE1A85EC53L;
        k ^= k >>> 33;
        return k;
    }
}
