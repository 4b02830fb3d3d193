package org.sparklm.eval;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Predicate;
import org.sparklm.model.LanguageModel;
import org.sparklm.model.Seq2SeqModel;

/**
 * Log-likelihoods and greedy continuations under a prefix-LM encoder-decoder, the way it was trained: the encoder
 * reads the prompt followed by EOS ({@code ids[0..from-1]}, EOS), the decoder scores or generates the continuation
 * ({@code ids[from..]}) from its start id. A prompt must fit the encoder context with its EOS, a continuation the
 * decoder context. Pairs are scored {@code batchSize} per forward pass. Not thread-safe.
 */
public final class Seq2SeqScorer implements Scorer {
    private final Seq2SeqModel model;
    private final int eos;
    private final int batchSize;
    private final int encoderContext;
    private final int decoderContext;
    private long forwardPasses;

    /**
     * @param startId the decoder start id ({@code [PAD]})
     * @param eos     the id that ends every encoder input ({@code [EOS]})
     */
    public Seq2SeqScorer(LanguageModel model, int startId, int eos, int batchSize) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        }
        this.model = new Seq2SeqModel(model, startId);
        this.eos = eos;
        this.batchSize = batchSize;
        this.encoderContext = model.config().encoderContext();
        this.decoderContext = model.config().decoderContext();
    }

    @Override
    public boolean fits(int promptIds, int continuationIds) {
        return promptIds >= 1 && promptIds + 1 <= encoderContext && continuationIds <= decoderContext;
    }

    @Override
    public long forwardPasses() {
        return forwardPasses;
    }

    private int[] encoderInput(int[] ids, int from) {
        int[] enc = Arrays.copyOf(ids, from + 1);
        enc[from] = eos;
        return enc;
    }

    @Override
    public List<Double> loglikelihoods(List<int[]> sequences, List<Integer> from) {
        List<Double> out = new ArrayList<>(sequences.size());
        for (int i = 0; i < sequences.size(); i += batchSize) {
            List<int[]> enc = new ArrayList<>();
            List<int[]> tgt = new ArrayList<>();
            for (int k = i; k < Math.min(sequences.size(), i + batchSize); k++) {
                int[] s = sequences.get(k);
                int f = from.get(k);
                if (!fits(f, s.length - f) || f >= s.length) {
                    throw new IllegalArgumentException("a prompt of " + f + " ids and a continuation of "
                        + (s.length - f) + " do not fit the contexts " + encoderContext + " and " + decoderContext);
                }
                enc.add(encoderInput(s, f));
                tgt.add(Arrays.copyOfRange(s, f, s.length));
            }
            float[][] p = model.targetProbabilities(enc, tgt);
            forwardPasses++;
            for (float[] row : p) {
                double sum = 0;
                for (float v : row) {
                    sum += LmScorer.logOf(v);
                }
                out.add(sum);
            }
        }
        return out;
    }

    @Override
    public int[] greedy(int[] prompt, int maxNew, Predicate<int[]> stop) {
        if (!fits(prompt.length, 0)) {
            throw new IllegalArgumentException("a prompt of " + prompt.length + " ids does not fit the encoder context "
                + encoderContext + " with its EOS");
        }
        int[] enc = encoderInput(prompt, prompt.length);
        int[] out = new int[0];
        while (out.length < Math.min(maxNew, model.maxOutput())) {     // as Seq2SeqModel.generate
            float[] p = model.next(enc, List.of(out))[0];
            forwardPasses++;
            out = Arrays.copyOf(out, out.length + 1);
            out[out.length - 1] = LanguageModel.argmax(p);
            if (stop.test(out)) {
                break;
            }
        }
        return out;
    }
}
