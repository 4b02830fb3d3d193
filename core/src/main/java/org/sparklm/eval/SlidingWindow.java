package org.sparklm.eval;

import java.util.ArrayList;
import java.util.List;

/**
 * The windows that score a sequence longer than the context, as HuggingFace's perplexity guide does ("Perplexity of
 * fixed-length models"): windows of at most {@code context} inputs start every {@code stride} tokens; each window
 * scores only the tokens no earlier window scored, so every token is scored exactly once, with as much left context
 * as its window gives (at least {@code context - stride} tokens once the first window is full).
 *
 * <p>The sequence is {@code s[0..n]}: {@code s[0]} conditions (it is never scored), {@code s[1..n]} are scored. A
 * window {@code [begin, end]} feeds {@code s[begin..end-1]} (at most {@code context} ids) and scores
 * {@code s[firstScored..end]}.
 *
 * @param begin       the first input position
 * @param end         the last predicted position (inclusive)
 * @param firstScored the first position this window scores
 */
public record SlidingWindow(int begin, int end, int firstScored) {

    /** The ids fed to the network. */
    public int inputs() {
        return end - begin;
    }

    /**
     * The windows of a sequence of {@code length} ids (the conditioning one included).
     *
     * @param stride 1 to {@code context}
     */
    public static List<SlidingWindow> plan(int length, int context, int stride) {
        if (context < 1 || stride < 1 || stride > context) {
            throw new IllegalArgumentException("need 1 <= stride <= context, got stride " + stride + ", context "
                + context);
        }
        List<SlidingWindow> out = new ArrayList<>();
        int last = length - 1;                      // the last position to score
        int prevEnd = 0;                            // positions <= prevEnd are scored (0: the conditioning one)
        for (int begin = 0; prevEnd < last; begin += stride) {
            int end = Math.min(begin + context, last);
            if (end > prevEnd) {
                out.add(new SlidingWindow(begin, end, prevEnd + 1));
                prevEnd = end;
            }
        }
        return out;
    }
}
