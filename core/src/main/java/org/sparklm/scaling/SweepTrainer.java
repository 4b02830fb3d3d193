package org.sparklm.scaling;

import java.io.IOException;
import java.io.OutputStream;
import java.io.Serializable;
import java.util.List;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparklm.data.ShardManifest;
import org.sparklm.io.Json;
import org.sparklm.io.SerializableConf;
import org.sparklm.model.LmEvaluation;
import org.sparklm.model.TransformerConfig;
import org.sparklm.model.TransformerLm;
import org.sparklm.pretrain.PretrainRun;
import org.sparklm.report.MetricsLog;
import org.sparklm.report.RoundMetrics;
import org.sparklm.train.LmMinibatches;
import org.sparklm.train.Objective;
import org.sparklm.train.OptimizerConfig;
import org.sparklm.train.OuterOptimizer;

/**
 * Trains one run of a sweep in this JVM (a Spark task, or a test): the model of its size, AdamW with pretrain's
 * schedule ({@link OptimizerConfig}), pretrain's minibatches ({@link LmMinibatches}, one worker) and its validation
 * ({@link LmEvaluation}); writes {@code metrics.jsonl} (one record per validation) and {@code run.json} (the run as
 * a {@link PretrainRun}, so {@code plan --run} reads it) into the run's directory. Never throws: a failure is a
 * {@link RunResult} with its error.
 */
public final class SweepTrainer implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(SweepTrainer.class);

    private final SweepConfig config;
    private final ShardManifest manifest;
    private final String tokenizerSha256;
    private final int specials;
    private final SerializableConf conf;

    public SweepTrainer(SweepConfig config, ShardManifest manifest, String tokenizerSha256, int specials,
                        SerializableConf conf) {
        this.config = config;
        this.manifest = manifest;
        this.tokenizerSha256 = tokenizerSha256;
        this.specials = specials;
        this.conf = conf;
    }

    /**
     * What a run produced (a failed run has its error and no loss).
     *
     * @param parameters          N ({@link Scaling#parameters})
     * @param parametersTotal     with the embeddings
     * @param tokens              training tokens D (steps x batch x context)
     * @param valLoss             final validation loss, or null
     * @param error               why the run failed, or null
     */
    public record RunResult(String name, String size, double tokensPerParam, int layers, int dModel, int heads,
                            int contextLength, long parameters, long parametersTotal, long tokens, long steps,
                            Double valLoss, Double trainLoss, double seconds, double tokensPerSecond,
                            String error) implements Serializable {
        public boolean ok() {
            return error == null && valLoss != null && Double.isFinite(valLoss);
        }

        public LawFit.Observation observation() {
            return new LawFit.Observation(parameters, tokens, valLoss);
        }
    }

    /** Trains the run into {@code runDir}. */
    public RunResult train(SweepGrid.Spec spec, String runDir) {
        long t0 = System.nanoTime();
        TransformerConfig model = null;
        long n = 0;
        long steps = 0;
        try {
            model = SweepGrid.model(spec.size(), manifest.vocabSize(), config.context());
            n = Scaling.parameters(model);
            steps = SweepGrid.steps(n, spec.tokensPerParam(), config.batchSize(), config.context());
            if (steps > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(steps + " steps is too many");
            }
            int warmup = (int) Math.min(config.warmupSteps() >= 0 ? config.warmupSteps()
                : OptimizerConfig.defaultWarmup(steps), steps);
            OptimizerConfig opt = new OptimizerConfig(config.lr(), config.minLr(), warmup, (int) steps,
                config.weightDecay(), config.gradClip(), OptimizerConfig.BETA1, OptimizerConfig.BETA2,
                OptimizerConfig.EPSILON);
            LmMinibatches data = new LmMinibatches(config.data(), manifest, Objective.CLM, config.context(),
                config.batchSize(), 1, config.seed(), -1, specials, conf);
            if (data.trainingPositions() == 0) {
                throw new IllegalArgumentException("no training window of " + data.window() + " tokens fits in the"
                    + " shards");
            }
            List<MultiDataSet> validation = data.evaluationBatches("val", config.evalWindows());
            if (validation.isEmpty()) {
                throw new IllegalArgumentException("the shards have no validation split");
            }
            PretrainRun run = new PretrainRun(config.data(), tokenizerSha256, Objective.CLM, spec.size(), model,
                model.parameterCount(), 1, config.batchSize(), 1, steps, opt.lr(), opt.minLr(), warmup,
                opt.weightDecay(), opt.gradClip(), opt.beta1(), opt.beta2(), opt.epsilon(), OuterOptimizer.Kind.AVERAGE,
                1.0, 0.0, config.seed(), "sweep");
            FileSystem fs = new Path(runDir).getFileSystem(conf.get());
            fs.mkdirs(new Path(runDir));
            try (OutputStream o = fs.create(new Path(runDir, Throughput.RUN_FILE), true)) {
                o.write(Json.pretty().writeValueAsBytes(run.toJson()));
            }
            MetricsLog log = MetricsLog.create(conf.get(), runDir);
            LOG.info("sweep: {} starts: N {} ({} with embeddings), {} steps of {} x {} tokens = {} tokens", spec.name(),
                n, model.parameterCount(), steps, config.batchSize(), config.context(),
                steps * config.batchSize() * config.context());
            ComputationGraph net = TransformerLm.create(model, opt, config.seed());
            long tokensPerStep = (long) config.batchSize() * config.context();
            long trainStart = System.nanoTime();
            double trainLoss = Double.NaN;
            Double val = null;
            int round = 0;
            for (long from = 0; from < steps; from += config.evalEvery()) {
                int count = (int) Math.min(config.evalEvery(), steps - from);
                long tr = System.nanoTime();
                double sum = 0;
                for (MultiDataSet b : data.minibatches(0, from, count)) {
                    net.fit(b);
                    sum += net.score();
                }
                double secs = (System.nanoTime() - tr) / 1e9;
                trainLoss = sum / count;
                LmEvaluation e = LmEvaluation.of(net, validation, Objective.CLM);
                val = e == null ? null : e.loss();
                long step = from + count;
                double elapsed = (System.nanoTime() - trainStart) / 1e9;
                RoundMetrics m = new RoundMetrics(++round, step, steps, step * tokensPerStep, trainLoss, val, null,
                    opt.schedule().valueAt((int) step - 1, 0), count * tokensPerStep / secs, secs, elapsed,
                    elapsed / step * (steps - step), null);
                log.append(m);
                LOG.info("sweep: {}: {}", spec.name(), MetricsLog.consoleLine(m));
                if (!Double.isFinite(trainLoss)) {
                    break;
                }
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            double trainSeconds = (System.nanoTime() - trainStart) / 1e9;
            String error = val == null || !Double.isFinite(val) ? "diverged (validation loss " + val + ")" : null;
            return new RunResult(spec.name(), spec.size(), spec.tokensPerParam(), model.layers(), model.dModel(),
                model.heads(), model.contextLength(), n, model.parameterCount(), steps * tokensPerStep, steps, val,
                trainLoss, seconds, steps * tokensPerStep / trainSeconds, error);
        } catch (Throwable e) {
            String msg = e.getClass().getSimpleName() + ": " + e.getMessage();
            LOG.warn("sweep: {} failed: {}", spec.name(), msg);
            boolean built = model != null;
            return new RunResult(spec.name(), spec.size(), spec.tokensPerParam(), built ? model.layers() : 0,
                built ? model.dModel() : 0, built ? model.heads() : 0, config.context(), n,
                built ? model.parameterCount() : 0, steps * config.batchSize() * config.context(), steps, null, null,
                (System.nanoTime() - t0) / 1e9, 0, msg);
        }
    }
}
