package org.sparklm.pretrain;

import java.util.Map;
import org.sparklm.config.CommandLine;
import org.sparklm.config.Opt;
import org.sparklm.train.Objective;
import org.sparklm.train.OptimizerConfig;
import org.sparklm.train.OuterOptimizer;
import org.sparklm.train.SecondMoment;
import org.sparklm.train.PrefixLm;
import org.sparklm.train.Seq2SeqSpec;
import org.sparklm.train.SpanCorruption;
import org.sparklm.tokenizer.SpecialTokens;

/**
 * Everything {@code pretrain} is told, as given: {@link #DEFAULTS} holds every default, a config file
 * ({@code --config FILE}) and the command line override it ({@link CommandLine}). What a run resolves from it (the
 * number of steps, the workers, the warmup) is {@link PretrainRun}.
 */
public record PretrainConfig(
    @Opt(metavar = "DIR", help = "a shard directory (the shard job's output)", required = true)
    String data,
    @Opt(metavar = "DIR", help = "the tokenizer the shards were encoded with (bpe-train output); checked against the"
        + " shards' sha256", defaultText = "the tokenizer.json stored in --data")
    String tokenizer,
    @Opt(metavar = "DIR", help = "the run directory: checkpoints/ (the last one is the final model), metrics.jsonl,"
        + " report.html", required = true)
    String output,
    @Opt(metavar = "NAME|FILE", help = "model config: tiny, small (decoder-only), t5-tiny, t5-small"
        + " (encoder-decoder), or a config file (key = value lines)")
    String model,
    @Opt(metavar = "KEY=VALUE,...", help = "override model config keys, e.g. layers=4,dropout=0.1")
    Map<String, String> modelSet,
    @Opt(help = "causal LM (next token), masked LM (15% of tokens, 80/10/10),"
        + " T5's span corruption (encoder-decoder: spans of the input replaced by sentinels, the decoder produces"
        + " them) or prefix LM (encoder-decoder: the encoder reads a window's first part, the decoder the rest)")
    Objective objective,
    @Opt(metavar = "D", help = "span: fraction of each window's tokens dropped into spans (T5: 0.15)", min = 1e-6,
        max = 0.999999)
    double noiseDensity,
    @Opt(metavar = "L", help = "span: mean length of a dropped span in tokens (T5: 3)", min = 1, max = 1e6)
    double meanSpanLength,
    @Opt(metavar = "F", help = "prefix-lm: smallest fraction of a window given to the encoder (the split is"
        + " uniform between --prefix-min and --prefix-max, at least one token on each side)", min = 0, max = 1)
    double prefixMin,
    @Opt(metavar = "F", help = "prefix-lm: largest fraction of a window given to the encoder", min = 0, max = 1)
    double prefixMax,
    @Opt(metavar = "N", help = "global steps (minibatches per worker); rounded up to whole rounds", min = 0,
        max = Integer.MAX_VALUE)
    long steps,
    @Opt(metavar = "E", help = "train for E passes over the training tokens instead of --steps", min = 0, max = 1e9)
    double epochs,
    @Opt(metavar = "B", help = "windows per minibatch on each worker", min = 1, max = 1 << 16)
    int batchSizePerWorker,
    @Opt(metavar = "H", help = "minibatches each worker trains between averagings", min = 1, max = 1 << 20)
    int averagingFrequency,
    @Opt(metavar = "W", help = "replicas trained in parallel, one Spark task each (0: default parallelism)", min = 0,
        max = 1 << 16)
    int workers,
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
    @Opt(metavar = "B1", help = "Adam's first-moment decay", min = 0, max = 0.999999)
    double beta1,
    @Opt(metavar = "B2", help = "Adam's second-moment decay", min = 0, max = 0.999999)
    double beta2,
    @Opt(metavar = "EPS", help = "Adam's epsilon", min = 1e-30, max = 1)
    double adamEpsilon,
    @Opt(help = "what the driver does with each round's average: take it (plain"
        + " parameter averaging), or an outer SGD step with Nesterov momentum on the pseudo-gradient (DiLoCo)")
    OuterOptimizer.Kind outerOptimizer,
    @Opt(metavar = "LR", help = "nesterov: the outer learning rate", min = 1e-9, max = 10)
    double outerLr,
    @Opt(metavar = "MU", help = "nesterov: the outer momentum", min = 0, max = 0.999999)
    double outerMomentum,
    @Opt(help = "each worker keeps its own Adam moments from round to round (DiLoCo) instead of starting every round"
        + " from the workers' mean; only the parameters are averaged")
    boolean keepWorkerState,
    @Opt(help = "Adam's second moment after averaging: the workers' mean (of their"
        + " squared batch-B gradients), or combined: an estimate of the combined batch's, from the spread of the"
        + " workers' first moments (for small H; see docs/BENCHMARKS.md)")
    SecondMoment secondMoment,
    @Opt(metavar = "R", help = "evaluate on the validation shards every R rounds (and at the end)", min = 1,
        max = Integer.MAX_VALUE)
    int evalEvery,
    @Opt(metavar = "N", help = "validation windows per evaluation", min = 1, max = 1 << 24)
    int evalWindows,
    @Opt(metavar = "R", help = "write a checkpoint every R rounds (and at the end)", min = 1, max = Integer.MAX_VALUE)
    int checkpointEvery,
    @Opt(metavar = "K", help = "keep the newest K checkpoints", min = 1, max = 1000)
    int keepCheckpoints,
    @Opt(metavar = "S", help = "seed of the initialisation, the data order and the masks")
    long seed,
    @Opt(metavar = "S", help = "stop after the round that reaches global step S, with a checkpoint there (a"
        + " time-boxed slice of a longer run; continue it with --resume); 0: run to the end", min = 0)
    long stopAtStep,
    @Opt(help = "continue from the newest intact checkpoint in --output")
    boolean resume,
    @Opt(help = "replace an existing run directory (without --resume)")
    boolean overwrite) implements CommandLine.Checked {

    /** Every default of {@code pretrain}. */
    public static final PretrainConfig DEFAULTS = new PretrainConfig(null, null, null, "tiny", Map.of(),
        Objective.CLM, SpanCorruption.NOISE_DENSITY, SpanCorruption.MEAN_SPAN_LENGTH, PrefixLm.MIN_FRACTION,
        PrefixLm.MAX_FRACTION, 0, 0, 16, 8, 0, OptimizerConfig.LR, OptimizerConfig.MIN_LR, -1, OptimizerConfig.WEIGHT_DECAY,
        OptimizerConfig.GRAD_CLIP, OptimizerConfig.BETA1, OptimizerConfig.BETA2, OptimizerConfig.EPSILON,
        OuterOptimizer.Kind.AVERAGE, 0.7, 0.9, false, SecondMoment.MEAN, 10, 256, 10, 3, 1234, 0, false, false);

    public PretrainConfig {
        modelSet = modelSet == null ? Map.of() : Map.copyOf(modelSet);
    }

    /** The command line of {@code pretrain}. */
    public static CommandLine<PretrainConfig> commandLine() {
        return CommandLine.of(PretrainConfig.class, DEFAULTS, "pretrain",
            "Pretrains a Transformer language model on token shards with DL4J Spark parameter averaging: causal LM"
                + " (GPT, --objective clm), masked LM (BERT, --objective mlm), or an encoder-decoder with T5's span"
                + " corruption (--objective span) or prefix LM (--objective prefix-lm). Each worker trains its replica"
                + " on its own minibatches; parameters and Adam state are averaged every --averaging-frequency minibatches.");
    }

    @Override
    public void check() {
        if (steps == 0 && epochs == 0) {
            throw new IllegalArgumentException("give --steps N or --epochs E");
        }
        if (steps > 0 && epochs > 0) {
            throw new IllegalArgumentException("give --steps or --epochs, not both");
        }
        if (keepWorkerState && secondMoment == SecondMoment.COMBINED) {
            throw new IllegalArgumentException("--second-moment combined averages the workers' Adam state; it does"
                + " not go with --keep-worker-state");
        }
        if (prefixMin > prefixMax) {
            throw new IllegalArgumentException("--prefix-min " + prefixMin + " is above --prefix-max " + prefixMax);
        }
    }

    /**
     * The encoder-decoder spec of this objective (span, prefix-lm) for a model's encoder and decoder contexts;
     * null for clm and mlm.
     *
     * @throws org.sparklm.UsageException when the tokenizer or the contexts do not fit the objective
     */
    public Seq2SeqSpec seq2seq(SpecialTokens specials, int encoderContext, int decoderContext) {
        return objective.isSeq2Seq() ? Seq2SeqSpec.of(objective, specials, encoderContext, decoderContext,
            noiseDensity, meanSpanLength, prefixMin, prefixMax) : null;
    }

    /** A copy with other run-directory flags (tests, the sweep). */
    public PretrainConfig withOutput(String dir, boolean resume, boolean overwrite) {
        return new PretrainConfig(data, tokenizer, dir, model, modelSet, objective, noiseDensity, meanSpanLength,
            prefixMin, prefixMax, steps, epochs, batchSizePerWorker,
            averagingFrequency, workers, lr, minLr, warmupSteps, weightDecay, gradClip, beta1, beta2, adamEpsilon,
            outerOptimizer, outerLr, outerMomentum, keepWorkerState, secondMoment, evalEvery, evalWindows, checkpointEvery, keepCheckpoints, seed,
            stopAtStep, resume, overwrite);
    }
}
