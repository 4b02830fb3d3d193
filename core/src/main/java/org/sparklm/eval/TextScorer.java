package org.sparklm.eval;

import java.util.ArrayList;
import java.util.List;
import org.sparklm.tokenizer.Tokenizer;

/**
 * Scores a text: the log-probability of each of its tokens given the ones before it, under a causal model. The text
 * is conditioned on one id that is not scored ({@code condition}: the EOS id, which precedes every document in
 * pretraining, so the first token is predicted as a document's first token is). A text longer than the context is
 * scored with {@link SlidingWindow}s.
 */
public final class TextScorer {
    private final LmScorer scorer;
    private final Tokenizer tokenizer;
    private final int condition;
    private final int stride;

    /**
     * @param stride the sliding window's stride, 1 to the context length
     */
    public TextScorer(LmScorer scorer, Tokenizer tokenizer, int condition, int stride) {
        if (stride < 1 || stride > scorer.context()) {
            throw new IllegalArgumentException("the stride must be 1 to the context length " + scorer.context()
                + ", got " + stride);
        }
        this.scorer = scorer;
        this.tokenizer = tokenizer;
        this.condition = condition;
        this.stride = stride;
    }

    /**
     * A scored text.
     *
     * @param ids      its token ids (the conditioning id left out)
     * @param logProbs the natural log-probability of each id given the ones before it
     * @param contexts how many ids each was predicted from (the conditioning one included)
     * @param windows  forward windows used
     */
    public record Scored(int[] ids, double[] logProbs, int[] contexts, int windows) {
        public double sum() {
            double s = 0;
            for (double v : logProbs) {
                s += v;
            }
            return s;
        }

        /** exp(-mean log-probability); NaN for an empty text. */
        public double perplexity() {
            return ids.length == 0 ? Double.NaN : Math.exp(-sum() / ids.length);
        }
    }

    /** Scores a text; {@code special}: special-token strings in it (such as {@code [EOS]}) are tokens. */
    public Scored score(String text, boolean special) {
        return score(tokenizer.encode(text, special));
    }

    /** Scores token ids. */
    public Scored score(int[] tokens) {
        int[] seq = new int[tokens.length + 1];
        seq[0] = condition;
        System.arraycopy(tokens, 0, seq, 1, tokens.length);
        double[] lp = new double[tokens.length];
        int[] ctx = new int[tokens.length];
        if (tokens.length == 0) {
            return new Scored(tokens, lp, ctx, 0);
        }
        List<SlidingWindow> windows = SlidingWindow.plan(seq.length, scorer.context(), stride);
        List<LmScorer.Span> spans = new ArrayList<>();
        for (SlidingWindow w : windows) {
            spans.add(new LmScorer.Span(seq, w.begin(), w.firstScored(), w.end()));
        }
        List<double[]> out = scorer.logProbs(spans);
        for (int k = 0; k < windows.size(); k++) {
            SlidingWindow w = windows.get(k);
            double[] v = out.get(k);
            for (int j = w.firstScored(); j <= w.end(); j++) {
                lp[j - 1] = v[j - w.firstScored()];
                ctx[j - 1] = j - w.begin();
            }
        }
        return new Scored(tokens, lp, ctx, windows.size());
    }
}
