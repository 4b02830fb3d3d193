package org.sparklm.scaling;

import java.util.List;
import org.sparklm.config.CommandLine;
import org.sparklm.config.Opt;
import org.sparklm.train.Objective;
import org.sparklm.train.OptimizerConfig;

/** Everything {@code sweep} is told; {@link #DEFAULTS} holds every default. */
public record SweepConfig(
    @Opt(metavar = "DIR", help = "a shard directory (the shard job's output)", required = true)
    String data,
    @Opt(metavar = "DIR", help = "the tokenizer the shards were encoded with; checked against the shards' sha256",
        defaultText = "the tokenizer.json stored in --data")
    String tokenizer,
    @Opt(metavar = "DIR", help = "the sweep directory: runs/NAME/ (metrics.jsonl, run.json), sweep.json, law.json,"
        + " report.html", required = true)
    String output,
    @Opt(metavar = "SIZE...", help = "model sizes: LAYERSxD_MODEL[xHEADS] (heads default: d_model / 32, else"
        + " d_model / 16, else 1; d_ff 4 d_model), or a model config name or file", required = true,
        distinct = true)
    List<String> sizes,
    @Opt(metavar = "K...", help = "token budgets, as training tokens per parameter (D = K N)", required = true,
        distinct = true)
    List<Double> tokensPerParam,
    @Opt(metavar = "clm", help = "the pretraining objective (the sweep supports clm)")
    Objective objective,
    @Opt(metavar = "T", help = "context length of every model", min = 1, max = 1 << 16)
    int context,
    @Opt(metavar = "B", help = "windows per minibatch", min = 1, max = 1 << 16)
    int batchSize,
    @Opt(metavar = "LR", help = "peak learning rate (AdamW)", min = 0, max = 10)
    double lr,
    @Opt(metavar = "LR", help = "learning rate at the end of the cosine decay", min = 0, max = 10)
    double minLr,
    @Opt(metavar = "N", help = "linear warmup steps (-1: min(100, steps / 10))", min = -1, max = Integer.MAX_VALUE)
    int warmupSteps,
    @Opt(metavar = "WD", help = "decoupled weight decay on the weight matrices", min = 0, max = 10)
    double weightDecay,
    @Opt(metavar = "C", help = "clip each layer's gradient L2 norm at C (0: off)", min = 0, max = 1e9)
    double gradClip,
    @Opt(metavar = "S", help = "validate every S steps (and at the end); each validation is a metrics record",
        min = 1, max = Integer.MAX_VALUE)
    int evalEvery,
    @Opt(metavar = "N", help = "validation windows per evaluation (the final loss the fit uses)", min = 1,
        max = 1 << 24)
    int evalWindows,
    @Opt(metavar = "F", help = "runs whose compute is within this factor form one IsoFLOP profile", min = 1,
        max = 100)
    double isoflopTolerance,
    @Opt(metavar = "S", help = "seed of the initialisations and the data order")
    long seed,
    @Opt(help = "replace an existing sweep directory")
    boolean overwrite) implements CommandLine.Checked, java.io.Serializable {

    public static final SweepConfig DEFAULTS = new SweepConfig(null, null, null, List.of(), List.of(), Objective.CLM,
        64, 16, 3e-3, 3e-4, -1, OptimizerConfig.WEIGHT_DECAY, OptimizerConfig.GRAD_CLIP, 50, 256, 1.5, 1234, false);

    public SweepConfig {
        sizes = sizes == null ? List.of() : List.copyOf(sizes);
        tokensPerParam = tokensPerParam == null ? List.of() : List.copyOf(tokensPerParam);
    }

    public static CommandLine<SweepConfig> commandLine() {
        return CommandLine.of(SweepConfig.class, DEFAULTS, "sweep",
            "A grid of pretraining runs (--sizes x --tokens-per-param), one Spark task each, every task training its"
                + " own model with pretrain's minibatches, optimizer and evaluation; then fits"
                + " L(N, D) = E + A / N^alpha + B / D^beta to the final validation losses (Hoffmann et al. 2022,"
                + " approach 3) and finds the IsoFLOP minima (approach 2). Writes law.json (for plan --law) and"
                + " report.html.");
    }

    @Override
    public void check() {
        if (objective != Objective.CLM) {
            throw new IllegalArgumentException("--objective: the sweep supports clm only");
        }
        if (sizes.isEmpty() || tokensPerParam.isEmpty()) {
            throw new IllegalArgumentException("give --sizes and --tokens-per-param");
        }
        for (double k : tokensPerParam) {
            if (!(k > 0) || Double.isInfinite(k)) {
                throw new IllegalArgumentException("--tokens-per-param must be positive and finite, got " + k);
            }
        }
        for (String s : sizes) {
            SweepGrid.checkSize(s);
        }
    }
}
