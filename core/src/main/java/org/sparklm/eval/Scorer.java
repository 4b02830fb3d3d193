package org.sparklm.eval;

import java.util.List;
import java.util.function.Predicate;

/**
 * What few-shot evaluation asks of a model (lm-evaluation-harness's {@code loglikelihood} and greedy
 * {@code generate_until}): {@link LmScorer} for causal models, where prompt and continuation are one sequence, and
 * {@link Seq2SeqScorer} for prefix-LM encoder-decoders, where the encoder reads the prompt and the decoder the
 * continuation.
 */
public interface Scorer {
    /**
     * The summed log-likelihood of each sequence's {@code ids[from..]} given {@code ids[0..from-1]} (each pair must
     * {@link #fits}).
     */
    List<Double> loglikelihoods(List<int[]> sequences, List<Integer> from);

    /** Greedy continuation of {@code prompt} until {@code stop} says so or {@code maxNew} ids (or the model's room). */
    int[] greedy(int[] prompt, int maxNew, Predicate<int[]> stop);

    /** Whether a prompt of {@code promptIds} ids followed by {@code continuationIds} ids can be scored. */
    boolean fits(int promptIds, int continuationIds);

    /** Forward passes run so far. */
    long forwardPasses();
}
