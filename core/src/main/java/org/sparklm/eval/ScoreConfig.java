package org.sparklm.eval;

import org.sparklm.config.CommandLine;
import org.sparklm.config.Opt;

/** The options of {@code score}. */
public record ScoreConfig(
    @Opt(metavar = "DIR", help = "a clm checkpoint directory, or a run directory (its newest intact checkpoint)",
        required = true)
    String checkpoint,
    @Opt(help = "recognise special tokens such as [EOS] in the input text")
    boolean special,
    @Opt(metavar = "N", help = "sliding-window stride for texts longer than the context: each window scores only the"
        + " tokens the previous ones did not (1 to the context length)", defaultText = "half the context length",
        min = 0, max = 1 << 20)
    int stride,
    @Opt(metavar = "B", help = "windows per forward pass (fewer if B x context x vocabulary exceeds 16M values)",
        min = 1, max = 4096)
    int batchSize,
    @Opt(help = "instead of one line per text, print one summary: the mean loss at each context position and"
        + " Olsson et al.'s in-context-learning score (loss late in the context minus loss early in it)")
    boolean positions,
    @Opt(metavar = "K", help = "--positions: the early position (tokens of context)", defaultText = "late / 10",
        min = 0, max = 1 << 20)
    int early,
    @Opt(metavar = "K", help = "--positions: the late position (tokens of context)", defaultText = "500 if the"
        + " context allows, else the context length rounded down to a multiple of 10", min = 0, max = 1 << 20)
    int late) {

    public static final ScoreConfig DEFAULTS = new ScoreConfig(null, false, 0, 8, false, 0, 0);

    public static CommandLine<ScoreConfig> commandLine() {
        return CommandLine.of(ScoreConfig.class, DEFAULTS, "score",
            "Scores text lines from standard input with a causal (clm) checkpoint: one JSON object per line with its"
                + " tokens, each token's log-probability given the ones before it (the first given the [EOS] that"
                + " separates documents in training), the sum and the perplexity. Runs in a plain JVM.");
    }

    /** The stride for a context length (the default: half of it, rounded up). */
    public int strideFor(int context) {
        return stride == 0 ? (context + 1) / 2 : stride;
    }

    /** The late position of the in-context-learning score for a context length. */
    public int lateFor(int context) {
        return late != 0 ? late : context >= 500 ? 500 : Math.max(1, context / 10 * 10);
    }

    /** The early position of the in-context-learning score for a context length. */
    public int earlyFor(int context) {
        return early != 0 ? early : Math.max(1, lateFor(context) / 10);
    }
}
