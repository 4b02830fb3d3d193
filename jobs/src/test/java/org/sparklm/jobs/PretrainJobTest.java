package org.sparklm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.sparklm.jobs.MainRun.capture;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.learning.config.Sgd;
import org.sparklm.UsageException;
import org.sparklm.data.DocFormat;
import org.sparklm.report.RoundMetrics;
import org.sparklm.data.ShardManifest;
import org.sparklm.data.ShardWindows;
import org.sparklm.model.TransformerConfig;
import org.sparklm.model.TransformerLm;
import org.sparklm.io.SerializableConf;
import org.sparklm.pretrain.PretrainConfig;
import org.sparklm.train.LmMinibatches;
import org.sparklm.tokenizer.bpe.BpeMode;
import org.sparklm.tokenizer.bpe.BpeModel;
import org.sparklm.tokenizer.bpe.TokenizerFiles;
import org.sparklm.train.Objective;
import org.sparklm.train.CombinedSecondMoment;
import org.sparklm.train.OptimizerConfig;

class PretrainJobTest extends SparkTestBase {
    @TempDir
    static Path tmp;
    private static Path tokDir;
    private static Path shards;
    private static ShardManifest manifest;

    /** A very small model so that the equivalence tests run in seconds. */
    private static final Map<String, String> MICRO = Map.of("layers", "1", "d_model", "32", "heads", "2", "d_ff",
        "64", "context_length", "16", "dropout", "0");

    @BeforeAll
    static void shards() throws Exception {
        BpeModel model = BpeTrainJobTest.direct(BpeTrainJobTest.brownLines(3000), BpeMode.BYTE, 600);
        tokDir = tmp.resolve("tok");
        TokenizerFiles.save(model, tokDir);
        Path corpus = tmp.resolve("corpus.txt");
        Files.write(corpus, BpeTrainJobTest.brownLines(3000));
        shards = tmp.resolve("shards");
        ShardJob.run(sc, new ShardJob.Params(List.of(corpus.toString()), tokDir.toString(), shards.toString(), 0.05,
            2, DocFormat.LINE, "text", 1, "[EOS]", 2, false, false));
        manifest = ShardWindows.manifest(new Configuration(), new org.apache.hadoop.fs.Path(shards.toUri()));
    }

    static TransformerConfig micro() {
        Map<String, String> set = new java.util.HashMap<>(MICRO);
        set.put("vocab_size", Integer.toString(manifest.vocabSize()));
        return TransformerConfig.load("tiny", set);
    }

    static LmMinibatches data(int workers, int batch) {
        return new LmMinibatches(shards.toString(), manifest, Objective.CLM, 16, batch, workers, 7, 4, 107,
            new SerializableConf(sc.hadoopConfiguration()));
    }

    private static ComputationGraph sgdNet(double lr) {
        ComputationGraph net = new ComputationGraph(TransformerLm.configuration(micro(), new Sgd(lr), 0,
            GradientNormalization.None, 0, 11, DataType.FLOAT));
        net.init();
        return net;
    }

    private static void assertClose(INDArray expected, INDArray actual, double tol, String what) {
        double diff = expected.sub(actual).norm2Number().doubleValue();
        double scale = expected.norm2Number().doubleValue();
        assertTrue(diff <= tol * scale, what + ": relative difference " + diff / scale);
    }

    @Test
    void oneWorkerParameterAveragingEqualsLocalTraining() throws IOException {
        OptimizerConfig opt = new OptimizerConfig(3e-3, 3e-4, 2, 6, 0.1, 1.0, 0.9, 0.95, 1e-8);
        ComputationGraph distributed = TransformerLm.create(micro(), opt, 5);
        ComputationGraph local = TransformerLm.create(micro(), opt, 5);
        assertEquals(local.params(), distributed.params());
        LmMinibatches d = data(1, 4);
        RoundTrainingMaster tm = RoundTrainingMaster.create(1, 4, 3, 1);
        SparkComputationGraph spark = new SparkComputationGraph(sc, distributed, tm);
        INDArray afterFirst = null;
        for (int r = 0; r < 2; r++) {
            RoundLoop.trainRound(sc, spark, tm, d::minibatches, 1, r * 3L, 3, r + 1, 2);
            afterFirst = afterFirst == null ? spark.getNetwork().params().dup() : afterFirst;
        }
        for (MultiDataSet b : d.minibatches(0, 0, 6)) {
            local.fit(b);
        }
        assertEquals(6, spark.getNetwork().getConfiguration().getIterationCount());
        double[] drift = tm.lastRoundDrift();
        assertEquals(0.0, drift[0], "one worker's spread");
        double moved = afterFirst.castTo(DataType.DOUBLE).distance2(spark.getNetwork().params().castTo(DataType.DOUBLE));
        assertEquals(moved, drift[1], 1e-4 * moved, "the second round's pseudo-gradient norm");
        assertClose(local.params(), spark.getNetwork().params(), 1e-4, "parameters");
        assertClose(local.getUpdater().getStateViewArray(), spark.getNetwork().getUpdater().getStateViewArray(),
            1e-4, "Adam state");
    }

    @Test
    void twoWorkersAveragingEverySgdStepEqualOneStepOnTheUnion() throws IOException {
        ComputationGraph distributed = sgdNet(0.5);
        ComputationGraph local = sgdNet(0.5);
        LmMinibatches d = data(2, 4);
        RoundTrainingMaster tm = RoundTrainingMaster.create(2, 4, 1, 1);
        SparkComputationGraph spark = new SparkComputationGraph(sc, distributed, tm);
        RoundLoop.trainRound(sc, spark, tm, d::minibatches, 2, 0, 1, 1, 1);
        List<MultiDataSet> both = new ArrayList<>(d.minibatches(0, 0, 1));
        both.addAll(d.minibatches(1, 0, 1));
        MultiDataSet union = org.nd4j.linalg.dataset.MultiDataSet.merge(both);
        assertEquals(8, union.getFeatures(0).size(0));
        INDArray before = local.params().dup();
        local.fit(union);
        assertTrue(before.sub(local.params()).norm2Number().doubleValue() > 1e-3, "the step moved nothing");
        assertClose(local.params(), spark.getNetwork().params(), 1e-4, "parameters");
    }

    /** The configuration of a command line, as pretrain's main would see it. */
    static PretrainConfig config(String... args) {
        return PretrainJob.commandLine().parse(args);
    }

    static String modelSet(Map<String, String> set) {
        return set.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
            .collect(java.util.stream.Collectors.joining(","));
    }

    private static PretrainConfig run(Path out, String model, Map<String, String> set, long steps, int h,
                                      int checkpointEvery, boolean resume, long stopAt, String... more) {
        List<String> a = new ArrayList<>(List.of("--data", shards.toString(), "--tokenizer", tokDir.toString(),
            "--output", out.toString(), "--model", model, "--model-set", modelSet(set), "--steps", "" + steps,
            "--batch-size-per-worker", "8", "--averaging-frequency", "" + h, "--workers", "2", "--lr", "3e-3",
            "--min-lr", "3e-4", "--warmup-steps", "5", "--weight-decay", "0.1", "--grad-clip", "1.0",
            "--eval-every", "4", "--eval-windows", "64", "--checkpoint-every", "" + checkpointEvery,
            "--keep-checkpoints", "2", "--seed", "3", "--stop-at-step", "" + stopAt));
        if (resume) {
            a.add("--resume");
        }
        a.addAll(List.of(more));
        return config(a.toArray(String[]::new));
    }

    @Test
    void aShortRunLowersTheValidationLossAndWritesMetricsCheckpointsAndReport() throws IOException {
        Path out = tmp.resolve("run");
        PretrainJob.Result r = PretrainJob.run(sc, run(out, "tiny", Map.of("context_length", "32"), 48, 4, 4, false,
            0));
        List<RoundMetrics> m = r.metrics();
        double first = r.untrainedValLoss();
        double last = m.get(m.size() - 1).valLoss();
        assertEquals(12, m.size());
        assertEquals(48, m.get(m.size() - 1).step());
        assertTrue(last < first - 0.5, "validation loss " + first + " -> " + last);
        assertTrue(Math.abs(first - Math.log(manifest.vocabSize())) < 0.5, "untrained loss " + first
            + " should be about ln(V) = " + Math.log(manifest.vocabSize()));
        assertEquals(12, Files.readAllLines(out.resolve("metrics.jsonl")).size());
        String html = Files.readString(out.resolve("report.html"));
        assertTrue(html.contains("<svg") && html.contains("polyline"), "no loss curve in report.html");
        try (var s = Files.list(out.resolve("checkpoints"))) {
            assertEquals(List.of("step-00000032", "step-00000048"), s.map(p -> p.getFileName().toString()).sorted()
                .toList(), "keeps the newest 2");
        }
        org.junit.jupiter.api.Assertions.assertThrows(org.sparklm.io.AtomicOutput.OutputExistsException.class,
            () -> PretrainJob.run(sc, run(out, "tiny", Map.of("context_length", "32"), 48, 4, 4, false, 0)));

        // evaluate (plain JVM) on the run directory: its newest checkpoint, the same 64 validation windows
        String eval = capture(() -> ModelCommands.evaluate(new String[] {"--checkpoint", out.toString(), "--data",
            shards.toString(), "--eval-windows", "64", "--batch-size", "16"}, System.out));
        var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(eval);
        assertEquals(48, json.path("step").asLong());
        assertEquals(64, json.path("windows").asLong());
        assertEquals(last, json.path("loss").asDouble(), 1e-3, eval);
        assertEquals(Math.exp(json.path("loss").asDouble()), json.path("perplexity").asDouble(), 1e-6);
        // generate: greedy is deterministic and continues the prompt
        String[] gen = {"--checkpoint", out.resolve("checkpoints/step-00000048").toString(), "--prompt", "The jury",
            "--temperature", "0", "--max-new-tokens", "8"};
        String g1 = capture(() -> ModelCommands.generate(gen, System.out));
        assertTrue(g1.startsWith("The jury") && g1.strip().length() > "The jury".length(), g1);
        assertEquals(g1, capture(() -> ModelCommands.generate(gen, System.out)));
        UsageException wrong = org.junit.jupiter.api.Assertions.assertThrows(UsageException.class,
            () -> ModelCommands.fillMask(new String[] {"--checkpoint", out.toString(), "--text", "a [MASK] b"},
                System.out));
        assertTrue(wrong.getMessage().contains("mlm"), wrong.getMessage());
    }

    @Test
    void maskedLmTrainsReportsAccuracyAndFillsMasks() throws IOException {
        Path out = tmp.resolve("mlm");
        PretrainJob.Result r = PretrainJob.run(sc, config("--data", shards.toString(), "--tokenizer",
            tokDir.toString(), "--output", out.toString(), "--model", "tiny", "--model-set", "context_length=32",
            "--objective", "mlm", "--steps", "24", "--batch-size-per-worker", "8", "--averaging-frequency", "4",
            "--workers", "2", "--lr", "3e-3", "--min-lr", "3e-4", "--warmup-steps", "3", "--weight-decay", "0.1",
            "--grad-clip", "1.0", "--eval-every", "3", "--eval-windows", "64", "--checkpoint-every", "6",
            "--keep-checkpoints", "1", "--seed", "3"));
        RoundMetrics lastRound = r.metrics().get(r.metrics().size() - 1);
        assertTrue(lastRound.valLoss() < r.untrainedValLoss() - 0.3, r.untrainedValLoss() + " -> "
            + lastRound.valLoss());
        assertTrue(lastRound.mlmAccuracy() != null && lastRound.mlmAccuracy() >= 0 && lastRound.mlmAccuracy() <= 1,
            "accuracy " + lastRound.mlmAccuracy());
        String fills = capture(() -> ModelCommands.fillMask(new String[] {"--checkpoint", out.toString(), "--text",
            "The [MASK] said Friday .", "--top-k", "3"}, System.out));
        var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(fills);
        assertEquals(1, json.size());
        assertEquals(3, json.get(0).path("candidates").size());
        double p0 = json.get(0).path("candidates").get(0).path("probability").asDouble();
        double p1 = json.get(0).path("candidates").get(1).path("probability").asDouble();
        assertTrue(p0 >= p1 && p0 > 0 && p0 <= 1, fills);
    }

    @Test
    void badInputFailsBeforeTrainingWithOneMessage() throws IOException {
        Path out = tmp.resolve("bad");
        java.util.function.Function<PretrainConfig, String> fails = p -> {
            Exception e = org.junit.jupiter.api.Assertions.assertThrows(Exception.class, () -> PretrainJob.run(sc, p));
            assertTrue(e instanceof UsageException || e instanceof java.io.FileNotFoundException, e.toString());
            return e.getMessage();
        };
        java.util.function.BiFunction<String, String, String[]> bad = (option, value) -> {
            Map<String, String> o = new java.util.LinkedHashMap<>(Map.of("--data", shards.toString(), "--tokenizer",
                tokDir.toString(), "--output", out.toString(), "--model", "tiny", "--model-set", modelSet(MICRO),
                "--steps", "4", "--averaging-frequency", "2", "--workers", "2", "--eval-windows", "8"));
            o.put(option, value);
            List<String> a = new ArrayList<>();
            o.forEach((k, v) -> {
                a.add(k);
                a.add(v);
            });
            return a.toArray(String[]::new);
        };
        String m = fails.apply(config(bad.apply("--data", tmp.resolve("nowhere").toString())));
        assertTrue(m.contains("manifest.json"), m);
        BpeModel other = BpeTrainJobTest.direct(BpeTrainJobTest.brownLines(500), BpeMode.BYTE, 400);
        Path otherTok = tmp.resolve("other-tok");
        TokenizerFiles.save(other, otherTok);
        m = fails.apply(config(bad.apply("--tokenizer", otherTok.toString())));
        assertTrue(m.contains("another tokenizer"), m);
        m = fails.apply(config(bad.apply("--model", "huge")));
        assertTrue(m.contains("unknown model 'huge'"), m);
        m = fails.apply(config(bad.apply("--model-set", "context_length=100000")));
        assertTrue(m.contains("fits"), m);
        m = fails.apply(run(out, "tiny", MICRO, 4, 2, 1, true, 0));
        assertTrue(m.contains("nothing to resume"), m);
        assertTrue(!Files.exists(out.resolve("checkpoints")), "nothing written");
        org.junit.jupiter.api.Assertions.assertThrows(UsageException.class, () -> PretrainJob.parse(new String[] {
            "--data", "d", "--tokenizer", "t", "--output", "o"}));
        org.junit.jupiter.api.Assertions.assertThrows(UsageException.class, () -> PretrainJob.parse(new String[] {
            "--data", "d", "--tokenizer", "t", "--output", "o", "--steps", "5", "--objective", "t5"}));
    }

    @Test
    void resumingAnInterruptedRunEndsWhereTheStraightRunEnds() throws IOException {
        Map<String, String> set = new java.util.HashMap<>(MICRO);
        Path straight = tmp.resolve("straight");
        ComputationGraph a = PretrainJob.run(sc, run(straight, "tiny", set, 12, 2, 1, false, 0)).net();
        Path sliced = tmp.resolve("sliced");
        PretrainJob.Result half = PretrainJob.run(sc, run(sliced, "tiny", set, 12, 2, 2, false, 6));
        assertEquals(3, half.metrics().size());
        // the newest checkpoint is damaged without changing its size (only sha256 can tell): resume must skip it
        // and go back to the one before
        Path newest = sliced.resolve("checkpoints/step-00000006/model.zip");
        byte[] damaged = Files.readAllBytes(newest);
        for (int i = damaged.length / 3; i < damaged.length / 3 + 64; i++) {
            damaged[i] ^= 0x5a;
        }
        Files.write(newest, damaged);
        try (var s = Files.list(sliced.resolve("checkpoints"))) {
            assertEquals(2, s.count());
        }
        PretrainJob.Result rest = PretrainJob.run(sc, run(sliced, "tiny", set, 12, 2, 2, true, 0));
        assertEquals(12, rest.metrics().get(rest.metrics().size() - 1).step());
        assertEquals(6, rest.metrics().size(), "metrics of the resumed trajectory: rounds 1-2 kept, 3-6 new");
        assertClose(a.params(), rest.net().params(), 1e-5, "parameters after resume");
        assertClose(a.getUpdater().getStateViewArray(), rest.net().getUpdater().getStateViewArray(), 1e-5,
            "Adam state after resume");
        UsageException e = org.junit.jupiter.api.Assertions.assertThrows(UsageException.class,
            () -> PretrainJob.run(sc, run(sliced, "tiny", set, 24, 2, 4, true, 0)));
        assertTrue(e.getMessage().contains("steps"), e.getMessage());
    }

    @Test
    void nesterovWithLearningRateOneAndNoMomentumIsPlainAveraging() throws IOException {
        Map<String, String> set = new java.util.HashMap<>(MICRO);
        ComputationGraph avg = PretrainJob.run(sc, run(tmp.resolve("avg"), "tiny", set, 8, 2, 100, false, 0)).net();
        ComputationGraph nes = PretrainJob.run(sc, run(tmp.resolve("nes1"), "tiny", set, 8, 2, 100, false, 0,
            "--outer-optimizer", "nesterov", "--outer-lr", "1", "--outer-momentum", "0")).net();
        assertClose(avg.params(), nes.params(), 1e-6, "parameters");
        assertClose(avg.getUpdater().getStateViewArray(), nes.getUpdater().getStateViewArray(), 1e-6, "Adam state");
        ComputationGraph moved = PretrainJob.run(sc, run(tmp.resolve("nes"), "tiny", set, 8, 2, 100, false, 0,
            "--outer-optimizer", "nesterov")).net();
        assertTrue(avg.params().sub(moved.params()).norm2Number().doubleValue() > 1e-3, "momentum changed nothing");
    }

    @Test
    void resumingWithOuterMomentumEndsWhereTheStraightRunEnds() throws IOException {
        Map<String, String> set = new java.util.HashMap<>(MICRO);
        String[] outer = {"--outer-optimizer", "nesterov", "--outer-lr", "0.7", "--outer-momentum", "0.9"};
        ComputationGraph a = PretrainJob.run(sc, run(tmp.resolve("o-straight"), "tiny", set, 12, 2, 1, false, 0,
            outer)).net();
        Path sliced = tmp.resolve("o-sliced");
        PretrainJob.run(sc, run(sliced, "tiny", set, 12, 2, 2, false, 6, outer));
        assertTrue(Files.exists(sliced.resolve("checkpoints/step-00000006/" + PretrainJob.OUTER_BLOB)),
            "the momentum buffer is not in the checkpoint");
        PretrainJob.Result rest = PretrainJob.run(sc, run(sliced, "tiny", set, 12, 2, 2, true, 0, outer));
        assertClose(a.params(), rest.net().params(), 1e-5, "parameters after resume");
        UsageException e = org.junit.jupiter.api.Assertions.assertThrows(UsageException.class,
            () -> PretrainJob.run(sc, run(sliced, "tiny", set, 12, 2, 2, true, 0, "--outer-optimizer", "average")));
        assertTrue(e.getMessage().contains("outer_optimizer"), e.getMessage());
    }

    @Test
    void averagedAdamStateIsTheMeanOfTheWorkersStates() throws IOException {
        OptimizerConfig opt = new OptimizerConfig(3e-3, 3e-4, 1, 4, 0.1, 1.0, 0.9, 0.95, 1e-8);
        ComputationGraph distributed = TransformerLm.create(micro(), opt, 9);
        LmMinibatches d = data(2, 4);
        RoundTrainingMaster tm = RoundTrainingMaster.create(2, 4, 2, 1);
        SparkComputationGraph spark = new SparkComputationGraph(sc, distributed, tm);
        RoundLoop.trainRound(sc, spark, tm, d::minibatches, 2, 0, 2, 1, 1);
        INDArray params = null;
        INDArray state = null;
        INDArray[] workers = new INDArray[2];
        for (int w = 0; w < 2; w++) {
            ComputationGraph local = TransformerLm.create(micro(), opt, 9);
            for (MultiDataSet b : d.minibatches(w, 0, 2)) {
                local.fit(b);
            }
            workers[w] = local.params().castTo(DataType.DOUBLE);
            params = params == null ? local.params().dup() : params.addi(local.params());
            INDArray s = local.getUpdater().getStateViewArray();
            state = state == null ? s.dup() : state.addi(s);
        }
        assertClose(params.divi(2), spark.getNetwork().params(), 1e-5, "parameters: the mean of the workers'");
        assertClose(state.divi(2), spark.getNetwork().getUpdater().getStateViewArray(), 1e-5,
            "Adam state: the mean of the workers' moments");
        // the round's drift: with two workers each is half their distance from the mean; the pseudo-gradient is
        // the start minus the mean
        INDArray start = TransformerLm.create(micro(), opt, 9).params().castTo(DataType.DOUBLE);
        INDArray mean = workers[0].add(workers[1]).divi(2);
        double spread = workers[0].distance2(workers[1]) / 2;
        double pseudo = start.distance2(mean);
        double[] drift = tm.lastRoundDrift();
        assertTrue(spread > 0, "the workers trained on the same windows");
        assertEquals(spread, drift[0], 1e-3 * spread, "worker spread");
        assertEquals(pseudo, drift[1], 1e-3 * pseudo, "pseudo-gradient norm");
        double[] seconds = tm.lastRoundWorkerSeconds();
        assertTrue(seconds[0] > 0 && seconds[1] > 0, "worker seconds " + java.util.Arrays.toString(seconds));
        assertEquals(2L * 2 * 4 * (distributed.numParams() + distributed.getUpdater().getStateViewArray().length()),
            tm.bytesLastRound());
    }

    @Test
    void combinedSecondMomentIsEstimatedOnTheDriverAndDeflatesEveryWorkerStep() throws IOException {
        OptimizerConfig opt = new OptimizerConfig(3e-3, 3e-4, 1, 6, 0.1, 1.0, 0.9, 0.95, 1e-8);
        ComputationGraph distributed = TransformerLm.create(micro(), opt, 9);
        LmMinibatches d = data(2, 4);
        CombinedSecondMoment c = CombinedSecondMoment.of(distributed, 2, 0.9, 0.95);
        RoundTrainingMaster tm = RoundTrainingMaster.create(2, 4, 2, 1).combinedSecondMoment(c);
        SparkComputationGraph spark = new SparkComputationGraph(sc, distributed, tm);
        // by hand: two local workers; every round starts from the mean, every step after the first round is deflated
        ComputationGraph[] local = {TransformerLm.create(micro(), opt, 9), TransformerLm.create(micro(), opt, 9)};
        INDArray params = local[0].params().dup();
        INDArray state = local[0].getUpdater().getStateViewArray().dup();
        INDArray excess = null;
        for (int r = 0; r < 3; r++) {
            RoundLoop.trainRound(sc, spark, tm, d::minibatches, 2, 2L * r, 2, r + 1, 3);
            INDArray pSum = null;
            INDArray sSum = null;
            INDArray qSum = null;
            for (int w = 0; w < 2; w++) {
                local[w].params().assign(params);
                local[w].getUpdater().getStateViewArray().assign(state);
                INDArray deflated = org.nd4j.linalg.factory.Nd4j.zeros(state.dataType(), c.length());
                for (MultiDataSet b : d.minibatches(w, 2L * r, 2)) {
                    local[w].fit(b);
                    if (excess != null) {
                        c.deflate(local[w].getUpdater().getStateViewArray(), deflated, excess);
                    }
                }
                INDArray s = local[w].getUpdater().getStateViewArray();
                pSum = pSum == null ? local[w].params().dup() : pSum.addi(local[w].params());
                sSum = sSum == null ? s.dup() : sSum.addi(s);
                qSum = qSum == null ? c.firstMomentSquares(s) : qSum.addi(c.firstMomentSquares(s));
            }
            params = pSum.divi(2);
            state = sSum.divi(2);
            excess = c.excess(state, qSum.divi(2), 2);
            assertClose(params, spark.getNetwork().params(), 1e-5, "round " + (r + 1) + ": parameters");
            assertClose(state, spark.getNetwork().getUpdater().getStateViewArray(), 1e-5, "round " + (r + 1)
                + ": Adam state");
            assertClose(excess, tm.excess(), 1e-4, "round " + (r + 1) + ": the driver's estimate");
        }
        assertTrue(excess.sumNumber().doubleValue() > 0, "no excess estimated: nothing is tested");
        // the same rounds with the mean second moment end elsewhere (the deflation did something)
        ComputationGraph plain = TransformerLm.create(micro(), opt, 9);
        RoundTrainingMaster tp = RoundTrainingMaster.create(2, 4, 2, 1);
        SparkComputationGraph sp = new SparkComputationGraph(sc, plain, tp);
        for (int r = 0; r < 3; r++) {
            RoundLoop.trainRound(sc, sp, tp, d::minibatches, 2, 2L * r, 2, r + 1, 3);
        }
        double diff = sp.getNetwork().getUpdater().getStateViewArray().sub(state).norm2Number().doubleValue()
            / state.norm2Number().doubleValue();
        assertTrue(diff > 1e-3, "the combined second moment changed nothing: " + diff);
        long n = distributed.numParams() + distributed.getUpdater().getStateViewArray().length();
        assertEquals(2L * 2 * 4 * n + 2L * 4 * c.length() * 2, tm.bytesLastRound(),
            "parameters and state both ways, the squares of m back, the estimate out");
    }

    @Test
    void resumingWithTheCombinedSecondMomentEndsWhereTheStraightRunEnds() throws IOException {
        Map<String, String> set = new java.util.HashMap<>(MICRO);
        String[] combined = {"--second-moment", "combined"};
        ComputationGraph a = PretrainJob.run(sc, run(tmp.resolve("c-straight"), "tiny", set, 12, 2, 1, false, 0,
            combined)).net();
        Path sliced = tmp.resolve("c-sliced");
        PretrainJob.run(sc, run(sliced, "tiny", set, 12, 2, 2, false, 6, combined));
        assertTrue(Files.exists(sliced.resolve("checkpoints/step-00000006/" + PretrainJob.EXCESS_BLOB)),
            "the estimate is not in the checkpoint");
        PretrainJob.Result rest = PretrainJob.run(sc, run(sliced, "tiny", set, 12, 2, 2, true, 0, combined));
        assertClose(a.params(), rest.net().params(), 1e-5, "parameters after resume");
        assertClose(a.getUpdater().getStateViewArray(), rest.net().getUpdater().getStateViewArray(), 1e-5,
            "Adam state after resume");
        UsageException e = org.junit.jupiter.api.Assertions.assertThrows(UsageException.class,
            () -> PretrainJob.run(sc, run(sliced, "tiny", set, 12, 2, 2, true, 0)));
        assertTrue(e.getMessage().contains("second_moment"), e.getMessage());
        UsageException both = org.junit.jupiter.api.Assertions.assertThrows(UsageException.class,
            () -> run(tmp.resolve("c-both"), "tiny", set, 12, 2, 2, false, 0, "--second-moment", "combined",
                "--keep-worker-state"));
        assertTrue(both.getMessage().contains("keep-worker-state"), both.getMessage());
    }

    @Test
    void keptWorkerStatesCarryEachWorkersOwnMomentsIntoTheNextRound() throws IOException {
        OptimizerConfig opt = new OptimizerConfig(3e-3, 3e-4, 1, 4, 0.1, 1.0, 0.9, 0.95, 1e-8);
        ComputationGraph distributed = TransformerLm.create(micro(), opt, 9);
        LmMinibatches d = data(2, 4);
        RoundTrainingMaster tm = RoundTrainingMaster.create(2, 4, 2, 1).keepWorkerState(true);
        SparkComputationGraph spark = new SparkComputationGraph(sc, distributed, tm);
        RoundLoop.trainRound(sc, spark, tm, d::minibatches, 2, 0, 2, 1, 2);
        RoundLoop.trainRound(sc, spark, tm, d::minibatches, 2, 2, 2, 2, 2);
        // by hand: each worker trains locally, the parameters are averaged after each round, the moments are not
        ComputationGraph[] local = new ComputationGraph[2];
        INDArray mean = null;
        for (int w = 0; w < 2; w++) {
            local[w] = TransformerLm.create(micro(), opt, 9);
            for (MultiDataSet b : d.minibatches(w, 0, 2)) {
                local[w].fit(b);
            }
            mean = mean == null ? local[w].params().dup() : mean.addi(local[w].params());
        }
        mean.divi(2);
        INDArray params = null;
        INDArray state = null;
        for (int w = 0; w < 2; w++) {
            local[w].params().assign(mean);
            for (MultiDataSet b : d.minibatches(w, 2, 2)) {
                local[w].fit(b);
            }
            params = params == null ? local[w].params().dup() : params.addi(local[w].params());
            INDArray s = local[w].getUpdater().getStateViewArray();
            state = state == null ? s.dup() : state.addi(s);
            assertClose(s, tm.workerState(w), 1e-5, "worker " + w + "'s own Adam state after two rounds");
        }
        assertTrue(local[0].getUpdater().getStateViewArray().sub(local[1].getUpdater().getStateViewArray())
            .norm2Number().doubleValue() > 1e-6, "the two workers' states do not differ: nothing is tested");
        assertClose(params.divi(2), spark.getNetwork().params(), 1e-5, "parameters: the mean of the workers'");
        assertClose(state.divi(2), spark.getNetwork().getUpdater().getStateViewArray(), 1e-5,
            "the driver's Adam state: the mean of the workers' kept states");
        assertEquals(2L * 2 * 4 * (distributed.numParams() + distributed.getUpdater().getStateViewArray().length()),
            tm.bytesLastRound(), "each worker is sent only its own state");
    }
}
