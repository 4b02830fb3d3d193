package org.sparklm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.sparklm.jobs.MainRun.capture;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.sparklm.UsageException;
import org.sparklm.data.DocFormat;
import org.sparklm.data.ShardManifest;
import org.sparklm.data.ShardWindows;
import org.sparklm.io.SerializableConf;
import org.sparklm.model.Seq2SeqModel;
import org.sparklm.model.TransformerConfig;
import org.sparklm.pretrain.PretrainedModel;
import org.sparklm.model.TransformerLm;
import org.sparklm.pretrain.PretrainConfig;
import org.sparklm.report.RoundMetrics;
import org.sparklm.tokenizer.SpecialTokens;
import org.sparklm.tokenizer.bpe.BpeMode;
import org.sparklm.tokenizer.bpe.BpeModel;
import org.sparklm.tokenizer.bpe.TokenizerFiles;
import org.sparklm.train.LmMinibatches;
import org.sparklm.train.Objective;
import org.sparklm.train.OptimizerConfig;
import org.sparklm.train.Seq2SeqSpec;

/**
 * Encoder-decoder pretraining (span, prefix-lm) through the pretrain job, and the commands on its checkpoints:
 * one-worker averaging equals local training, a short span run lowers the validation loss from about ln V,
 * fill-spans and generate on prefix-lm, and the bad inputs.
 */
class Seq2SeqPretrainTest extends SparkTestBase {
    @TempDir
    static Path tmp;
    private static Path tokDir;
    private static Path shards;
    private static ShardManifest manifest;

    /** A very small encoder-decoder. */
    private static final Map<String, String> MICRO = Map.of("d_model", "32", "heads", "2", "d_ff", "64",
        "encoder_layers", "1", "decoder_layers", "1", "encoder_context_length", "24", "decoder_context_length", "12");

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

    private static TransformerConfig micro() {
        Map<String, String> set = new java.util.HashMap<>(MICRO);
        set.put("vocab_size", Integer.toString(manifest.vocabSize()));
        return TransformerConfig.load("t5-tiny", set);
    }

    private static String modelSet(Map<String, String> set) {
        return PretrainJobTest.modelSet(set);
    }

    private static PretrainConfig run(Path out, String objective, String model, Map<String, String> set, long steps,
                                      String... more) {
        List<String> a = new ArrayList<>(List.of("--data", shards.toString(), "--tokenizer", tokDir.toString(),
            "--output", out.toString(), "--model", model, "--model-set", modelSet(set), "--objective", objective,
            "--steps", "" + steps, "--batch-size-per-worker", "8", "--averaging-frequency", "4", "--workers", "2",
            "--lr", "3e-3", "--min-lr", "3e-4", "--warmup-steps", "3", "--weight-decay", "0.1", "--grad-clip", "1.0",
            "--eval-every", "4", "--eval-windows", "32", "--checkpoint-every", "8", "--keep-checkpoints", "1",
            "--seed", "3"));
        a.addAll(List.of(more));
        return PretrainJobTest.config(a.toArray(String[]::new));
    }

    private static void assertClose(INDArray expected, INDArray actual, double tol, String what) {
        double diff = expected.sub(actual).norm2Number().doubleValue();
        double scale = expected.norm2Number().doubleValue();
        assertTrue(diff <= tol * scale, what + ": relative difference " + diff / scale);
    }

    @Test
    void oneWorkerParameterAveragingOnSpanEqualsLocalTraining() throws IOException {
        OptimizerConfig opt = new OptimizerConfig(3e-3, 3e-4, 2, 6, 0.1, 1.0, 0.9, 0.95, 1e-8);
        TransformerConfig c = micro();
        ComputationGraph distributed = TransformerLm.create(c, opt, 5);
        ComputationGraph local = TransformerLm.create(c, opt, 5);
        assertEquals(local.params(), distributed.params());
        BpeModel tok = TokenizerFiles.load(tokDir);
        Seq2SeqSpec spec = Seq2SeqSpec.of(Objective.SPAN, tok.specialTokens(), c.encoderContext(),
            c.decoderContext(), 0.15, 3.0, 0.25, 0.75);
        LmMinibatches d = new LmMinibatches(shards.toString(), manifest, Objective.SPAN, c.contextLength(), 4, 1, 7,
            4, tok.specialTokens().size(), new SerializableConf(sc.hadoopConfiguration()), spec);
        RoundTrainingMaster tm = RoundTrainingMaster.create(1, 4, 3, 1);
        SparkComputationGraph spark = new SparkComputationGraph(sc, distributed, tm);
        for (int r = 0; r < 2; r++) {
            RoundLoop.trainRound(sc, spark, tm, d::minibatches, 1, r * 3L, 3, r + 1, 2);
        }
        List<MultiDataSet> batches = d.minibatches(0, 0, 6);
        assertEquals(2, batches.get(0).getFeatures().length, "encoder and decoder inputs");
        for (MultiDataSet b : batches) {
            local.fit(b);
        }
        assertEquals(6, spark.getNetwork().getConfiguration().getIterationCount());
        assertTrue(local.params().sub(TransformerLm.create(c, opt, 5).params()).norm2Number().doubleValue() > 1e-3,
            "training moved the parameters");
        assertClose(local.params(), spark.getNetwork().params(), 1e-4, "parameters");
        assertClose(local.getUpdater().getStateViewArray(), spark.getNetwork().getUpdater().getStateViewArray(),
            1e-4, "Adam state");
    }

    @Test
    void aShortSpanRunLowersTheValidationLossAndFillsSpans() throws IOException {
        Path out = tmp.resolve("span");
        PretrainJob.Result r = PretrainJob.run(sc, run(out, "span", "t5-tiny", MICRO, 32));
        List<RoundMetrics> m = r.metrics();
        double first = r.untrainedValLoss();
        double last = m.get(m.size() - 1).valLoss();
        assertTrue(Math.abs(first - Math.log(manifest.vocabSize())) < 0.5, "untrained loss " + first
            + " should be about ln(V) = " + Math.log(manifest.vocabSize()));
        assertTrue(last < first - 1.0, "validation loss " + first + " -> " + last);

        String eval = capture(() -> ModelCommands.evaluate(new String[] {"--checkpoint",
            out.toString(), "--data", shards.toString(), "--eval-windows", "32", "--batch-size", "8"}, System.out));
        var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(eval);
        assertEquals("span", json.path("objective").asText());
        assertEquals(last, json.path("loss").asDouble(), 1e-3, eval);
        assertEquals(Math.exp(last), json.path("perplexity").asDouble(), 1e-2 * Math.exp(last));

        String[] args = {"--checkpoint", out.toString(), "--text", "The <extra_id_0> said Friday <extra_id_1> .",
            "--max-new-tokens", "10"};
        String greedy = capture(() -> ModelCommands.fillSpans(args, System.out));
        String[] lines = greedy.split("\n");
        assertEquals(3, lines.length, greedy);
        assertTrue(lines[0].startsWith("<extra_id_0>\t") && lines[1].startsWith("<extra_id_1>\t"), greedy);
        assertTrue(lines[2].startsWith("The") && !lines[2].contains("extra_id"), greedy);
        assertEquals(greedy, capture(() -> ModelCommands.fillSpans(args, System.out)));
        String beams = capture(() -> ModelCommands.fillSpans(new String[] {"--checkpoint",
            out.toString(), "--text", "The <extra_id_0> said Friday <extra_id_1> .", "--max-new-tokens", "10",
            "--beams", "3"}, System.out));
        assertEquals(3, beams.split("\n").length, beams);

        UsageException e = assertThrows(UsageException.class, () -> ModelCommands.fillSpans(new String[] {
            "--checkpoint", out.toString(), "--text", "no sentinel here"}, System.out));
        assertTrue(e.getMessage().startsWith("fill-spans:") && e.getMessage().contains("sentinel"), e.getMessage());
        e = assertThrows(UsageException.class, () -> ModelCommands.generate(new String[] {"--checkpoint",
            out.toString(), "--prompt", "The jury"}, System.out));
        assertTrue(e.getMessage().contains("span model"), e.getMessage());

        // a clm checkpoint is refused by fill-spans
        Path clm = tmp.resolve("clm");
        PretrainJob.run(sc, run(clm, "clm", "tiny", Map.of("layers", "1", "d_model", "16", "heads", "2",
            "context_length", "16", "dropout", "0"), 4));
        e = assertThrows(UsageException.class, () -> ModelCommands.fillSpans(new String[] {"--checkpoint",
            clm.toString(), "--text", "The <extra_id_0> ."}, System.out));
        assertTrue(e.getMessage().contains("clm model") && e.getMessage().contains("span"), e.getMessage());
    }

    @Test
    void prefixLmTrainsAndGenerates() throws IOException {
        Path out = tmp.resolve("prefix");
        PretrainJob.Result r = PretrainJob.run(sc, run(out, "prefix-lm", "t5-tiny", MICRO, 12));
        double last = r.metrics().get(r.metrics().size() - 1).valLoss();
        assertTrue(last < r.untrainedValLoss() - 0.3, r.untrainedValLoss() + " -> " + last);
        String[] gen = {"--checkpoint", out.toString(), "--prompt", "The jury said", "--temperature", "0",
            "--max-new-tokens", "6"};
        String g = capture(() -> ModelCommands.generate(gen, System.out));
        assertEquals(g, capture(() -> ModelCommands.generate(gen, System.out)), "greedy is deterministic");
        // the prompt went to the encoder: the printed continuation is the decoder's greedy output
        PretrainedModel m = PretrainedModel.load(new Configuration(), out.toString(), "test", null);
        Seq2SeqModel s2s = new Seq2SeqModel(m.model(), Seq2SeqModel.startId(m.tokenizer()));
        int eos = m.tokenizer().specialTokens().idOf(SpecialTokens.EOS);
        int[] prompt = m.tokenizer().encode("The jury said", true);
        int[] enc = java.util.Arrays.copyOf(prompt, prompt.length + 1);
        enc[prompt.length] = eos;
        int[] ids = s2s.generate(enc, 6, 0, 0, 0, eos);
        assertTrue(ids.length >= 1 && (ids.length == 6 || ids[ids.length - 1] == eos), java.util.Arrays.toString(ids));
        String text = m.tokenizer().decode(ids, true);
        assertEquals(("The jury said" + (text.isEmpty() || text.startsWith(" ") ? "" : " ") + text).strip(), g.strip());
        // evaluate-fewshot takes the prefix-lm checkpoint: the encoder reads the prompt, the decoder scores choices
        Path task = tmp.resolve("prefix-task.jsonl");
        java.nio.file.Files.writeString(task, String.join("\n",
            "{\"context\": \"The jury said\", \"choices\": [\"the\", \"it\"], \"gold\": 0}",
            "{\"context\": \"The grand\", \"choices\": [\"jury\", \"of\"], \"gold\": 0}",
            "{\"context\": \"" + "word ".repeat(40).strip() + "\", \"choices\": [\"a\", \"b\"], \"gold\": 1}")
            + "\n");
        String json = capture(() -> ScoreCommands.evaluateFewshot(new String[] {"--checkpoint", out.toString(),
            "--task", task.toString(), "--shots", "0"}, System.out));
        com.fasterxml.jackson.databind.JsonNode res = new com.fasterxml.jackson.databind.ObjectMapper()
            .readTree(json.strip());
        assertEquals(2, res.path("examples").asInt(), json);
        assertEquals(1, res.path("skipped").asInt(), "40 words do not fit the encoder context: " + json);
        double acc = res.path("acc").asDouble();
        assertTrue(acc == 0 || acc == 0.5 || acc == 1, json);
    }

    @Test
    void showBatchUsesTheEncoderDecoderContexts() throws IOException {
        // prefix-lm windows are min(Te, Td) = 12 tokens of MICRO (not its encoder context of 24)
        org.sparklm.pretrain.ShowBatch.Config c = org.sparklm.pretrain.ShowBatch.commandLine().parse(new String[] {
            "--data", shards.toString(), "--objective", "prefix-lm", "--model", "t5-tiny", "--model-set",
            modelSet(MICRO), "--count", "3"});
        List<String> lines = org.sparklm.pretrain.ShowBatch.lines(new Configuration(), c);
        assertEquals(3, lines.size());
        for (String l : lines) {
            var j = new com.fasterxml.jackson.databind.ObjectMapper().readTree(l);
            assertEquals(12, j.path("prefix_tokens").asInt() + j.path("target_ids").size() - 1, l);
        }
    }

    @Test
    void objectiveAndArchitectureMustMatch() {
        Path out = tmp.resolve("mismatch");
        UsageException e = assertThrows(UsageException.class, () -> PretrainJob.run(sc, run(out, "span", "tiny",
            Map.of(), 4)));
        assertTrue(e.getMessage().contains("span") && e.getMessage().contains("encoder-decoder"), e.getMessage());
        e = assertThrows(UsageException.class, () -> PretrainJob.run(sc, run(out, "clm", "t5-tiny", MICRO, 4)));
        assertTrue(e.getMessage().contains("clm") && e.getMessage().contains("decoder-only"), e.getMessage());
        e = assertThrows(UsageException.class, () -> PretrainJob.run(sc, run(out, "mlm", "t5-tiny", MICRO, 4)));
        assertTrue(e.getMessage().contains("mlm"), e.getMessage());
        assertTrue(!Files.exists(out), "nothing written");
        assertTrue(SpecialTokens.DEFAULT.contains(SpecialTokens.sentinel(0)));
    }
}
