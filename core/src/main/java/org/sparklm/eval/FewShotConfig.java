package org.sparklm.eval;

import java.util.List;
import org.sparklm.config.CommandLine;
import org.sparklm.config.Opt;

/** The options of {@code evaluate-fewshot}. */
public record FewShotConfig(
    @Opt(metavar = "DIR", help = "a clm or prefix-lm checkpoint directory, or a run directory (its newest intact"
        + " checkpoint)",
        required = true)
    String checkpoint,
    @Opt(metavar = "FILE", help = "the task: JSON lines {\"context\", \"choices\", \"gold\"} (multiple choice) or"
        + " {\"context\", \"target\"} (generation)", required = true)
    String task,
    @Opt(metavar = "K,...", help = "numbers of demonstrations to evaluate with, in this order",
        distinct = true)
    List<Integer> shots,
    @Opt(metavar = "S", help = "seed of the demonstrations' draw")
    long seed,
    @Opt(metavar = "N", help = "evaluate the first N examples only (0: all)", min = 0, max = Integer.MAX_VALUE)
    int limit,
    @Opt(metavar = "FILE", help = "draw demonstrations from this file (same format; either shape) instead of from"
        + " the task itself", defaultText = "the task, never the evaluated example")
    String fewshotFile,
    @Opt(metavar = "DIR", help = "write results.json and report.html (accuracy against shots) here",
        defaultText = "print only")
    String output,
    @Opt(help = "replace an existing output directory")
    boolean overwrite,
    @Opt(metavar = "B", help = "sequences per forward pass (1: one pass per choice; fewer if B x context x"
        + " vocabulary exceeds 16M values)", min = 1, max = 4096)
    int batchSize,
    @Opt(metavar = "N", help = "generation tasks: the most tokens generated", min = 1, max = 1 << 16)
    int maxNewTokens) implements CommandLine.Checked {

    public static final FewShotConfig DEFAULTS = new FewShotConfig(null, null, List.of(0, 1, 2, 4, 8), 1234, 0, null,
        null, false, 16, 32);

    public static CommandLine<FewShotConfig> commandLine() {
        return CommandLine.of(FewShotConfig.class, DEFAULTS, "evaluate-fewshot",
            "Few-shot evaluation of a causal (clm) or prefix-LM encoder-decoder checkpoint with"
                + " lm-evaluation-harness's conventions (prefix-lm: the encoder reads the prompt): multiple choice (acc, acc_norm) or generation (greedy until a newline, exact match), for each number of"
                + " demonstrations; prints one JSON line per number of shots. Runs in a plain JVM.");
    }

    public FewShotConfig {
        shots = shots == null ? List.of() : List.copyOf(shots);
    }

    @Override
    public void check() {
        if (shots.isEmpty()) {
            throw new IllegalArgumentException("--shots needs at least one number");
        }
        for (int k : shots) {
            if (k < 0) {
                throw new IllegalArgumentException("--shots: " + k + " is negative");
            }
        }
    }
}
