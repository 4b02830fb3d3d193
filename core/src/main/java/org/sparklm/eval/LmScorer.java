package org.sparklm.eval;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.sparklm.model.AttentionMode;
import org.sparklm.model.LanguageModel;

/**
 * Log-likelihoods of token sequences under a causal model (lm-evaluation-harness's {@code loglikelihood} and greedy
 * {@code generate_until}), batched: several sequences of different lengths go through one forward pass, padded on the
 * right. Padding cannot change a causal model's outputs at earlier positions, so no mask is needed.
 *
 * <p>Log-probabilities are {@code ln p} of the network's softmax output (single precision), computed in double and
 * floored at {@code ln(Float.MIN_VALUE)} so that an underflowed probability stays finite. Not thread-safe.
 */
public final class LmScorer implements Scorer {
    /** The most output values (sequences x positions x vocabulary) one forward pass may produce: 64 MB of floats. */
    static final long MAX_OUTPUT_VALUES = 16L << 20;

    /** The floor of a log-probability (the log of the smallest positive float). */
    public static final double MIN_LOGPROB = Math.log(Float.MIN_VALUE);

    private final ComputationGraph net;
    private final int context;
    private final int vocab;
    private final int batchSize;
    private long forwardPasses;

    /**
     * @param batchSize sequences per forward pass (1: one pass per sequence); fewer when the output of a full batch
     *                  of full-context sequences would exceed {@link #MAX_OUTPUT_VALUES} values
     */
    public LmScorer(LanguageModel model, int batchSize) {
        if (model.config().attention() != AttentionMode.CAUSAL) {
            throw new IllegalArgumentException("scoring needs a causal (clm) model; this one is "
                + model.config().attention().key());
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        }
        this.net = model.network();
        this.context = model.config().contextLength();
        this.vocab = model.config().vocabSize();
        this.batchSize = (int) Math.max(1, Math.min(batchSize,
            MAX_OUTPUT_VALUES / ((long) context * vocab)));
    }

    /** Sequences per forward pass. */
    public int batchSize() {
        return batchSize;
    }

    /** The most ids one forward pass takes. */
    public int context() {
        return context;
    }

    @Override
    public boolean fits(int promptIds, int continuationIds) {
        return promptIds + continuationIds - 1 <= context;         // the last id is predicted, not fed
    }

    @Override
    public long forwardPasses() {
        return forwardPasses;
    }

    /**
     * A request: the log-probabilities of {@code ids[from..end]}, each given the ids before it from {@code begin};
     * the network is fed {@code ids[begin..end-1]}.
     */
    public record Span(int[] ids, int begin, int from, int end) {
        public Span {
            if (begin < 0 || from <= begin || end < from || end >= ids.length) {
                throw new IllegalArgumentException("bad span begin " + begin + ", from " + from + ", end " + end
                    + " of " + ids.length + " ids");
            }
        }

        int inputs() {
            return end - begin;
        }
    }

    /** The log-probabilities of each span's scored ids ({@code end - from + 1} of them), in order. */
    public List<double[]> logProbs(List<Span> spans) {
        List<double[]> out = new ArrayList<>(spans.size());
        for (int i = 0; i < spans.size(); i += batchSize) {
            List<Span> batch = spans.subList(i, Math.min(spans.size(), i + batchSize));
            int t = 0;
            for (Span s : batch) {
                if (s.inputs() > context) {
                    throw new IllegalArgumentException(s.inputs() + " inputs, more than the context " + context);
                }
                t = Math.max(t, s.inputs());
            }
            float[] p = forward(batch, t);                                  // [b, t, vocab], row-major
            for (int b = 0; b < batch.size(); b++) {
                Span s = batch.get(b);
                double[] lp = new double[s.end() - s.from() + 1];
                for (int j = s.from(); j <= s.end(); j++) {
                    int id = s.ids()[j];
                    int pos = j - 1 - s.begin();                            // the output that predicts ids[j]
                    lp[j - s.from()] = logOf(p[(b * t + pos) * vocab + id]);
                }
                out.add(lp);
            }
        }
        return out;
    }

    /** The summed log-likelihood of {@code ids[from..]} given {@code ids[0..from-1]} (the whole must fit). */
    @Override
    public List<Double> loglikelihoods(List<int[]> sequences, List<Integer> from) {
        List<Span> spans = new ArrayList<>();
        for (int i = 0; i < sequences.size(); i++) {
            int[] s = sequences.get(i);
            spans.add(new Span(s, 0, from.get(i), s.length - 1));
        }
        List<Double> out = new ArrayList<>();
        for (double[] lp : logProbs(spans)) {
            double sum = 0;
            for (double v : lp) {
                sum += v;
            }
            out.add(sum);
        }
        return out;
    }

    /**
     * Greedy continuation of {@code prompt}, one id at a time (the most probable, lowest id on ties) until
     * {@code stop} says so, {@code maxNew} ids, or the context is full.
     */
    @Override
    public int[] greedy(int[] prompt, int maxNew, java.util.function.Predicate<int[]> stop) {
        int[] seq = Arrays.copyOf(prompt, prompt.length + maxNew);
        int len = prompt.length;
        while (len - prompt.length < maxNew && len <= context) {
            float[] p = forward(List.of(new Span(Arrays.copyOf(seq, len + 1), 0, 1, len)), len);
            int base = (len - 1) * vocab;
            seq[len++] = LanguageModel.argmax(Arrays.copyOfRange(p, base, base + vocab));
            int[] gen = Arrays.copyOfRange(seq, prompt.length, len);
            if (stop.test(gen)) {
                break;
            }
        }
        return Arrays.copyOfRange(seq, prompt.length, len);
    }

    static double logOf(float p) {
        return p > 0 ? Math.max(MIN_LOGPROB, Math.log(p)) : MIN_LOGPROB;
    }

    /** The softmax output of the spans' inputs padded to {@code t} ids, as [b, t, vocab] in row-major order. */
    private float[] forward(List<Span> batch, int t) {
        float[] f = new float[batch.size() * t];
        for (int b = 0; b < batch.size(); b++) {
            Span s = batch.get(b);
            for (int j = 0; j < s.inputs(); j++) {
                f[b * t + j] = s.ids()[s.begin() + j];
            }
            // positions after the span's inputs stay id 0: padding on the right, invisible to earlier positions
        }
        INDArray in = Nd4j.create(f, new long[] {batch.size(), t}, DataType.FLOAT);
        INDArray out = net.outputSingle(false, in);                         // [b, t, vocab]
        forwardPasses++;
        return out.castTo(DataType.FLOAT).dup('c').data().asFloat();
    }
}
