package org.sparklm.scaling;

import org.sparklm.config.CommandLine;
import org.sparklm.config.Opt;

/** Everything {@code plan} is told ({@link PlanCommand}); {@link #DEFAULTS} holds every default. */
public record PlanConfig(
    @Opt(metavar = "C", help = "the training compute budget in FLOPs (C = 6 N D)", min = 0)
    double flops,
    @Opt(metavar = "H", help = "the budget as wall-clock hours on --workers workers at the throughput of"
        + " --tokens-per-s or --run", min = 0)
    double hours,
    @Opt(metavar = "R", help = "training throughput of one worker, in tokens per second, measured on --model",
        min = 0)
    double tokensPerS,
    @Opt(metavar = "W", help = "workers of the planned run (the budget of --hours, and the wall time)", min = 1,
        max = 1 << 20)
    int workers,
    @Opt(metavar = "DIR", help = "a training run directory (pretrain's output, or one run of a sweep): its"
        + " metrics.jsonl gives the throughput and its model the FLOPs per token; without --flops or --hours, the"
        + " budget is the compute that run spent")
    String run,
    @Opt(metavar = "NAME|FILE", help = "the scaling law: hoffmann (Hoffmann et al. 2022, approach 3), epoch"
        + " (Besiroglu et al. 2024), or a law.json written by sweep (any Hadoop path: local, hdfs://, s3a://)")
    String law,
    @Opt(metavar = "NAME|FILE", help = "the model configs to pick the nearest model from: gpt (built in,"
        + " conf/families/gpt.json) or a family file (docs/FORMATS.md; any Hadoop path)")
    String family,
    @Opt(metavar = "V", help = "build the family's models at this vocabulary (your tokenizer's) instead of the"
        + " file's vocab_size (0: the file's)", min = 0, max = Integer.MAX_VALUE)
    int familyVocabSize,
    @Opt(metavar = "NAME|FILE", help = "the model --tokens-per-s was measured on: a model config name or file")
    String model,
    @Opt(metavar = "V", help = "the vocabulary size of --model", min = 2, max = Integer.MAX_VALUE)
    int vocabSize,
    @Opt(help = "print only the JSON (no table)")
    boolean json) implements CommandLine.Checked {

    public static final PlanConfig DEFAULTS = new PlanConfig(0, 0, 0, 1, null, "hoffmann", "gpt", 0, "tiny", 8000,
        false);

    public static CommandLine<PlanConfig> commandLine() {
        return CommandLine.of(PlanConfig.class, DEFAULTS, "plan",
            "Compute-optimal model size and token count for a training budget under a scaling law"
                + " L(N, D) = E + A / N^alpha + B / D^beta with C = 6 N D, the nearest model of a config family, its"
                + " FLOPs per token (6 N and the attention term 12 L T d) and its wall time. The budget is one of"
                + " --flops C, --hours H with --tokens-per-s R (or --run DIR), or --run DIR alone. Prints JSON, then"
                + " a table.");
    }

    @Override
    public void check() {
        if (flops == 0 && hours == 0 && run == null) {
            throw new IllegalArgumentException("no budget: give --flops C, --hours H with --tokens-per-s R (or"
                + " --run DIR), or --run DIR");
        }
        if (flops > 0 && hours > 0) {
            throw new IllegalArgumentException("give --flops or --hours, not both");
        }
        if (hours > 0 && tokensPerS == 0 && run == null) {
            throw new IllegalArgumentException("--hours needs a throughput: --tokens-per-s R or --run DIR");
        }
        if (tokensPerS > 0 && run != null) {
            throw new IllegalArgumentException("give --tokens-per-s or --run, not both");
        }
    }
}
