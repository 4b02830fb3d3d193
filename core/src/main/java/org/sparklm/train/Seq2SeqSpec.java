package org.sparklm.train;

import java.io.Serializable;
import java.util.List;
import java.util.SplittableRandom;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.sparklm.UsageException;
import org.sparklm.tokenizer.SpecialTokens;

/**
 * How raw token windows become encoder-decoder examples for one objective ({@link Objective#SPAN}: span corruption,
 * {@link Objective#PREFIX_LM}: prefix LM): the encoder and decoder contexts, the raw window length that fits them,
 * the pad id (padding and decoder start) and the objective's draw. Validated once, when it is made: a bad
 * combination is a {@link UsageException} before any data is read. Immutable and serializable (it travels to the
 * executors inside {@link LmMinibatches}).
 */
public final class Seq2SeqSpec implements Serializable {
    private static final long serialVersionUID = 1L;

    private final Objective objective;
    private final int encoderContext;
    private final int decoderContext;
    private final int padId;
    private final int window;
    private final SpanCorruption span;     // SPAN
    private final PrefixLm prefix;         // PREFIX_LM

    private Seq2SeqSpec(Objective objective, int encoderContext, int decoderContext, int padId, int window,
                        SpanCorruption span, PrefixLm prefix) {
        this.objective = objective;
        this.encoderContext = encoderContext;
        this.decoderContext = decoderContext;
        this.padId = padId;
        this.window = window;
        this.span = span;
        this.prefix = prefix;
    }

    /**
     * The spec of a seq2seq objective on a tokenizer's special tokens.
     *
     * @param noiseDensity   span: fraction of a window's tokens dropped (T5: 0.15)
     * @param meanSpanLength span: mean length of a dropped span (T5: 3)
     * @param prefixMin      prefix-lm: smallest fraction of a window given to the encoder
     * @param prefixMax      prefix-lm: largest fraction
     * @throws UsageException when the tokenizer lacks [PAD], [EOS] or (span) the sentinels, or a context is too short
     */
    public static Seq2SeqSpec of(Objective objective, SpecialTokens specials, int encoderContext, int decoderContext,
                                 double noiseDensity, double meanSpanLength, double prefixMin, double prefixMax) {
        if (!objective.isSeq2Seq()) {
            throw new IllegalArgumentException(objective.key() + " is not an encoder-decoder objective");
        }
        if (encoderContext < 1 || decoderContext < 1) {
            throw new UsageException(objective.key() + ": the encoder and decoder contexts must be positive, got "
                + encoderContext + " and " + decoderContext);
        }
        int pad = specials.idOf(SpecialTokens.PAD);
        if (pad < 0) {
            throw new UsageException(objective.key() + " needs a " + SpecialTokens.PAD
                + " token in the tokenizer (padding and the decoder's start token)");
        }
        if (objective == Objective.SPAN) {
            SpanCorruption sc = SpanCorruption.of(specials, noiseDensity, meanSpanLength);
            SpanCorruption.Lengths l = SpanCorruption.lengths(encoderContext, noiseDensity, meanSpanLength);
            if (l.target() > decoderContext) {
                throw new UsageException("span: the decoder context of " + decoderContext + " tokens is too short for"
                    + " the targets of " + l.target() + " tokens that an encoder context of " + encoderContext
                    + " gives (" + l.window() + "-token windows, " + l.noise() + " noise tokens in " + l.spans()
                    + " spans)");
            }
            if (l.spans() > sc.sentinelIds().length) {
                throw new UsageException(SpanCorruption.tooManySpans(l.window(), l.spans(), sc.sentinelIds().length));
            }
            return new Seq2SeqSpec(objective, encoderContext, decoderContext, pad, l.window(), sc, null);
        }
        PrefixLm p = new PrefixLm(prefixMin, prefixMax, SpanCorruption.eos(specials));
        int w = PrefixLm.windowLength(encoderContext, decoderContext, prefixMin, prefixMax);
        return new Seq2SeqSpec(objective, encoderContext, decoderContext, pad, w, null, p);
    }

    public Objective objective() {
        return objective;
    }

    /** Te: the encoder's positions. */
    public int encoderContext() {
        return encoderContext;
    }

    /** Td: the decoder's positions. */
    public int decoderContext() {
        return decoderContext;
    }

    /** The pad id: padding, and the decoder's start token. */
    public int padId() {
        return padId;
    }

    /** Raw tokens read per example. */
    public int window() {
        return window;
    }

    /** The span corruption (span), else null. */
    public SpanCorruption spanCorruption() {
        return span;
    }

    /** The prefix splitter (prefix-lm), else null. */
    public PrefixLm prefixLm() {
        return prefix;
    }

    /** The example of a window, its corruption or split drawn from {@code rng}. */
    public Seq2SeqBatches.Example example(int[] window, SplittableRandom rng) {
        return span != null ? span.corrupt(window, rng) : prefix.split(window, rng);
    }

    /** The minibatch of examples ({@link Seq2SeqBatches#batch} with these contexts). */
    public MultiDataSet batch(List<Seq2SeqBatches.Example> examples) {
        return Seq2SeqBatches.batch(examples, encoderContext, decoderContext, padId);
    }

    /** The generator of one draw: a pure function of a seed and the draw's index. */
    public static SplittableRandom rng(long seed, long index) {
        long h = MlmMasker.fmix(seed ^ 0x5DEECE66DL);
        h = MlmMasker.fmix(h + index * 0x9E3779B97F4A7C15L);
        return new SplittableRandom(h);
    }
}
