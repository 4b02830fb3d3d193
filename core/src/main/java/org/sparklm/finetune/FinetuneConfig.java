package org.sparklm.finetune;

import com.fasterxml.jackson.annotation.JsonCreator;
import java.util.List;
import org.sparklm.config.CommandLine;
import org.sparklm.config.Keyed;
import org.sparklm.config.Opt;

/**
 * Everything {@code finetune} is told, as given ({@link #DEFAULTS}, then {@code --config FILE}, then the command line;
 * see {@link CommandLine}). What a run resolves from it and from the pretrained model is {@link FinetuneRun}.
 */
public record FinetuneConfig(
    @Opt(metavar = "DIR", help = "the pretrained model: a checkpoint directory, or a pretraining run directory (its"
        + " newest intact checkpoint)", required = true)
    String checkpoint,
    @Opt(metavar = "PATH...", help = "labelled training text: files, directories or globs on any Hadoop FileSystem",
        required = true)
    List<String> train,
    @Opt(metavar = "PATH...", help = "labelled validation text (same format)", required = true)
    List<String> val,
    @Opt(metavar = "DIR", help = "the run directory: the classifier (checkpoints/, best/), labels.json, metrics.jsonl,"
        + " report.html, result.json", required = true)
    String output,
    @Opt(metavar = "jsonl|tsv", help = "jsonl (one JSON object per line, text and label in --text-field and"
        + " --label-field) or tsv (label<TAB>text)")
    LabelledText.Format format,
    @Opt(metavar = "NAME", help = "jsonl: the field holding the text, or a JSON pointer such as /meta/body")
    String textField,
    @Opt(metavar = "NAME", help = "jsonl: the field holding the label (a string, number or boolean), or a JSON pointer")
    String labelField,
    @Opt(help = "full (every parameter), head (the pretrained body frozen: a linear probe), lora"
        + " (low-rank adapters on --lora-targets, pretrained weights frozen) or prefix (trainable key/value prefixes"
        + " at every layer, pretrained weights frozen)")
    Method method,
    @Opt(metavar = "R", help = "lora: rank r of each adapter (B A, B: [d_out, r], A: [r, d_in])", min = 1, max = 4096)
    int loraRank,
    @Opt(metavar = "ALPHA", help = "lora: scaling numerator; the update is (alpha / r) B A", min = 1e-9, max = 1e9)
    double loraAlpha,
    @Opt(metavar = "P", help = "lora: dropout on the adapters' input", min = 0, max = 0.99)
    double loraDropout,
    @Opt(metavar = "LIST", help = "lora: comma-separated projections to adapt, from q, k, v, o (attention) and mlp"
        + " (both MLP matrices)")
    String loraTargets,
    @Opt(metavar = "P", help = "prefix: trainable key and value vectors per layer", min = 1, max = 4096)
    int prefixLength,
    @Opt(metavar = "H", help = "prefix: reparameterise each layer's prefix through an MLP of hidden size H while"
        + " training (0: train the prefix directly); the MLP is dropped after training", min = 0, max = 1 << 16)
    int prefixProjection,
    @Opt(help = "the state the head reads: first (a [CLS] token prepended), last (the last real"
        + " token: [EOS] appended for a decoder), mean (over the real tokens), or auto (mean; see docs/DESIGN.md)")
    Pooling pooling,
    @Opt(metavar = "E", help = "passes over the training examples (each example once per epoch)", min = 0.01,
        max = 1e6)
    double epochs,
    @Opt(metavar = "LR", help = "peak learning rate (AdamW)", min = 0, max = 10,
        defaultText = "by method: full 2e-4, head 3e-3, lora 2e-3, prefix 1e-2")
    Double lr,
    @Opt(metavar = "B", help = "examples per minibatch on each worker", min = 1, max = 1 << 16)
    int batchSizePerWorker,
    @Opt(metavar = "H", help = "minibatches each worker trains between averagings", min = 1, max = 1 << 20)
    int averagingFrequency,
    @Opt(metavar = "W", help = "replicas trained in parallel, one Spark task each (0: default parallelism)", min = 0,
        max = 1 << 16)
    int workers,
    @Opt(metavar = "N", help = "tokens per example at most, [CLS] or [EOS] included; longer texts are truncated"
        + " (their end is dropped) and counted (0: the model's context length)", min = 0, max = 1 << 20)
    int maxLength,
    @Opt(metavar = "S", help = "seed of the head's and adapters' initialisation, the epochs' orders and dropout")
    long seed,
    @Opt(help = "pretrained (start from --checkpoint) or scratch (the same architecture, randomly"
        + " initialised: the baseline of every 'does pretraining help' comparison)")
    Init init,
    @Opt(metavar = "NAME|FILE", help = "with --init scratch: the architecture (a model config name or file)",
        defaultText = "the checkpoint's")
    String model,
    @Opt(metavar = "WD", help = "decoupled weight decay on the trainable weight matrices", min = 0, max = 10)
    double weightDecay,
    @Opt(metavar = "N", help = "linear warmup steps (-1: 6% of the steps)", min = -1, max = Integer.MAX_VALUE)
    int warmupSteps,
    @Opt(metavar = "C", help = "clip each layer's gradient L2 norm at C (0: off)", min = 0, max = 1e9)
    double gradClip,
    @Opt(metavar = "P", help = "dropout before the classification layer", min = 0, max = 0.99)
    double headDropout,
    @Opt(metavar = "R", help = "validate every R rounds (0: at the end of every epoch), and at the end", min = 0,
        max = Integer.MAX_VALUE)
    int evalEvery,
    @Opt(metavar = "K", help = "keep the newest K checkpoints (the best one is kept in best/ besides)", min = 1,
        max = 1000)
    int keepCheckpoints,
    @Opt(help = "malformed lines (bad JSON, a missing field, no tab) are an error naming the first ones; without it"
        + " they are skipped and counted")
    boolean strict,
    @Opt(help = "continue from the newest intact checkpoint in --output")
    boolean resume,
    @Opt(help = "replace an existing run directory (without --resume)")
    boolean overwrite) implements CommandLine.Checked {

    /** How the pretrained model is adapted. */
    public enum Method implements Keyed {
        FULL, HEAD, LORA, PREFIX;

        @JsonCreator
        public static Method parse(String s) {
            return Keyed.parse(Method.class, "method", s);
        }

        /** The peak learning rate when --lr is not given. */
        public double defaultLr() {
            return switch (this) {
                case FULL -> 2e-4;
                case HEAD -> 3e-3;
                case LORA -> 2e-3;
                case PREFIX -> 1e-2;
            };
        }
    }

    /** Which hidden state the classification head reads. */
    public enum Pooling implements Keyed {
        AUTO, FIRST, LAST, MEAN;

        @JsonCreator
        public static Pooling parse(String s) {
            return Keyed.parse(Pooling.class, "pooling", s);
        }
    }

    /** Where the weights start. */
    public enum Init implements Keyed {
        PRETRAINED, SCRATCH;

        @JsonCreator
        public static Init parse(String s) {
            return Keyed.parse(Init.class, "init", s);
        }
    }

    /** The projections LoRA may adapt. */
    public static final List<String> LORA_TARGETS = List.of("q", "k", "v", "o", "mlp");

    /** Every default of {@code finetune}. */
    public static final FinetuneConfig DEFAULTS = new FinetuneConfig(null, List.of(), List.of(), null,
        LabelledText.Format.JSONL, "text", "label", Method.FULL, 8, 16, 0, "q,v", 16, 0, Pooling.AUTO, 3, null, 16, 4,
        0, 0, 1234, Init.PRETRAINED, null, 0.01, -1, 1.0, 0.1, 0, 2, false, false, false);

    public FinetuneConfig {
        train = train == null ? List.of() : List.copyOf(train);
        val = val == null ? List.of() : List.copyOf(val);
    }

    /** The command line of {@code finetune}. */
    public static CommandLine<FinetuneConfig> commandLine() {
        return CommandLine.of(FinetuneConfig.class, DEFAULTS, "finetune",
            "Fine-tunes a pretrained model (clm or mlm checkpoint) as a text classifier with DL4J Spark parameter"
                + " averaging: a classification head on the pooled hidden state, trained with every parameter (full),"
                + " with the body frozen (head), with low-rank adapters (lora) or with trainable prefixes (prefix).");
    }

    /** The adapted projections, validated. */
    public List<String> loraTargetList() {
        List<String> t = java.util.Arrays.stream(loraTargets.split(",")).map(String::strip).filter(x -> !x.isEmpty())
            .distinct().toList();
        for (String x : t) {
            if (!LORA_TARGETS.contains(x)) {
                throw new IllegalArgumentException("--lora-targets: unknown target '" + x + "' (known: "
                    + String.join(", ", LORA_TARGETS) + ")");
            }
        }
        if (t.isEmpty()) {
            throw new IllegalArgumentException("--lora-targets: no target given (known: "
                + String.join(", ", LORA_TARGETS) + ")");
        }
        return t;
    }

    /** The peak learning rate: --lr, or the method's default. */
    public double peakLr() {
        return lr != null ? lr : method.defaultLr();
    }

    @Override
    public void check() {
        if (method == Method.LORA) {
            loraTargetList();
        }
        if (model != null && init != Init.SCRATCH) {
            throw new IllegalArgumentException("--model is for --init scratch (a pretrained model has its own)");
        }
    }
}
