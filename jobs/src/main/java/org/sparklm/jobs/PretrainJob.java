package org.sparklm.jobs;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparklm.UsageException;
import org.sparklm.checkpoint.Checkpoint;
import org.sparklm.checkpoint.CheckpointStore;
import org.sparklm.config.CommandLine;
import org.sparklm.data.ShardManifest;
import org.sparklm.data.ShardWindows;
import org.sparklm.io.AtomicOutput;
import org.sparklm.io.IOConsumer;
import org.sparklm.io.SerializableConf;
import org.sparklm.io.StoredTokenizer;
import org.sparklm.model.AttentionMode;
import org.sparklm.model.LmEvaluation;
import org.sparklm.model.TransformerConfig;
import org.sparklm.model.TransformerLm;
import org.sparklm.pretrain.PretrainConfig;
import org.sparklm.pretrain.PretrainRun;
import org.sparklm.pretrain.PretrainedModel;
import org.sparklm.pretrain.Seq2SeqRuns;
import org.sparklm.report.HtmlReport;
import org.sparklm.report.MetricsLog;
import org.sparklm.report.RoundMetrics;
import org.sparklm.tokenizer.SpecialTokens;
import org.sparklm.train.CombinedSecondMoment;
import org.sparklm.train.LmMinibatches;
import org.sparklm.train.Objective;
import org.sparklm.train.OptimizerConfig;
import org.sparklm.train.OuterOptimizer;
import org.sparklm.train.SecondMoment;

/**
 * {@code pretrain}: trains a Transformer language model on token shards with dl4j-spark parameter averaging.
 *
 * <pre>
 * spark-submit --class org.sparklm.jobs.Main jobs/target/sparklm-jobs-0.1.0-SNAPSHOT.jar pretrain \
 *   --data hdfs:///shards/corpus --output hdfs:///runs/gpt-small \
 *   --model small --objective clm --steps 20000 --workers 8 --averaging-frequency 8
 * </pre>
 *
 * <p>Options ({@link PretrainConfig}) -> the run resolved from the shards and the tokenizer ({@link PretrainRun}) ->
 * a new model or the newest intact checkpoint -> the rounds ({@link RoundLoop}: every worker makes its own
 * minibatches from the shards, {@link LmMinibatches}) -> the report. The learning rate is a function of the global
 * step (minibatches per worker), so it does not depend on the number of workers or the averaging frequency.
 */
public final class PretrainJob {
    private static final Logger LOG = LoggerFactory.getLogger(PretrainJob.class);

    private PretrainJob() {
    }

    static CommandLine<PretrainConfig> commandLine() {
        return PretrainConfig.commandLine();
    }

    /** Parses arguments; null when --help was printed. */
    static PretrainConfig parse(String[] args) {
        return commandLine().parseOrHelp(args, System.out);
    }

    public static void main(String[] args) throws Exception {
        PretrainConfig config = parse(args);
        if (config != null) {
            JobSupport.withContext("sparklm pretrain", sc -> run(sc, config));
        }
    }

    /** The outer optimizer's momentum buffer in a checkpoint (nesterov). */
    static final String OUTER_BLOB = "outer.bin";

    /** The combined second moment's estimate of the excess in a checkpoint (--second-moment combined). */
    static final String EXCESS_BLOB = "second-moment-excess.bin";

    /** What a run produced. */
    public record Result(ComputationGraph net, long steps, Double untrainedValLoss, List<RoundMetrics> metrics) {
    }

    /** Runs the job on an existing context; tests call this directly. */
    public static Result run(JavaSparkContext sc, PretrainConfig c) throws IOException {
        Configuration hconf = sc.hadoopConfiguration();
        Path out = new Path(c.output());
        FileSystem fs = out.getFileSystem(hconf);
        if (!c.resume()) {
            AtomicOutput.checkWritable(fs, fs.makeQualified(out), c.overwrite());
        }
        Inputs in = Inputs.read(hconf, c);
        int workers = c.workers() > 0 ? c.workers() : Math.max(1, sc.defaultParallelism());
        PretrainRun run = resolve(c, in, workers, sc.master());
        LmMinibatches data = new LmMinibatches(c.data(), in.manifest(), c.objective(), run.model().contextLength(),
            c.batchSizePerWorker(), workers, c.seed(), in.maskId(), in.specials(), new SerializableConf(hconf),
            Seq2SeqRuns.spec(run, in.tokenizer().model().specialTokens()));
        if (data.trainingPositions() == 0) {
            throw new UsageException("pretrain: no training window of " + data.window() + " tokens fits in "
                + c.data() + " (" + in.manifest().tokens("train") + " training tokens)");
        }

        // ---- a new run, or the newest intact checkpoint of an interrupted one
        CheckpointStore store = CheckpointStore.open(hconf, c.output(), c.keepCheckpoints());
        ComputationGraph net;
        MetricsLog log;
        RoundLoop.Start start = RoundLoop.Start.NEW;
        OuterOptimizer outer = run.outer();
        INDArray excess = null;
        if (c.resume()) {
            // sha256 of every blob: a same-size corruption falls back to the previous intact checkpoint
            Checkpoint cp = store.latestIntact(true).latest().orElseThrow(() -> new UsageException(
                "pretrain: nothing to resume: no intact checkpoint in " + store.root()));
            String diff = PretrainRun.fromJson(cp.readState().path("run")).differenceFrom(run);
            if (diff != null) {
                throw new UsageException("pretrain: --resume: the checkpoint's " + diff
                    + " (give the original options)");
            }
            net = PretrainedModel.network(cp, true);
            if (cp.manifest().blob(EXCESS_BLOB).isPresent()) {
                try (InputStream o = cp.open(EXCESS_BLOB)) {
                    excess = Nd4j.read(new DataInputStream(o));
                }
            }
            if (cp.manifest().blob(OUTER_BLOB).isPresent()) {
                try (InputStream o = cp.open(OUTER_BLOB)) {
                    outer.setVelocity(Nd4j.read(new DataInputStream(o)));
                }
            }
            start = new RoundLoop.Start(cp.step(), cp.readState().path("elapsed_seconds").asDouble());
            log = MetricsLog.resume(hconf, c.output(), cp.step());
            LOG.info("pretrain: resuming {} at step {} of {}", cp.dir(), cp.step(), run.steps());
        } else {
            if (c.overwrite() && fs.exists(out)) {
                LOG.info("pretrain: --overwrite: deleting the previous run {}", out);
                fs.delete(out, true);
            }
            net = TransformerLm.create(run.model(), run.optimizer(), c.seed());
            log = MetricsLog.create(hconf, c.output());
        }
        if (start.step() % run.averagingFrequency() != 0) {
            throw new UsageException("pretrain: checkpoint step " + start.step() + " is not a multiple of"
                + " --averaging-frequency " + run.averagingFrequency());
        }
        LOG.info("pretrain: {} ({} parameters), {} on {} training tokens; {} workers x {} windows x {} tokens,"
                + " {} rounds of {} steps ({} steps, {} tokens)", c.model(), net.numParams(), c.objective().key(),
            in.manifest().tokens("train"), workers, c.batchSizePerWorker(), run.model().tokensPerExample(),
            run.rounds(), run.averagingFrequency(), run.steps(), run.steps() * run.tokensPerStep());

        List<MultiDataSet> validation = data.evaluationBatches("val", c.evalWindows());
        Double untrained = null;
        if (start.step() == 0) {
            LmEvaluation e = LmEvaluation.of(net, validation, c.objective());
            if (e != null) {
                untrained = e.loss();
                LOG.info(String.format(Locale.ROOT, "pretrain: step 0 (untrained) val %.4f", e.loss()));
            }
        }
        RoundTrainingMaster tm = RoundTrainingMaster.create(workers, c.batchSizePerWorker(),
            run.averagingFrequency(), c.seed()).withOuter(outer).keepWorkerState(run.keepWorkerState())
            .combinedSecondMoment(run.secondMoment() == SecondMoment.COMBINED
                ? CombinedSecondMoment.of(net, workers, run.beta1(), run.beta2()) : null);
        tm.setExcess(excess);
        OptimizerConfig opt = run.optimizer();
        RoundLoop.Plan plan = new RoundLoop.Plan((int) run.rounds(), run.averagingFrequency(), run.tokensPerStep(),
            c.evalEvery(), c.checkpointEvery(), c.stopAtStep(), s -> opt.schedule().valueAt((int) s, 0));
        RoundLoop.Outcome done = RoundLoop.run(sc, new Job(run, data, validation, in.tokenizer().bytes(), outer,
            tm::excess), plan,
            start, new SparkComputationGraph(sc, net, tm), tm, store, log);

        ObjectNode reportConfig = run.toJson();
        if (untrained != null) {
            reportConfig.put("val_loss_untrained", untrained);
        }
        HtmlReport.write(hconf, c.output(), new HtmlReport.Input("sparklm pretrain: " + c.model() + ", "
            + c.objective().key(), reportConfig, done.net().numParams(), log.records(), Instant.now()));
        LOG.info("pretrain: done at step {}; checkpoint {}, metrics {}, report {}/{}", done.lastCheckpointStep(),
            store.dir(done.lastCheckpointStep()), log.file(), c.output(), HtmlReport.FILE);
        return new Result(done.net(), run.steps(), untrained, log.records());
    }

    /** The shards' manifest and the tokenizer they were encoded with (checked by sha256). */
    record Inputs(ShardManifest manifest, StoredTokenizer tokenizer, int maskId, int specials) {
        static Inputs read(Configuration hconf, PretrainConfig c) throws IOException {
            ShardManifest manifest = ShardWindows.manifest(hconf, new Path(c.data()));
            StoredTokenizer tok;
            if (c.tokenizer() == null) {
                try {
                    tok = manifest.tokenizer(hconf, new Path(c.data()));   // the shards' own, checked by sha256
                } catch (java.io.FileNotFoundException e) {
                    throw new UsageException("pretrain: " + e.getMessage() + " (--tokenizer DIR)");
                }
            } else {
                tok = StoredTokenizer.read(hconf, c.tokenizer());
            }
            if (!tok.sha256().equals(manifest.tokenizerSha256())) {
                throw new UsageException("pretrain: " + c.data() + " was encoded with another tokenizer (sha256 "
                    + manifest.tokenizerSha256() + ", " + (c.tokenizer() != null ? c.tokenizer() : c.data())
                    + " has " + tok.sha256() + ")");
            }
            SpecialTokens specials = tok.model().specialTokens();
            int maskId = specials.idOf(SpecialTokens.MASK);
            if (c.objective() == Objective.MLM && maskId < 0) {
                throw new UsageException("pretrain: masked LM needs a " + SpecialTokens.MASK
                    + " token in the tokenizer");
            }
            return new Inputs(manifest, tok, maskId, specials.size());
        }
    }

    /** The run the configuration describes on these inputs: the model as built, the steps, the warmup. */
    static PretrainRun resolve(PretrainConfig c, Inputs in, int workers, String master) {
        Map<String, String> set = new LinkedHashMap<>(c.modelSet());
        set.put("vocab_size", Integer.toString(in.manifest().vocabSize()));
        set.put("attention", AttentionMode.of(c.objective()).key());
        TransformerConfig model;
        try {
            model = TransformerConfig.load(c.model(), set);
        } catch (IllegalArgumentException e) {
            throw new UsageException("pretrain: --model: " + e.getMessage());
        }
        Seq2SeqRuns.checkArchitecture("pretrain", c.objective(), c.model(), model);
        int h = c.averagingFrequency();
        long tokensPerStep = (long) workers * c.batchSizePerWorker() * model.tokensPerExample();
        long steps = c.steps() > 0 ? c.steps()
            : (long) Math.ceil(c.epochs() * in.manifest().tokens("train") / tokensPerStep);
        long rounds = Math.max(1, (steps + h - 1) / h);
        steps = rounds * h;
        int warmup = (int) Math.min(c.warmupSteps() >= 0 ? c.warmupSteps() : OptimizerConfig.defaultWarmup(steps),
            steps);
        Double[] own = PretrainRun.objectiveOptions(c);
        return new PretrainRun(c.data(), in.tokenizer().sha256(), c.objective(), c.model(), model,
            model.parameterCount(), workers, c.batchSizePerWorker(), h, steps, c.lr(), c.minLr(), warmup,
            c.weightDecay(), c.gradClip(), c.beta1(), c.beta2(), c.adamEpsilon(), c.outerOptimizer(),
            c.outerOptimizer() == OuterOptimizer.Kind.AVERAGE ? 1.0 : c.outerLr(),
            c.outerOptimizer() == OuterOptimizer.Kind.AVERAGE ? 0.0 : c.outerMomentum(), c.seed(), master,
            own[0], own[1], own[2], own[3], c.secondMoment(), c.keepWorkerState());
    }

    /** Pretraining as a {@link RoundLoop.Job}. */
    private record Job(PretrainRun run, LmMinibatches minibatches, List<MultiDataSet> validation, byte[] tokenizer,
                       OuterOptimizer outer, java.util.function.Supplier<INDArray> excess)
        implements RoundLoop.Job {

        @Override
        public String command() {
            return "pretrain";
        }

        @Override
        public RoundLoop.RoundData data() {
            LmMinibatches d = minibatches;   // the closure carries only the data description
            return d::minibatches;
        }

        @Override
        public RoundLoop.Validation validate(ComputationGraph net) {
            LmEvaluation e = LmEvaluation.of(net, validation, run.objective());
            return e == null ? null : new RoundLoop.Validation(e.loss(),
                run.objective() == Objective.MLM ? e.accuracy() : null, null);
        }

        @Override
        public Map<String, IOConsumer<OutputStream>> checkpointBlobs(ComputationGraph net) {
            Map<String, IOConsumer<OutputStream>> blobs = new LinkedHashMap<>();
            blobs.put(PretrainedModel.MODEL_BLOB, o -> TransformerLm.write(net, o, true));
            blobs.put(PretrainedModel.TOKENIZER_BLOB, o -> o.write(tokenizer));
            INDArray v = outer.velocity();
            if (v != null) {
                INDArray copy = v.dup();
                blobs.put(OUTER_BLOB, o -> Nd4j.write(copy, new DataOutputStream(o)));   // the outer momentum
            }
            INDArray e = excess.get();
            if (e != null) {
                INDArray copy = e.dup();
                blobs.put(EXCESS_BLOB, o -> Nd4j.write(copy, new DataOutputStream(o)));
            }
            return blobs;
        }

        @Override
        public ObjectNode runJson() {
            return run.toJson();
        }
    }
}
