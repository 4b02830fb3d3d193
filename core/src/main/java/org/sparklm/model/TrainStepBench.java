package org.sparklm.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.sparklm.cli.Options;
import org.sparklm.model.dl4j.MatrixThreads;
import org.sparklm.model.dl4j.OpTimer;
import org.sparklm.train.LmBatches;
import org.sparklm.train.MlmMasker;
import org.sparklm.train.Objective;
import org.sparklm.train.OptimizerConfig;
import org.sparklm.train.Seq2SeqBatches;

/**
 * {@code bench train-step}: training steps of one model in one JVM (no Spark) on random tokens, timed. Prints JSON:
 * tokens per second (over all timed steps, and at the median and the fastest step, which tell a busy machine from a
 * slow program), the time per step split into forward, backward and optimizer update (from DL4J's training listener
 * hooks) and into groups of operations inside the layers ({@link OpTimer}), the parameter count, the training FLOPs
 * per token ({@link TransformerConfig#trainingFlopsPerToken()}) and the achieved GFLOP/s, and the load average.
 *
 * <pre>
 * bench train-step --vocab 4096 --d-model 128 --layers 4 --heads 4 --seq-len 128 --batch 16 --steps 20
 * bench train-step --model t5-tiny --vocab 8000 --batch 16      (a named config; encoder-decoders train span)
 * </pre>
 *
 * <p>Encoder-decoder models (a {@code --model} config with {@code architecture = encoder-decoder}) train on random
 * seq2seq batches of full encoder and decoder contexts (all target positions counted); their tokens per step are the
 * input plus target tokens, {@code batch x (Te + Td)}, and their FLOPs per token
 * {@link TransformerConfig#trainingFlopsPerSequence()} divided by {@code Te + Td}. Their time is all in
 * {@code outside_layers} of the op groups (the encoder-decoder layer is not instrumented with {@link OpTimer}).
 */
public final class TrainStepBench {

    private TrainStepBench() {
    }

    public static Options options() {
        return new Options("bench train-step",
            "Times training steps of a Transformer LM on random tokens in this JVM (no Spark); prints JSON.")
            .value("model", "NAME|FILE", "a named model config (tiny, small, t5-tiny, t5-small) or a config file"
                + " instead of the size options below (with --vocab)", "")
            .value("vocab", "V", "vocabulary size", "4096")
            .value("d-model", "D", "model width", "128")
            .value("layers", "L", "number of blocks", "4")
            .value("heads", "H", "attention heads", "4")
            .value("d-ff", "F", "MLP width (0: 4 * d-model)", "0")
            .value("seq-len", "T", "tokens per sequence (the context length)", "128")
            .value("batch", "B", "sequences per step", "16")
            .value("steps", "S", "timed steps", "20")
            .value("warmup", "W", "untimed steps first (JIT compilation of the Java kernels, workspace sizing)", "10")
            .value("dropout", "P", "dropout rate", "0.0")
            .value("objective", "clm|mlm|span", "causal LM (all positions) or masked LM (15% of positions);"
                + " encoder-decoders: span (random inputs and targets, all target positions counted)", "clm")
            .value("matrix-threads", "N", "split matrix products over N Java threads with single-threaded OpenBLAS"
                + " (0: OpenBLAS threads them; auto: the number of cores)", "auto")
            .value("seed", "N", "random seed", "1");
    }

    /** Runs the benchmark; returns the exit code (0). Bad options throw {@code UsageException}. */
    public static int run(String[] args, PrintStream out) {
        Options opts = options();
        Options.Parsed p = opts.parse(args);
        if (p.help()) {
            out.print(opts.help());
            return 0;
        }
        int d = p.intValue("d-model", 1, 1 << 16);
        int dff = p.intValue("d-ff", 0, 1 << 20);
        Objective objective;
        try {
            objective = Objective.parse(p.string("objective"));
        } catch (IllegalArgumentException e) {
            throw new org.sparklm.UsageException("bench train-step: " + e.getMessage());
        }
        TransformerConfig cfg;
        try {
            if (!p.string("model").isEmpty()) {
                cfg = TransformerConfig.load(p.string("model"), Map.of("vocab_size",
                    Integer.toString(p.intValue("vocab", 16, 1 << 24))));
                if (cfg.isEncoderDecoder() && "clm".equals(p.string("objective"))) {
                    objective = Objective.SPAN;
                }
                if (cfg.isEncoderDecoder() != objective.isSeq2Seq()) {
                    throw new IllegalArgumentException("--objective " + objective.key() + " does not train "
                        + (cfg.isEncoderDecoder() ? "an encoder-decoder" : "a decoder-only model"));
                }
                cfg = cfg.withAttention(AttentionMode.of(objective));
            } else {
                if (objective.isSeq2Seq()) {
                    throw new IllegalArgumentException("--objective " + objective.key() + " needs an encoder-decoder"
                        + " --model (t5-tiny, t5-small)");
                }
                cfg = new TransformerConfig(p.intValue("vocab", 16, 1 << 24), p.intValue("layers", 1, 1024), d,
                    p.intValue("heads", 1, 1024), dff == 0 ? 4 * d : dff, p.intValue("seq-len", 1, 1 << 16),
                    p.doubleValue("dropout", 0, 0.99), AttentionMode.of(objective));
            }
        } catch (IllegalArgumentException e) {
            throw new org.sparklm.UsageException("bench train-step: " + e.getMessage());
        }
        int batch = p.intValue("batch", 1, 1 << 16);
        int steps = p.intValue("steps", 1, 1 << 20);
        int warmup = p.intValue("warmup", 0, 1 << 20);
        long seed = p.longValue("seed", Long.MIN_VALUE, Long.MAX_VALUE);
        int matrixThreads = "auto".equals(p.string("matrix-threads")) ? Runtime.getRuntime().availableProcessors()
            : p.intValue("matrix-threads", 0, 256);
        int previous = MatrixThreads.threads();
        MatrixThreads.use(matrixThreads);
        ObjectNode result;
        try {
            result = bench(cfg, objective, batch, steps, warmup, seed);
        } finally {
            MatrixThreads.use(previous);
        }
        out.println(result.toPrettyString());
        out.flush();
        return 0;
    }

    /** Per-phase timestamps of one {@code fit} call, from DL4J's listener hooks. */
    private static final class PhaseTimer extends BaseTrainingListener {
        long start;
        long forwardEnd;
        long backwardEnd;
        long gradientEnd;
        long updateEnd;

        @Override
        public void onForwardPass(Model model, Map<String, INDArray> activations) {
            forwardEnd = System.nanoTime();
        }

        @Override
        public void onBackwardPass(Model model) {
            backwardEnd = System.nanoTime();
        }

        @Override
        public void onGradientCalculation(Model model) {
            gradientEnd = System.nanoTime();
        }

        @Override
        public void iterationDone(Model model, int iteration, int epoch) {
            updateEnd = System.nanoTime();
        }
    }

    static ObjectNode bench(TransformerConfig cfg, Objective objective, int batch, int steps, int warmup, long seed) {
        ComputationGraph net = TransformerLm.create(cfg, OptimizerConfig.defaults(100_000), seed);
        MultiDataSet data = randomBatch(cfg, objective, batch, seed);
        PhaseTimer timer = new PhaseTimer();
        net.setListeners(timer);
        for (int i = 0; i < warmup; i++) {
            net.fit(data);
        }
        double forward = 0;
        double backward = 0;
        double update = 0;
        double total = 0;
        double[] stepMs = new double[steps];
        OpTimer.reset();
        OpTimer.enable(true);
        try {
            for (int i = 0; i < steps; i++) {
                long t0 = System.nanoTime();
                timer.start = t0;
                net.fit(data);
                long t1 = System.nanoTime();
                forward += (timer.forwardEnd - t0) / 1e6;
                backward += (timer.backwardEnd - timer.forwardEnd) / 1e6;
                update += (timer.updateEnd - timer.gradientEnd) / 1e6;
                double ms = (t1 - t0) / 1e6;
                total += ms;
                stepMs[i] = ms;
            }
        } finally {
            OpTimer.enable(false);
        }
        long tokensPerStep = (long) batch * cfg.tokensPerExample();
        double tokensPerSecond = tokensPerStep * steps / (total / 1000);
        double flopsPerToken = cfg.trainingFlopsPerToken();

        ObjectMapper json = new ObjectMapper();
        ObjectNode o = json.createObjectNode();
        ObjectNode c = o.putObject("config");
        c.put("vocab", cfg.vocabSize());
        c.put("d_model", cfg.dModel());
        c.put("layers", cfg.layers());
        c.put("heads", cfg.heads());
        c.put("d_ff", cfg.dFf());
        c.put("seq_len", cfg.contextLength());
        c.put("architecture", cfg.architecture().key());
        if (cfg.isEncoderDecoder()) {
            c.put("encoder_layers", cfg.encoderLayers());
            c.put("decoder_layers", cfg.decoderLayers());
            c.put("encoder_seq_len", cfg.encoderContext());
            c.put("decoder_seq_len", cfg.decoderContext());
            c.put("tied_embeddings", cfg.tiedEmbeddings());
        }
        c.put("batch", batch);
        c.put("dropout", cfg.dropout());
        c.put("objective", objective.key());
        c.put("steps", steps);
        c.put("warmup", warmup);
        o.put("parameters", net.numParams());
        o.put("non_embedding_parameters", cfg.nonEmbeddingParameters());
        o.put("tokens_per_step", tokensPerStep);
        o.put("tokens_per_s", round(tokensPerSecond));
        Arrays.sort(stepMs);
        o.put("tokens_per_s_median_step", round(tokensPerStep / (stepMs[steps / 2] / 1000)));
        o.put("tokens_per_s_best_step", round(tokensPerStep / (stepMs[0] / 1000)));
        o.put("ms_per_step", round(total / steps));
        o.put("flops_per_token", (long) flopsPerToken);
        o.put("gflop_per_s", round(flopsPerToken * tokensPerSecond / 1e9));
        ObjectNode phases = o.putObject("ms_per_step_by_phase");
        phases.put("forward", round(forward / steps));
        phases.put("backward", round(backward / steps));
        phases.put("update", round(update / steps));
        phases.put("other", round((total - forward - backward - update) / steps));
        ObjectNode groups = o.putObject("ms_per_step_by_op_group");
        double inGroups = 0;
        for (Map.Entry<OpTimer.Group, Double> e : OpTimer.millis().entrySet()) {
            groups.put(e.getKey().name().toLowerCase(java.util.Locale.ROOT), round(e.getValue() / steps));
            inGroups += e.getValue();
        }
        groups.put("outside_layers", round((total - inGroups) / steps));
        o.put("final_loss", round(TransformerLm.lastLoss(net)));
        ObjectNode env = o.putObject("environment");
        env.put("threads", Nd4j.getEnvironment().maxMasterThreads());
        env.put("blas_threads", Nd4j.factory().blas().getMaxThreads());
        env.put("matrix_threads", MatrixThreads.threads());
        env.put("cores", Runtime.getRuntime().availableProcessors());
        env.put("load_average", round(ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage()));
        env.put("java", System.getProperty("java.version"));
        return o;
    }

    /** A fixed batch of uniformly random tokens (ids 7 and up for masked-LM, 0..6 being special). */
    static MultiDataSet randomBatch(TransformerConfig cfg, Objective objective, int batch, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        if (cfg.isEncoderDecoder()) {
            // full contexts: Te input tokens, Td - 1 target tokens and EOS-like last token, all counted
            List<Seq2SeqBatches.Example> ex = new ArrayList<>();
            for (int i = 0; i < batch; i++) {
                int[] in = new int[cfg.encoderContext()];
                int[] target = new int[cfg.decoderContext()];
                for (int j = 0; j < in.length; j++) {
                    in[j] = 7 + rng.nextInt(cfg.vocabSize() - 7);
                }
                for (int j = 0; j < target.length; j++) {
                    target[j] = 7 + rng.nextInt(cfg.vocabSize() - 7);
                }
                ex.add(new Seq2SeqBatches.Example(in, target));
            }
            return Seq2SeqBatches.batch(ex, cfg.encoderContext(), cfg.decoderContext(), 0);
        }
        int len = cfg.contextLength() + (objective == Objective.CLM ? 1 : 0);
        List<int[]> windows = new ArrayList<>();
        for (int i = 0; i < batch; i++) {
            int[] w = new int[len];
            for (int j = 0; j < len; j++) {
                w[j] = 7 + rng.nextInt(cfg.vocabSize() - 7);
            }
            windows.add(w);
        }
        if (objective == Objective.CLM) {
            return LmBatches.clm(windows, -1);
        }
        long[] idx = new long[batch];
        Arrays.setAll(idx, i -> i);
        return LmBatches.mlm(windows, idx, 0, new MlmMasker(cfg.vocabSize(), 7, 4, seed), -1);
    }

    private static double round(double x) {
        return Math.round(x * 1000) / 1000.0;
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out));
    }
}
