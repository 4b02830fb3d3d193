package org.sparklm.jobs;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparklm.cli.Options;
import org.sparklm.checkpoint.Checkpoint;
import org.sparklm.checkpoint.CheckpointStore;
import org.sparklm.checkpoint.IOConsumer;
import org.sparklm.cli.UsageException;
import org.sparklm.report.HtmlReport;
import org.sparklm.report.MetricsLog;
import org.sparklm.report.RoundMetrics;
import org.sparklm.data.ShardManifest;
import org.sparklm.data.ShardWindows;
import org.sparklm.io.AtomicOutput;
import org.sparklm.model.TransformerConfig;
import org.sparklm.model.TransformerLm;
import org.sparklm.tokenizer.SpecialTokens;
import org.sparklm.train.Objective;
import org.sparklm.train.OptimizerConfig;

/**
 * {@code pretrain}: trains a Transformer language model on token shards with dl4j-spark parameter averaging.
 *
 * <pre>
 * spark-submit --class org.sparklm.jobs.Main jobs/target/sparklm-jobs-0.1.0-SNAPSHOT.jar pretrain \
 *   --data hdfs:///shards/corpus --tokenizer hdfs:///tokenizers/bpe-32k --output hdfs:///runs/gpt-small \
 *   --model small --objective clm --steps 20000 --workers 8 --averaging-frequency 8
 * </pre>
 *
 * <p>Each round: the driver describes the round (its global steps); every worker (one Spark task per executor) makes
 * its own minibatches from the shards ({@link TrainingData}), receives the broadcast parameters and Adam state,
 * trains {@code averaging-frequency} minibatches, and the parameters and Adam state are averaged
 * ({@link RoundTrainingMaster}). The learning rate is a function of the global step (iterations per worker), so it
 * does not depend on the number of workers or the averaging frequency.
 */
public final class PretrainJob {
    private static final Logger LOG = LoggerFactory.getLogger(PretrainJob.class);

    /** The job's parameters. */
    public record Params(String data, String tokenizer, String output, String model, Map<String, String> modelSet,
                         Objective objective, long steps, double epochs, int batch, int averagingFrequency,
                         int workers, double lr, double minLr, int warmupSteps, double weightDecay, double gradClip,
                         int evalEvery, int evalWindows, int checkpointEvery, int keepCheckpoints, long seed,
                         boolean resume, boolean overwrite, long stopAtStep) {
    }

    private PretrainJob() {
    }

    public static Options options() {
        return new Options("pretrain",
            "Pretrains a Transformer language model on token shards with DL4J Spark parameter averaging: causal LM"
                + " (GPT, --objective clm) or masked LM (BERT, --objective mlm). Each worker trains its replica on its"
                + " own minibatches; parameters and Adam state are averaged every --averaging-frequency minibatches.")
            .required("data", "DIR", "a shard directory (the shard job's output)")
            .required("tokenizer", "DIR", "the tokenizer the shards were encoded with (bpe-train output)")
            .required("output", "DIR", "the run directory: checkpoints/ (the last one is the final model),"
                + " metrics.jsonl, report.html")
            .value("model", "NAME|FILE", "model config: tiny, small, or a config file (key = value lines)", "tiny")
            .value("model-set", "KEY=VALUE,...", "override model config keys, e.g. layers=4,dropout=0.1", "")
            .value("objective", "clm|mlm", "causal LM (next token) or masked LM (15% of tokens, 80/10/10)", "clm")
            .value("steps", "N", "global steps (minibatches per worker); rounded up to whole rounds", "0")
            .value("epochs", "E", "train for E passes over the training tokens instead of --steps", "0")
            .value("batch-size-per-worker", "B", "windows per minibatch on each worker", "16")
            .value("averaging-frequency", "H", "minibatches each worker trains between averagings", "8")
            .value("workers", "W", "replicas trained in parallel, one Spark task each (0: default parallelism)",
                "0")
            .value("lr", "LR", "peak learning rate (AdamW)", "1e-3")
            .value("min-lr", "LR", "learning rate at the end of the cosine decay", "1e-4")
            .value("warmup-steps", "N", "linear warmup steps (-1: min(100, steps / 10))", "-1")
            .value("weight-decay", "WD", "decoupled weight decay on the weight matrices", "0.1")
            .value("grad-clip", "C", "clip each layer's gradient L2 norm at C (0: off)", "1.0")
            .value("eval-every", "R", "evaluate on the validation shards every R rounds (and at the end)", "10")
            .value("eval-windows", "N", "validation windows per evaluation", "256")
            .value("checkpoint-every", "R", "write a checkpoint every R rounds (and at the end)", "10")
            .value("keep-checkpoints", "K", "keep the newest K checkpoints", "3")
            .value("seed", "S", "seed of the initialisation, the data order and the masks", "1234")
            .value("stop-at-step", "S", "stop after the round that reaches global step S, with a checkpoint there"
                + " (a time-boxed slice of a longer run; continue it with --resume); 0: run to the end", "0")
            .flag("resume", "continue from the newest intact checkpoint in --output")
            .flag("overwrite", "replace an existing run directory (without --resume)");
    }

    /** Parses arguments; null when --help was printed. */
    static Params parse(String[] args) {
        Options.Parsed p = options().parseOrHelp(args, System.out);
        if (p == null) {
            return null;
        }
        Objective objective;
        try {
            objective = Objective.parse(p.string("objective"));
        } catch (IllegalArgumentException e) {
            throw new UsageException("pretrain: --objective: " + e.getMessage());
        }
        Map<String, String> set = new LinkedHashMap<>();
        for (String kv : p.string("model-set").split(",")) {
            if (kv.isBlank()) {
                continue;
            }
            int eq = kv.indexOf('=');
            if (eq <= 0) {
                throw new UsageException("pretrain: --model-set: expected KEY=VALUE, got '" + kv + "'");
            }
            set.put(kv.substring(0, eq).strip(), kv.substring(eq + 1).strip());
        }
        long steps = p.longValue("steps", 0, Integer.MAX_VALUE);
        double epochs = p.doubleValue("epochs", 0, 1e9);
        if (steps == 0 && epochs == 0) {
            throw new UsageException("pretrain: give --steps N or --epochs E");
        }
        if (steps > 0 && epochs > 0) {
            throw new UsageException("pretrain: give --steps or --epochs, not both");
        }
        return new Params(p.string("data"), p.string("tokenizer"), p.string("output"), p.string("model"), set,
            objective, steps, epochs, p.intValue("batch-size-per-worker", 1, 1 << 16),
            p.intValue("averaging-frequency", 1, 1 << 20), p.intValue("workers", 0, 1 << 16),
            p.doubleValue("lr", 0, 10), p.doubleValue("min-lr", 0, 10), p.intValue("warmup-steps", -1,
                Integer.MAX_VALUE), p.doubleValue("weight-decay", 0, 10), p.doubleValue("grad-clip", 0, 1e9),
            p.intValue("eval-every", 1, Integer.MAX_VALUE), p.intValue("eval-windows", 1, 1 << 24),
            p.intValue("checkpoint-every", 1, Integer.MAX_VALUE), p.intValue("keep-checkpoints", 1, 1000),
            p.longValue("seed", Long.MIN_VALUE, Long.MAX_VALUE), p.flag("resume"), p.flag("overwrite"),
            p.longValue("stop-at-step", 0, Long.MAX_VALUE));
    }

    public static void main(String[] args) throws Exception {
        Params params = parse(args);
        if (params == null) {
            return;
        }
        JobSupport.withContext("sparklm pretrain", sc -> {
            run(sc, params);
        });
    }

    /** What a run produced. */
    public record Result(ComputationGraph net, long steps, Double untrainedValLoss, List<RoundMetrics> metrics) {
    }

    /** Runs the job on an existing context; tests call this directly. */
    public static Result run(JavaSparkContext sc, Params p) throws IOException {
        Configuration hconf = sc.hadoopConfiguration();
        Path out = new Path(p.output());
        FileSystem fs = out.getFileSystem(hconf);
        if (!p.resume()) {
            AtomicOutput.checkWritable(fs, fs.makeQualified(out), p.overwrite());
        }
        Path dataDir = new Path(p.data());
        ShardManifest manifest = ShardWindows.manifest(hconf, dataDir);
        org.sparklm.io.StoredTokenizer tok = org.sparklm.io.StoredTokenizer.read(hconf, p.tokenizer());
        if (!tok.sha256().equals(manifest.tokenizerSha256())) {
            throw new UsageException("pretrain: " + p.data() + " was encoded with another tokenizer (sha256 "
                + manifest.tokenizerSha256() + ", " + p.tokenizer() + " has " + tok.sha256() + ")");
        }
        Map<String, String> set = new LinkedHashMap<>(p.modelSet());
        set.put("vocab_size", Integer.toString(manifest.vocabSize()));
        set.put("attention", p.objective().attention().name().toLowerCase(Locale.ROOT));
        TransformerConfig model;
        try {
            model = TransformerConfig.load(p.model(), set);
        } catch (IllegalArgumentException e) {
            throw new UsageException("pretrain: --model: " + e.getMessage());
        }
        int workers = p.workers() > 0 ? p.workers() : Math.max(1, sc.defaultParallelism());
        SpecialTokens specials = tok.model().specialTokens();
        int maskId = specials.idOf(SpecialTokens.MASK);
        if (p.objective() == Objective.MLM && maskId < 0) {
            throw new UsageException("pretrain: masked LM needs a " + SpecialTokens.MASK + " token in the tokenizer");
        }
        TrainingData data = new TrainingData(dataDir.toString(), manifest, p.objective(), model.contextLength(),
            p.batch(), workers, p.seed(), maskId, specials.size(), new HadoopConf(hconf));
        long positions;
        try (ShardWindows sw = ShardWindows.open(hconf, dataDir, manifest, "train", data.window, false)) {
            positions = sw.positions();
        }
        if (positions == 0) {
            throw new UsageException("pretrain: no training window of " + data.window + " tokens fits in "
                + p.data() + " (" + manifest.tokens("train") + " training tokens)");
        }
        int h = p.averagingFrequency();
        long steps = p.steps() > 0 ? p.steps()
            : (long) Math.ceil(p.epochs() * manifest.tokens("train") / data.tokensPerStep());
        int rounds = (int) Math.max(1, (steps + h - 1) / h);
        steps = (long) rounds * h;
        int warmup = p.warmupSteps() >= 0 ? p.warmupSteps() : (int) Math.min(100, steps / 10);
        OptimizerConfig opt = new OptimizerConfig(p.lr(), p.minLr(), (int) Math.min(warmup, steps), (int) steps,
            p.weightDecay(), p.gradClip(), 0.9, 0.95, 1e-8);
        ObjectNode run = runConfig(p, model, workers, steps, opt, tok.sha256(), sc);

        // ---- a new run, or the newest intact checkpoint of an interrupted one
        CheckpointStore store = CheckpointStore.open(hconf, p.output(), p.keepCheckpoints());
        ComputationGraph net;
        MetricsLog log;
        long startStep = 0;
        double elapsedBefore = 0;
        if (p.resume()) {
            Checkpoint cp = store.latestIntact(false).latest().orElseThrow(() -> new UsageException(
                "pretrain: nothing to resume: no intact checkpoint in " + store.root()));
            ObjectNode state = cp.readState();
            checkSameRun(state.path("run"), run);
            try (InputStream in = cp.open(MODEL_BLOB)) {
                net = TransformerLm.read(in, true);
            }
            startStep = cp.step();
            elapsedBefore = state.path("elapsed_seconds").asDouble();
            log = MetricsLog.resume(hconf, p.output(), startStep);
            LOG.info("pretrain: resuming {} at step {} of {}", cp.dir(), startStep, steps);
        } else {
            if (p.overwrite() && fs.exists(out)) {
                LOG.info("pretrain: --overwrite: deleting the previous run {}", out);
                fs.delete(out, true);
            }
            net = TransformerLm.create(model, opt, p.seed());
            log = MetricsLog.create(hconf, p.output());
        }
        if (startStep % h != 0) {
            throw new UsageException("pretrain: checkpoint step " + startStep + " is not a multiple of"
                + " --averaging-frequency " + h);
        }
        LOG.info("pretrain: {} ({} parameters), {} on {} training tokens; {} workers x {} windows x {} tokens,"
                + " {} rounds of {} steps ({} steps, {} tokens)", p.model(), net.numParams(), p.objective().key(),
            manifest.tokens("train"), workers, p.batch(), model.contextLength(), rounds, h, steps,
            steps * data.tokensPerStep());

        RoundTrainingMaster tm = RoundTrainingMaster.create(workers, p.batch(), h, p.seed());
        SparkComputationGraph spark = new SparkComputationGraph(sc, net, tm);
        List<MultiDataSet> validation = data.validation(p.evalWindows());
        Evaluation initial = null;
        if (startStep == 0) {
            initial = evaluate(net, validation, p.objective());
            if (initial != null) {
                LOG.info(String.format(Locale.ROOT, "pretrain: step 0 (untrained) val %.4f", initial.loss()));
            }
        }
        long t0 = System.nanoTime();
        long lastCheckpoint = startStep;
        for (int r = (int) (startStep / h); r < rounds; r++) {
            long from = (long) r * h;
            sc.setJobDescription(String.format(Locale.ROOT, "pretrain: round %d/%d (steps %d-%d)", r + 1, rounds,
                from + 1, from + h));
            long tr = System.nanoTime();
            trainRound(sc, spark, tm, data, from, h, r + 1, rounds);
            double secs = (System.nanoTime() - tr) / 1e9;
            long step = from + h;
            Evaluation e = null;
            if ((r + 1) % p.evalEvery() == 0 || r == rounds - 1) {
                sc.setJobDescription(null);
                e = evaluate(spark.getNetwork(), validation, p.objective());
            }
            double elapsed = elapsedBefore + (System.nanoTime() - t0) / 1e9;
            double perRound = (System.nanoTime() - t0) / 1e9 / (r + 1 - startStep / h);
            RoundMetrics m = new RoundMetrics(r + 1, step, steps, step * data.tokensPerStep(), spark.getScore(),
                e == null ? null : e.loss(), e == null || p.objective() != Objective.MLM ? null : e.accuracy(),
                opt.schedule().valueAt((int) step - 1, 0), h * data.tokensPerStep() / secs, secs, elapsed,
                perRound * (rounds - r - 1), null);
            log.append(m);
            LOG.info("pretrain: " + MetricsLog.consoleLine(m));
            boolean stop = p.stopAtStep() > 0 && step >= p.stopAtStep() && r < rounds - 1;
            if ((r + 1) % p.checkpointEvery() == 0 || r == rounds - 1 || stop) {
                checkpoint(store, spark.getNetwork(), step, r + 1, m.tokens(), elapsed, run, tok.bytes());
                lastCheckpoint = step;
            }
            if (stop) {
                LOG.info("pretrain: stopping at step {} of {} (--stop-at-step); continue with --resume", step, steps);
                break;
            }
        }
        sc.setJobDescription(null);
        if (initial != null) {
            run.put("val_loss_untrained", initial.loss());
        }
        HtmlReport.write(hconf, p.output(), new HtmlReport.Input("sparklm pretrain: " + p.model() + ", "
            + p.objective().key(), run, spark.getNetwork().numParams(), log.records(), Instant.now()));
        LOG.info("pretrain: done at step {}; checkpoint {}, metrics {}, report {}/{}", steps,
            store.dir(lastCheckpoint), log.file(), p.output(), HtmlReport.FILE);
        return new Result(spark.getNetwork(), steps, initial == null ? null : initial.loss(), log.records());
    }

    static final String MODEL_BLOB = "model.zip";
    static final String TOKENIZER_BLOB = "tokenizer.json";

    /** Parameters, Adam state and counters (model.zip), the tokenizer, and the training state; atomic. */
    private static void checkpoint(CheckpointStore store, ComputationGraph net, long step, int round, long tokens,
                                   double elapsed, ObjectNode run, byte[] tokenizer) throws IOException {
        ObjectNode state = JsonNodeFactory.instance.objectNode();
        state.put("step", step);
        state.put("round", round);
        state.put("tokens", tokens);
        state.put("elapsed_seconds", elapsed);
        // the data order and the masks are functions of (seed, global step): the step is the whole data position
        ObjectNode position = state.putObject("data_position");
        position.put("next_step", step);
        position.put("seed", run.path("seed").asLong());
        state.set("run", run);
        Map<String, IOConsumer<OutputStream>> blobs = new LinkedHashMap<>();
        blobs.put(MODEL_BLOB, o -> TransformerLm.write(net, o, true));
        blobs.put(TOKENIZER_BLOB, o -> o.write(tokenizer));
        store.write(step, state, blobs);
    }

    /** What identifies a training trajectory; a resumed run must agree on all of it. */
    private static ObjectNode runConfig(Params p, TransformerConfig model, int workers, long steps,
                                        OptimizerConfig opt, String tokSha, JavaSparkContext sc) {
        ObjectNode run = JsonNodeFactory.instance.objectNode();
        run.put("data", p.data());
        run.put("tokenizer_sha256", tokSha);
        run.put("objective", p.objective().key());
        run.put("model_name", p.model());
        try {
            run.set("model", new com.fasterxml.jackson.databind.ObjectMapper().readTree(model.toJson()));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        run.put("parameters", model.parameterCount());
        run.put("workers", workers);
        run.put("batch_size_per_worker", p.batch());
        run.put("averaging_frequency", p.averagingFrequency());
        run.put("steps", steps);
        run.put("lr", opt.lr());
        run.put("min_lr", opt.minLr());
        run.put("warmup_steps", opt.warmupSteps());
        run.put("weight_decay", opt.weightDecay());
        run.put("grad_clip", opt.gradClip());
        run.put("seed", p.seed());
        run.put("spark_master", sc.master());
        return run;
    }

    private static void checkSameRun(com.fasterxml.jackson.databind.JsonNode saved, ObjectNode now) {
        for (String k : List.of("tokenizer_sha256", "objective", "model", "workers", "batch_size_per_worker",
            "averaging_frequency", "steps", "lr", "min_lr", "warmup_steps", "weight_decay", "grad_clip", "seed")) {
            if (!saved.path(k).toString().equals(now.path(k).toString())) { // 12 (int) and 12 (long) agree
                throw new UsageException("pretrain: --resume: the checkpoint's " + k + " is " + saved.path(k)
                    + " but this run asks for " + now.path(k) + " (give the original options)");
            }
        }
    }

    /** One averaging round: worker w trains its minibatches for steps [from, from + h). */
    static void trainRound(JavaSparkContext sc, SparkComputationGraph spark, RoundTrainingMaster tm,
                           TrainingData data, long from, int h, int round, int rounds) {
        JavaRDD<MultiDataSet> batches = sc.parallelize(IntStream.range(0, data.workers).boxed().toList(),
                data.workers)
            .mapPartitionsWithIndex((w, it) -> data.minibatches(w, from, h).iterator(), true);
        tm.setRound(round, rounds);
        spark.fitMultiDataSet(batches);
    }

    /** Validation loss (mean cross-entropy per counted token) and, for MLM, accuracy at the masked positions. */
    record Evaluation(double loss, double accuracy, long positions) {
    }

    static Evaluation evaluate(ComputationGraph net, List<MultiDataSet> batches, Objective objective) {
        if (batches.isEmpty()) {
            return null;
        }
        double lossSum = 0;
        long counted = 0;
        long correct = 0;
        for (MultiDataSet b : batches) {
            INDArray labelMask = b.getLabelsMaskArray(0);
            long n = labelMask == null ? b.getLabels(0).length() : Math.round(labelMask.sumNumber().doubleValue());
            if (n == 0) {
                continue;
            }
            net.score(b, false);
            lossSum += TransformerLm.lastLoss(net) * n;
            counted += n;
            if (objective == Objective.MLM) {
                INDArray probs = net.output(false, b.getFeatures(), b.getFeaturesMaskArrays())[0]; // [b, t, v]
                INDArray predicted = probs.argMax(2).castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT); // [b, t]
                INDArray labels = b.getLabels(0).reshape(predicted.shape());
                INDArray hit = predicted.eq(labels).castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT);
                correct += Math.round(hit.mul(labelMask).sumNumber().doubleValue());
            }
        }
        return counted == 0 ? null : new Evaluation(lossSum / counted, (double) correct / counted, counted);
    }
}
