package org.sparklm.jobs;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparklm.UsageException;
import org.sparklm.checkpoint.Checkpoint;
import org.sparklm.checkpoint.CheckpointManifest;
import org.sparklm.checkpoint.CheckpointStore;
import org.sparklm.config.CommandLine;
import org.sparklm.data.DocFormat;
import org.sparklm.finetune.ClassBatches;
import org.sparklm.finetune.ClassifierEvaluation;
import org.sparklm.finetune.ClassifierModel;
import org.sparklm.finetune.EpochPlan;
import org.sparklm.finetune.ExampleEncoder;
import org.sparklm.finetune.ExampleSet;
import org.sparklm.finetune.FinetuneConfig;
import org.sparklm.finetune.FinetuneRun;
import org.sparklm.finetune.FinetunedModel;
import org.sparklm.finetune.LabelSet;
import org.sparklm.finetune.LabelledText;
import org.sparklm.io.AtomicCommit;
import org.sparklm.io.AtomicOutput;
import org.sparklm.io.HadoopFiles;
import org.sparklm.io.IOConsumer;
import org.sparklm.io.Json;
import org.sparklm.io.Sha256;
import org.sparklm.model.TrainableParams;
import org.sparklm.model.TransformerConfig;
import org.sparklm.pretrain.PretrainRun;
import org.sparklm.pretrain.PretrainedModel;
import org.sparklm.report.FinetuneReport;
import org.sparklm.report.MetricsLog;
import org.sparklm.report.RoundMetrics;
import org.sparklm.tokenizer.SpecialTokens;
import org.sparklm.tokenizer.bpe.BpeTokenizer;
import org.sparklm.tokenizer.bpe.TokenizerFiles;
import org.sparklm.train.OptimizerConfig;

/**
 * {@code finetune}: a text classifier on a pretrained model, trained with dl4j-spark parameter averaging.
 *
 * <pre>
 * spark-submit --class org.sparklm.jobs.Main jobs/target/sparklm-jobs-0.1.0-SNAPSHOT.jar finetune \
 *   --checkpoint hdfs:///runs/gpt-small --train hdfs:///labels/train.jsonl --val hdfs:///labels/val.jsonl \
 *   --output hdfs:///runs/topics-lora --method lora --epochs 3 --workers 8
 * </pre>
 *
 * <p>Options ({@link FinetuneConfig}) -> the pretrained model -> the labelled text read and encoded on the executors
 * (collected to the driver: labelled sets are small next to a corpus, and broadcast once) -> the run resolved
 * ({@link FinetuneRun}) -> the classifier ({@link ClassifierModel}) -> the rounds ({@link RoundLoop}; epochs are real
 * passes, {@link EpochPlan}; with frozen pretrained weights only the trainable parameters travel) -> the best
 * classifier by validation accuracy, the report and result.json.
 */
public final class FinetuneJob {
    private static final Logger LOG = LoggerFactory.getLogger(FinetuneJob.class);
    static final String RESULT = "result.json";

    private FinetuneJob() {
    }

    static CommandLine<FinetuneConfig> commandLine() {
        return FinetuneConfig.commandLine();
    }

    public static void main(String[] args) throws Exception {
        FinetuneConfig config = commandLine().parseOrHelp(args, System.out);
        if (config != null) {
            JobSupport.withContext("sparklm finetune", sc -> run(sc, config));
        }
    }

    /** What a run produced. */
    public record Result(ComputationGraph net, FinetuneRun run, List<RoundMetrics> metrics, ObjectNode result) {
    }

    public static Result run(JavaSparkContext sc, FinetuneConfig c) throws IOException {
        long t0 = System.nanoTime();
        Configuration hconf = sc.hadoopConfiguration();
        Path out = new Path(c.output());
        FileSystem fs = HadoopFiles.forWriting(hconf, out);
        if (!c.resume()) {
            AtomicOutput.checkWritable(fs, fs.makeQualified(out), c.overwrite());
        }
        Base base = Base.read(hconf, c);
        Data data = Data.read(sc, c, base);
        FinetuneRun run = resolve(c, base.run(), base.checkpoint(), base.model(), data.labels().labels(),
            data.trainSet().size(), data.plan().stepsPerEpoch(), sc);
        Start st = start(hconf, fs, out, c, run, base);
        TrainableParams trainable = TrainableParams.of(st.net());
        LOG.info("finetune: {} on {} ({} parameters, {} trainable, {}), {} classes; {} training examples ({}"
                + " truncated), {} validation; {} workers x {} examples, {} steps per epoch, {} rounds of {} steps",
            run.method().key(), c.checkpoint(), st.net().numParams(), trainable.count(), run.init().key(),
            data.labels().size(), data.trainSet().size(), data.train().stats().truncated, data.valSet().size(),
            run.workers(), c.batchSizePerWorker(), data.plan().stepsPerEpoch(), run.rounds(),
            run.averagingFrequency());

        // ---- the rounds
        int padId = Math.max(0, base.tokenizer().specialTokens().idOf(SpecialTokens.PAD));
        Broadcast<ExampleSet> examples = sc.broadcast(data.trainSet());
        RoundTrainingMaster tm = RoundTrainingMaster.create(run.workers(), c.batchSizePerWorker(),
            run.averagingFrequency(), run.seed()).onlyTrainable(st.net());
        OptimizerConfig opt = run.optimizer();
        int evalEvery = c.evalEvery() > 0 ? c.evalEvery()
            : (int) Math.max(1, Math.round((double) data.plan().stepsPerEpoch() / run.averagingFrequency()));
        RoundLoop.Plan loop = new RoundLoop.Plan((int) run.rounds(), run.averagingFrequency(),
            (long) run.workers() * c.batchSizePerWorker(), evalEvery, Integer.MAX_VALUE, 0,
            s -> opt.schedule().valueAt((int) s, 0));
        Job job = new Job(run, examples, data.plan(), run.steps(), padId, data.valSet(), data.labels(),
            base.tokenizerBytes(), CheckpointStore.open(hconf, new Path(out, FinetunedModel.BEST_DIR).toString(), 1),
            bestSoFar(hconf, out, st.start()));
        RoundLoop.Outcome done = RoundLoop.run(sc, job, loop, st.start(), new SparkComputationGraph(sc, st.net(), tm),
            tm, st.store(), st.log());
        examples.destroy(false);

        // ---- labels.json, result.json, report.html
        ClassifierEvaluation last = ClassifierEvaluation.of(done.net(), data.valSet(), 64, padId,
            data.labels().size());
        ObjectNode result = result(run, st.net(), trainable, data.train(), data.val(), last, job.best,
            st.log().records(), (System.nanoTime() - t0) / 1e9);
        AtomicCommit.writeFile(fs, new Path(out, LabelSet.FILE),
            o -> Json.pretty().writeValue(o, data.labels().toJson()), true);
        AtomicCommit.writeFile(fs, new Path(out, RESULT), o -> Json.pretty().writeValue(o, result), true);
        FinetuneReport.write(hconf, c.output(), new FinetuneReport.Input("sparklm finetune: " + run.method().key()
            + " on " + c.checkpoint(), run.toJson(), result, data.labels().labels(), last.metrics().confusion(),
            st.log().records(), Instant.now()));
        LOG.info(String.format(Locale.ROOT, "finetune: done: validation accuracy %.4f (best %.4f at step %d),"
                + " macro-F1 %.4f, majority class %.4f; %s/{%s,%s,report.html}", last.accuracy(),
            job.best == null ? last.accuracy() : job.best.accuracy, job.best == null ? done.lastCheckpointStep()
                : job.best.step, last.metrics().macroF1(), result.path("majority_class_accuracy").asDouble(),
            c.output(), RESULT, FinetunedModel.BEST_DIR));
        return new Result(done.net(), run, st.log().records(), result);
    }

    /** The pretrained model: its checkpoint, run, tokenizer, and the classifier's architecture. */
    record Base(Checkpoint checkpoint, PretrainRun run, byte[] tokenizerBytes, BpeTokenizer tokenizer,
                TransformerConfig model) {
        static Base read(Configuration hconf, FinetuneConfig c) throws IOException {
            Checkpoint cp = PretrainedModel.locate(hconf, c.checkpoint(), "finetune");
            PretrainRun run = pretrainRun(cp);
            byte[] bytes;
            try (InputStream in = cp.open(PretrainedModel.TOKENIZER_BLOB)) {
                bytes = in.readAllBytes();
            }
            BpeTokenizer tok = new BpeTokenizer(TokenizerFiles.readTokenizerJson(new ByteArrayInputStream(bytes)));
            return new Base(cp, run, bytes, tok, architecture(c, run));
        }
    }

    /** The labelled text, encoded on the executors: the examples, the classes, the epochs' plan. */
    record Data(Encoded train, Encoded val, LabelSet labels, ExampleSet trainSet, ExampleSet valSet, EpochPlan plan) {
        static Data read(JavaSparkContext sc, FinetuneConfig c, Base base) throws IOException {
            SpecialTokens sp = base.tokenizer().specialTokens();
            FinetuneConfig.Pooling pooling = ClassifierModel.resolve(c.pooling());
            int prefixId = FinetunedModel.prefixId(pooling, sp);
            if (pooling == FinetuneConfig.Pooling.FIRST && prefixId < 0) {
                throw new UsageException("finetune: --pooling first needs a " + SpecialTokens.CLS + " token in the"
                    + " tokenizer");
            }
            ExampleEncoder encoder = new ExampleEncoder(new LabelledText(c.format(), c.textField(), c.labelField()),
                prefixId, FinetunedModel.suffixId(base.run().objective(), sp), maxLength(c, base.model()));
            byte[] tok = base.tokenizerBytes();
            Encoded train = LabelledInput.encode(sc, "finetune", "--train", c.train(), encoder, tok, c.strict());
            Encoded val = LabelledInput.encode(sc, "finetune", "--val", c.val(), encoder, tok, c.strict());
            LabelSet labels;
            try {
                labels = new LabelSet(train.labels());
            } catch (IllegalArgumentException e) {
                throw new UsageException("finetune: --train: " + e.getMessage());
            }
            TreeSet<String> unseen = new TreeSet<>(val.labels());
            unseen.removeAll(labels.labels());
            if (!unseen.isEmpty()) {
                throw new UsageException("finetune: the validation data has label(s) the training data never has: "
                    + String.join(", ", unseen.stream().limit(5).toList()) + " (training labels: "
                    + String.join(", ", labels.labels().stream().limit(20).toList()) + ")");
            }
            ExampleSet trainSet = train.set(labels);
            int workers = c.workers() > 0 ? c.workers() : Math.max(1, sc.defaultParallelism());
            try {
                return new Data(train, val, labels, trainSet, val.set(labels), new EpochPlan(trainSet.size(),
                    workers, c.batchSizePerWorker(), c.seed()));
            } catch (IllegalArgumentException e) {
                throw new UsageException("finetune: " + e.getMessage());
            }
        }
    }

    /** Where the rounds start: a new classifier, or the newest intact checkpoint of an interrupted run. */
    record Start(ComputationGraph net, MetricsLog log, RoundLoop.Start start, CheckpointStore store) {
    }

    private static Start start(Configuration hconf, FileSystem fs, Path out, FinetuneConfig c, FinetuneRun run,
                               Base base) throws IOException {
        CheckpointStore store = CheckpointStore.open(hconf, c.output(), c.keepCheckpoints());
        ComputationGraph baseNet = c.init() == FinetuneConfig.Init.PRETRAINED
            ? PretrainedModel.network(base.checkpoint(), false) : null;
        if (c.resume()) {
            Checkpoint cp = store.latestIntact(true).latest().orElseThrow(() -> new UsageException(
                "finetune: nothing to resume: no intact checkpoint in " + store.root()));
            String diff = FinetunedModel.run(cp, "finetune").differenceFrom(run);
            if (diff != null) {
                throw new UsageException("finetune: --resume: the checkpoint's " + diff
                    + " (give the original options)");
            }
            ComputationGraph net = FinetunedModel.restore(cp, run, baseNet, true);
            net.getConfiguration().setIterationCount((int) cp.step());
            return new Start(net, MetricsLog.resume(hconf, c.output(), cp.step()), new RoundLoop.Start(cp.step(),
                cp.readState().path("elapsed_seconds").asDouble()), store);
        }
        if (c.overwrite() && fs.exists(out)) {
            LOG.info("finetune: --overwrite: deleting the previous run {}", out);
            fs.delete(out, true);
        }
        Nd4j.getRandom().setSeed(run.seed());
        return new Start(ClassifierModel.create(run, baseNet, DataType.FLOAT), MetricsLog.create(hconf, c.output()),
            RoundLoop.Start.NEW, store);
    }

    private static PretrainRun pretrainRun(Checkpoint cp) throws IOException {
        ObjectNode state = cp.readState();
        if (state.path("run").has("method")) {
            throw new UsageException("finetune: " + cp.dir() + " is a fine-tuned classifier, not a pretrained model");
        }
        try {
            return PretrainRun.fromJson(state.path("run"));
        } catch (IllegalArgumentException e) {
            throw new UsageException("finetune: " + cp.dir() + " is not a pretrained model: " + e.getMessage());
        }
    }

    /** The pretrained architecture, or --model's with --init scratch (vocabulary from the tokenizer). */
    private static TransformerConfig architecture(FinetuneConfig c, PretrainRun base) {
        if (c.model() == null) {
            return base.model();
        }
        try {
            return TransformerConfig.load(c.model(), Map.of("vocab_size", Integer.toString(base.model().vocabSize()),
                "attention", base.model().attention().key()));
        } catch (IllegalArgumentException e) {
            throw new UsageException("finetune: --model: " + e.getMessage());
        }
    }

    /** Tokens per example at most: --max-length, or the model's context. */
    private static int maxLength(FinetuneConfig c, TransformerConfig model) {
        int context = model.contextLength();
        if (c.maxLength() > context) {
            throw new UsageException("finetune: --max-length " + c.maxLength() + " is longer than the model's context"
                + " (" + context + " tokens)");
        }
        if (c.maxLength() == 1) {
            throw new UsageException("finetune: --max-length 1 leaves no room for text");
        }
        return c.maxLength() > 0 ? c.maxLength() : context;
    }

    /** The run the configuration describes on these inputs. */
    static FinetuneRun resolve(FinetuneConfig c, PretrainRun base, Checkpoint baseCp, TransformerConfig model,
                               List<String> labels, int examples, int stepsPerEpoch, JavaSparkContext sc) {
        int maxLength = maxLength(c, model);
        int h = c.averagingFrequency();
        long steps = (long) Math.ceil(c.epochs() * stepsPerEpoch);
        steps = Math.max(1, (steps + h - 1) / h) * h;
        int warmup = (int) Math.min(c.warmupSteps() >= 0 ? c.warmupSteps() : Math.round(0.06 * steps), steps);
        double lr = c.peakLr();
        String baseSha = c.method() == FinetuneConfig.Method.FULL || c.init() == FinetuneConfig.Init.SCRATCH ? null
            : baseCp.manifest().blob(PretrainedModel.MODEL_BLOB).map(CheckpointManifest.Blob::sha256).orElse(null);
        int workers = c.workers() > 0 ? c.workers() : Math.max(1, sc.defaultParallelism());
        return new FinetuneRun(c.checkpoint(), baseSha, base.tokenizerSha256(), base.objective(), model, c.method(),
            c.loraRank(), c.loraAlpha(), c.loraDropout(), c.method() == FinetuneConfig.Method.LORA
                ? c.loraTargetList() : List.of(), c.prefixLength(), c.prefixProjection(),
            ClassifierModel.resolve(c.pooling()), labels, maxLength, c.init(), workers, c.batchSizePerWorker(), h,
            c.epochs(), examples, stepsPerEpoch, steps, lr, lr / 10, warmup, c.weightDecay(), c.gradClip(),
            c.headDropout(), c.seed(), sc.master());
    }

    /** The best validation so far of a resumed run (from best/), or null. */
    private static Best bestSoFar(Configuration conf, Path out, RoundLoop.Start start) throws IOException {
        if (start.step() == 0) {
            return null;
        }
        var cp = CheckpointStore.open(conf, new Path(out, FinetunedModel.BEST_DIR).toString(), 1).latestIntact(false)
            .latest();
        if (cp.isEmpty()) {
            return null;
        }
        ObjectNode s = cp.get().readState();
        return new Best(cp.get().step(), s.path("val_accuracy").asDouble(), s.path("val_macro_f1").asDouble(),
            s.path("val_loss").asDouble());
    }

    /** The best validation: by accuracy, then by lower loss. */
    record Best(long step, double accuracy, double macroF1, double loss) {
    }

    /** Fine-tuning as a {@link RoundLoop.Job}. */
    private static final class Job implements RoundLoop.Job {
        private final FinetuneRun run;
        private final Broadcast<ExampleSet> examples;
        private final EpochPlan plan;
        private final long steps;
        private final int padId;
        private final ExampleSet val;
        private final LabelSet labels;
        private final byte[] tokenizer;
        private final CheckpointStore bestStore;
        Best best;

        Job(FinetuneRun run, Broadcast<ExampleSet> examples, EpochPlan plan, long steps, int padId, ExampleSet val,
            LabelSet labels, byte[] tokenizer, CheckpointStore bestStore, Best best) {
            this.run = run;
            this.examples = examples;
            this.plan = plan;
            this.steps = steps;
            this.padId = padId;
            this.val = val;
            this.labels = labels;
            this.tokenizer = tokenizer;
            this.bestStore = bestStore;
            this.best = best;
        }

        @Override
        public String command() {
            return "finetune";
        }

        @Override
        public RoundLoop.RoundData data() {
            Broadcast<ExampleSet> set = examples;
            EpochPlan p = plan;
            long total = steps;
            int pad = padId;
            long seed = run.seed();
            return (w, from, count) -> {
                Nd4j.getRandom().setSeed(seed * 31 + from * 1_000_003L + w);   // dropout: reproducible per round
                List<MultiDataSet> out = new ArrayList<>(count);
                for (long s = from; s < from + count && s < total; s++) {
                    out.add(ClassBatches.of(set.value(), p.minibatch(s, w), pad));
                }
                return out;
            };
        }

        @Override
        public RoundLoop.Validation validate(ComputationGraph net) {
            ClassifierEvaluation e = ClassifierEvaluation.of(net, val, 64, padId, labels.size());
            ObjectNode extra = Json.object();
            extra.put("val_accuracy", e.accuracy());
            extra.put("val_macro_f1", e.metrics().macroF1());
            return new RoundLoop.Validation(e.loss(), null, extra);
        }

        @Override
        public void validated(ComputationGraph net, long step, RoundLoop.Validation v) throws IOException {
            double acc = v.extra().path("val_accuracy").asDouble();
            if (best == null || acc > best.accuracy() || acc == best.accuracy() && v.loss() < best.loss()) {
                best = new Best(step, acc, v.extra().path("val_macro_f1").asDouble(), v.loss());
                ObjectNode state = Json.object();
                state.put("step", step);
                state.put("val_accuracy", acc);
                state.put("val_macro_f1", best.macroF1());
                state.put("val_loss", v.loss());
                // the delivered classifier: a prefix MLP (training only) is dropped here
                ClassifierModel.Merged kept = ClassifierModel.dropPrefixProjection(run, net);
                state.set("run", kept.run().toJson());
                bestStore.write(step, state, FinetunedModel.blobs(kept.net(), labels, tokenizer));
                LOG.info(String.format(Locale.ROOT, "finetune: best validation accuracy so far %.4f at step %d"
                    + " (kept in %s)", acc, step, bestStore.root()));
            }
        }

        @Override
        public Map<String, IOConsumer<OutputStream>> checkpointBlobs(ComputationGraph net) {
            return FinetunedModel.blobs(net, labels, tokenizer);
        }

        @Override
        public ObjectNode runJson() {
            return run.toJson();
        }
    }

    /** result.json: the final and best validation figures, the data, the parameters, the time. */
    private static ObjectNode result(FinetuneRun run, ComputationGraph net, TrainableParams trainable, Encoded train,
                                     Encoded val, ClassifierEvaluation last, Best best, List<RoundMetrics> metrics,
                                     double seconds) {
        ObjectNode r = Json.object();
        r.put("method", run.method().key());
        r.put("init", run.init().key());
        r.put("pooling", run.pooling().key());
        r.put("classes", run.labels().size());
        r.put("parameters", net.numParams());
        r.put("trainable_parameters", trainable.count());
        r.put("trainable_fraction", (double) trainable.count() / net.numParams());
        ObjectNode data = r.putObject("data");
        data.set("train", train.report());
        data.set("val", val.report());
        ObjectNode fin = r.putObject("final");
        fin.put("step", run.steps());
        fin.put("val_loss", last.loss());
        fin.set("val", last.metrics().toJson(run.labelSet()));
        if (best != null) {
            ObjectNode b = r.putObject("best");
            b.put("step", best.step());
            b.put("val_accuracy", best.accuracy());
            b.put("val_macro_f1", best.macroF1());
            b.put("val_loss", best.loss());
        }
        long[] counts = val.classCounts(run.labelSet());
        long most = 0;
        long all = 0;
        for (long n : counts) {
            most = Math.max(most, n);
            all += n;
        }
        r.put("majority_class_accuracy", all == 0 ? 0 : (double) most / all);
        long bytes = 0;
        for (RoundMetrics m : metrics) {
            if (m.extra() != null) {
                bytes = Math.max(bytes, m.extra().path("bytes_per_round").asLong());
            }
        }
        r.put("bytes_per_round", bytes);
        r.put("epochs", run.epochs());
        r.put("seconds", Math.round(seconds * 10) / 10.0);
        r.put("seconds_per_epoch", Math.round(seconds / run.epochs() * 10) / 10.0);
        return r;
    }

    /** Labelled examples read and encoded, collected in input order (file name, byte offset). */
    record Encoded(List<ExampleEncoder.Encoded> examples, ExampleEncoder.Stats stats) {
        List<String> labels() {
            return examples.stream().map(ExampleEncoder.Encoded::label).distinct().toList();
        }

        ExampleSet set(LabelSet labels) {
            List<ExampleSet.Encoded> l = new ArrayList<>(examples.size());
            for (ExampleEncoder.Encoded e : examples) {
                l.add(new ExampleSet.Encoded(e.tokens(), labels.id(e.label())));
            }
            return new ExampleSet(l);
        }

        long[] classCounts(LabelSet labels) {
            long[] c = new long[labels.size()];
            for (ExampleEncoder.Encoded e : examples) {
                c[labels.id(e.label())]++;
            }
            return c;
        }

        ObjectNode report() {
            ObjectNode o = Json.object();
            o.put("lines", stats.lines);
            o.put("examples", stats.examples);
            o.put("blank", stats.blank);
            o.put("malformed", stats.malformed);
            o.put("truncated", stats.truncated);
            o.put("tokens", stats.tokens);
            return o;
        }
    }

    /** Reading labelled text on the executors. */
    static final class LabelledInput {
        private LabelledInput() {
        }

        static Encoded encode(JavaSparkContext sc, String command, String option, List<String> paths,
                              ExampleEncoder encoder, byte[] tokenizer, boolean strict) throws IOException {
            DocumentInput in;
            try {
                in = DocumentInput.expand(sc.hadoopConfiguration(), command, paths);
            } catch (java.io.FileNotFoundException e) {
                throw new UsageException(command + ": " + option + ": " + e.getMessage());
            }
            String sha = Sha256.of(tokenizer);
            Broadcast<byte[]> tok = sc.broadcast(tokenizer);
            List<Part> parts = in.read(sc, DocFormat.LINE, 0, (Iterator<org.sparklm.data.DocumentReader.Record> it) -> {
                BpeTokenizer t = ShardJob.TokenizerCache.get(sha, tok);
                ExampleEncoder.Stats s = new ExampleEncoder.Stats();
                List<ExampleEncoder.Encoded> l = new ArrayList<>();
                while (it.hasNext()) {
                    var r = it.next();
                    ExampleEncoder.Encoded e = encoder.encode(t, r.file(), r.position(), r.bytes(), r.offset(),
                        r.length(), s);
                    if (e != null) {
                        l.add(e);
                    }
                }
                return List.of(new Part(l, s)).iterator();
            }).collect();
            tok.destroy(false);
            ExampleEncoder.Stats stats = new ExampleEncoder.Stats();
            List<ExampleEncoder.Encoded> all = new ArrayList<>();
            for (Part p : parts) {
                stats.add(p.stats());
                all.addAll(p.examples());
            }
            all.sort(Comparator.comparing(ExampleEncoder.Encoded::file)
                .thenComparingLong(ExampleEncoder.Encoded::offset));
            if (stats.malformed > 0 && (strict || all.isEmpty())) {
                List<String> where = new ArrayList<>();
                for (int i = 0; i < stats.firstMalformed.size(); i++) {
                    String file = stats.firstMalformedFile.get(i);
                    long line = HadoopFiles.lineNumbers(sc.hadoopConfiguration(), in.uri(file),
                        new long[] {stats.firstMalformedAt.get(i)})[0];
                    where.add(file + ":" + line + " (" + stats.firstMalformed.get(i) + ")");
                }
                throw new UsageException(command + ": " + option + ": " + stats.malformed + " malformed line(s), first "
                    + String.join("; ", where));
            }
            if (all.isEmpty()) {
                throw new UsageException(command + ": " + option + ": no labelled example in " + String.join(" ",
                    paths) + " (" + stats.lines + " lines, " + stats.blank + " blank)");
            }
            return new Encoded(all, stats);
        }

        /** One partition's examples and counts. */
        record Part(List<ExampleEncoder.Encoded> examples, ExampleEncoder.Stats stats) implements java.io.Serializable {
        }
    }
}
