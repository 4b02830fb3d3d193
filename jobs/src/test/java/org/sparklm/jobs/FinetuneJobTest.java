package org.sparklm.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.sparklm.jobs.MainRun.capture;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.sparklm.UsageException;
import org.sparklm.data.DocFormat;
import org.sparklm.finetune.ClassBatches;
import org.sparklm.finetune.ClassifierModel;
import org.sparklm.finetune.EpochPlan;
import org.sparklm.finetune.ExampleEncoder;
import org.sparklm.finetune.ExampleSet;
import org.sparklm.finetune.FinetuneConfig;
import org.sparklm.finetune.FinetuneRun;
import org.sparklm.finetune.FinetunedModel;
import org.sparklm.finetune.LabelSet;
import org.sparklm.finetune.LabelledText;
import org.sparklm.io.Json;
import org.sparklm.model.TrainableParams;
import org.sparklm.pretrain.PretrainedModel;
import org.sparklm.tokenizer.SpecialTokens;
import org.sparklm.tokenizer.bpe.BpeMode;
import org.sparklm.tokenizer.bpe.BpeModel;
import org.sparklm.tokenizer.bpe.BpeTokenizer;
import org.sparklm.tokenizer.bpe.TokenizerFiles;

/**
 * {@code finetune} in local mode on a small pretrained model and an easy labelled task (the class is named by a
 * keyword at the start of each text): every method trains and writes its outputs, one worker equals local training
 * of the trainable parameters, frozen parameters are bitwise the pretrained ones, classify and finetune-merge agree
 * with the classifier, and bad input is one error line with nothing written.
 */
class FinetuneJobTest extends SparkTestBase {
    @TempDir
    static Path tmp;
    static Path base;
    static Path train;
    static Path val;
    static Path valJsonl;

    static final String[] KEYWORDS = {"football", "telescope", "election"};
    static final String[] LABELS = {"sports", "science", "politics"};

    @BeforeAll
    static void pretrainedModelAndLabelledText() throws Exception {
        List<String> lines = BpeTrainJobTest.brownLines(3000);
        BpeModel model = BpeTrainJobTest.direct(lines, BpeMode.BYTE, 600);
        Path tok = tmp.resolve("tok");
        TokenizerFiles.save(model, tok);
        Path corpus = tmp.resolve("corpus.txt");
        Files.write(corpus, lines);
        Path shards = tmp.resolve("shards");
        ShardJob.run(sc, new ShardJob.Params(List.of(corpus.toString()), tok.toString(), shards.toString(), 0.05, 2,
            DocFormat.LINE, "text", 1, "[EOS]", 2, false, false));
        base = tmp.resolve("base");
        PretrainJob.run(sc, PretrainJobTest.config("--data", shards.toString(), "--output", base.toString(),
            "--model-set", "layers=1,d_model=32,heads=2,d_ff=64,context_length=24,dropout=0", "--steps", "16",
            "--averaging-frequency", "4", "--workers", "2", "--batch-size-per-worker", "8", "--lr", "3e-3",
            "--eval-windows", "16"));
        List<String> tr = new ArrayList<>();
        List<String> va = new ArrayList<>();
        List<String> vj = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            int c = i % 3;
            String text = KEYWORDS[c] + ": " + lines.get(1000 + i);
            if (i < 240) {
                tr.add(LABELS[c] + "\t" + text);
            } else {
                va.add(LABELS[c] + "\t" + text);
                vj.add(Json.MAPPER.writeValueAsString(Map.of("text", text, "label", LABELS[c], "id", i)));
            }
        }
        train = tmp.resolve("train.tsv");
        Files.write(train, tr);
        val = tmp.resolve("val.tsv");
        Files.write(val, va);
        valJsonl = tmp.resolve("val.jsonl");
        Files.write(valJsonl, vj);
    }

    static FinetuneConfig config(String... args) {
        return FinetuneJob.commandLine().parse(args);
    }

    static List<String> args(Path out, String method, String... more) {
        List<String> a = new ArrayList<>(List.of("--checkpoint", base.toString(), "--train", train.toString(),
            "--val", val.toString(), "--output", out.toString(), "--format", "tsv", "--method", method,
            "--batch-size-per-worker", "8", "--averaging-frequency", "2", "--workers", "2", "--seed", "5"));
        a.addAll(List.of(more));
        return a;
    }

    private static FinetuneJob.Result finetune(Path out, String method, String... more) throws IOException {
        return FinetuneJob.run(sc, config(args(out, method, more).toArray(String[]::new)));
    }

    @Test
    void fullFineTuningLearnsTheTaskAndWritesItsOutputs() throws IOException {
        Path out = tmp.resolve("full");
        FinetuneJob.Result r = finetune(out, "full", "--epochs", "4", "--lr", "3e-3");
        JsonNode result = Json.MAPPER.readTree(out.resolve("result.json").toFile());
        double acc = result.path("final").path("val").path("accuracy").asDouble();
        assertTrue(acc > 0.9, "validation accuracy " + acc + " on an easy task");
        assertEquals(1.0 / 3, result.path("majority_class_accuracy").asDouble(), 1e-9);
        assertEquals(r.net().numParams(), result.path("trainable_parameters").asLong());
        assertEquals(240, result.path("data").path("train").path("examples").asLong());
        assertEquals(60, result.path("data").path("val").path("examples").asLong());
        assertTrue(result.path("best").path("val_accuracy").asDouble() >= acc - 1e-12);
        assertEquals(List.of("politics", "science", "sports"), LabelSet.fromJson(Json.MAPPER.readTree(
            out.resolve("labels.json").toFile())).labels());
        String html = Files.readString(out.resolve("report.html"));
        assertTrue(html.contains("Confusion matrix") && html.contains("<polyline"), "report without curves/matrix");
        List<String> metrics = Files.readAllLines(out.resolve("metrics.jsonl"));
        assertEquals(r.run().rounds(), metrics.size());
        JsonNode lastRound = Json.MAPPER.readTree(metrics.get(metrics.size() - 1));
        assertTrue(lastRound.has("val_accuracy") && lastRound.has("val_macro_f1") && lastRound.has("bytes_per_round"),
            lastRound.toString());
        assertTrue(Files.isDirectory(out.resolve("best/checkpoints")), "no best classifier");
        // steps: 240 examples / (2 workers x 8) = 15 per epoch, 4 epochs = 60 steps, whole rounds of 2
        assertEquals(15, r.run().stepsPerEpoch());
        assertEquals(60, r.run().steps());

        // classify: standard input and --eval
        String lines = capture(() -> ClassifierCommands.classify(new String[] {"--model", out.toString(), "--top-k",
            "2"}, new ByteArrayInputStream("telescope: the stars were bright\nelection: votes\n"
            .getBytes(StandardCharsets.UTF_8)), System.out));
        String[] outLines = lines.strip().split("\n");
        assertEquals(2, outLines.length);
        assertEquals("science", Json.MAPPER.readTree(outLines[0]).path("label").asText(), lines);
        assertEquals(2, Json.MAPPER.readTree(outLines[1]).path("top").size());
        JsonNode eval = Json.MAPPER.readTree(capture(() -> ClassifierCommands.classify(new String[] {"--model",
            out.resolve("best").toString(), "--eval", valJsonl.toString()}, System.in, System.out)));
        assertEquals(60, eval.path("examples").asLong());
        assertEquals(result.path("best").path("val_accuracy").asDouble(), eval.path("accuracy").asDouble(), 1e-9,
            "classify --eval on best/ agrees with the job's best validation accuracy");
    }

    @Test
    void parameterEfficientMethodsKeepThePretrainedWeightsAndSendLess() throws IOException {
        ComputationGraph pretrained = PretrainedModel.network(PretrainedModel.locate(new Configuration(),
            base.toString(), "test"), false);
        long fullBytes = 0;
        for (String method : new String[] {"full", "head", "lora", "prefix"}) {
            Path out = tmp.resolve("m-" + method);
            FinetuneJob.Result r = finetune(out, method, "--epochs", "1", "--prefix-length", "4",
                "--lora-targets", "q,v,mlp");
            JsonNode result = Json.MAPPER.readTree(out.resolve("result.json").toFile());
            long bytes = result.path("bytes_per_round").asLong();
            if (method.equals("full")) {
                fullBytes = bytes;
                continue;
            }
            assertTrue(bytes * 5 < fullBytes, method + " sends " + bytes + " bytes per round, full " + fullBytes);
            FinetunedModel m = FinetunedModel.load(new Configuration(), out.toString(), "test", false);
            for (Layer l : pretrained.getLayers()) {
                String name = l.conf().getLayer().getLayerName();
                Layer t = m.net().getLayer(name.equals("head") ? ClassifierModel.HEAD : name);
                for (var e : l.paramTable().entrySet()) {
                    INDArray after = t.paramTable().get(e.getKey());
                    if (after == null) {
                        continue;   // the LM head's matrix: not in a classifier
                    }
                    assertArrayEquals(e.getValue().data().asFloat(), after.dup().data().asFloat(),
                        method + ": pretrained " + name + "." + e.getKey() + " changed");
                }
            }
            assertTrue(result.path("trainable_fraction").asDouble() < 0.2, method + ": "
                + result.path("trainable_fraction"));
            assertEquals(TrainableParams.of(r.net()).count(), result.path("trainable_parameters").asLong());
        }
    }

    @Test
    void oneWorkerEqualsLocalTrainingOfTheTrainableParameters() throws IOException {
        Path out = tmp.resolve("w1");
        // batches of 7 out of 240 examples: minibatches of 7 and 6 examples of different lengths, trained as they are
        FinetuneJob.Result r = finetune(out, "lora", "--workers", "1", "--epochs", "1", "--lora-targets",
            "q,k,v,o", "--head-dropout", "0", "--batch-size-per-worker", "7");
        FinetuneRun run = r.run();
        assertEquals(36, run.steps());
        // the same steps locally, from the same initial classifier
        ComputationGraph pretrained = PretrainedModel.network(PretrainedModel.locate(new Configuration(),
            base.toString(), "test"), false);
        Nd4j.getRandom().setSeed(run.seed());
        ComputationGraph local = ClassifierModel.create(run, pretrained, DataType.FLOAT);
        BpeTokenizer tok = PretrainedModel.tokenizer(PretrainedModel.locate(new Configuration(), base.toString(),
            "test"));
        SpecialTokens sp = tok.specialTokens();
        ExampleEncoder enc = new ExampleEncoder(new LabelledText(LabelledText.Format.TSV, "text", "label"), -1,
            sp.idOf(SpecialTokens.EOS), run.maxLength());
        LabelSet labels = run.labelSet();
        List<ExampleSet.Encoded> ex = new ArrayList<>();
        ExampleEncoder.Stats stats = new ExampleEncoder.Stats();
        for (String line : Files.readAllLines(train)) {
            byte[] b = line.getBytes(StandardCharsets.UTF_8);
            ExampleEncoder.Encoded e = enc.encode(tok, "train.tsv", 0, b, 0, b.length, stats);
            ex.add(new ExampleSet.Encoded(e.tokens(), labels.id(e.label())));
        }
        ExampleSet set = new ExampleSet(ex);
        EpochPlan plan = new EpochPlan(set.size(), 1, 7, run.seed());
        assertEquals(6, plan.minibatch(34, 0).length, "uneven minibatches");
        for (long s = 0; s < run.steps(); s++) {
            if (s % run.averagingFrequency() == 0) {
                Nd4j.getRandom().setSeed(run.seed() * 31 + s * 1_000_003L);
            }
            local.fit(ClassBatches.of(set, plan.minibatch(s, 0), sp.idOf(SpecialTokens.PAD)));
        }
        TrainableParams t = TrainableParams.of(local);
        INDArray a = t.extract(local.params());
        INDArray b = t.extract(r.net().params());
        double diff = a.sub(b).norm2Number().doubleValue() / a.norm2Number().doubleValue();
        assertTrue(diff < 1e-4, "relative difference " + diff);
        INDArray frozenLocal = local.params().dup();
        INDArray frozenJob = r.net().params().dup();
        t.insert(Nd4j.zeros(DataType.FLOAT, 1, t.count()), frozenLocal);
        t.insert(Nd4j.zeros(DataType.FLOAT, 1, t.count()), frozenJob);
        assertEquals(frozenLocal, frozenJob, "frozen parts differ");
    }

    @Test
    void loraMergesIntoAStandaloneClassifierWithTheSamePredictions() throws IOException {
        Path out = tmp.resolve("lora-merge");
        finetune(out, "lora", "--epochs", "2", "--lora-targets", "q,v,o,mlp", "--lr", "5e-3");
        Path merged = tmp.resolve("merged");
        capture(() -> ClassifierCommands.merge(new String[] {"--model", out.toString(), "--output",
            merged.toString()}, System.out));
        FinetunedModel adapter = FinetunedModel.load(new Configuration(), out.toString(), "test", false);
        FinetunedModel standalone = FinetunedModel.load(new Configuration(), merged.toString(), "test", false);
        assertEquals(FinetuneConfig.Method.FULL, standalone.run().method());
        List<String> texts = new ArrayList<>();
        for (String line : Files.readAllLines(valJsonl)) {
            texts.add(Json.MAPPER.readTree(line).path("text").asText());
        }
        float[][] p = adapter.probabilities(texts, 16);
        float[][] q = standalone.probabilities(texts, 16);
        for (int i = 0; i < p.length; i++) {
            for (int k = 0; k < p[i].length; k++) {
                assertEquals(p[i][k], q[i][k], 1e-5, "text " + i + " class " + k);
            }
        }
        assertThrows(org.sparklm.io.AtomicOutput.OutputExistsException.class, () -> ClassifierCommands.merge(
            new String[] {"--model", out.toString(), "--output", merged.toString()}, System.out));
    }

    @Test
    void badInputIsOneErrorAndWritesNothing() throws IOException {
        Path out = tmp.resolve("bad");
        java.util.function.Function<List<String>, String> fails = a -> {
            Exception e = assertThrows(Exception.class, () -> FinetuneJob.run(sc, config(a.toArray(String[]::new))));
            assertTrue(e instanceof UsageException || e instanceof java.io.FileNotFoundException, e.toString());
            assertFalse(Files.exists(out), "something was written for " + a);
            return e.getMessage();
        };
        Path unseen = tmp.resolve("unseen.tsv");
        Files.writeString(unseen, "weather\tfootball: x\n");
        String m = fails.apply(replace(args(out, "full"), "--val", unseen.toString()));
        assertTrue(m.contains("weather") && m.contains("never"), m);
        Path empty = tmp.resolve("empty.tsv");
        Files.writeString(empty, "\n\n");
        assertTrue(fails.apply(replace(args(out, "full"), "--train", empty.toString())).contains("no labelled example"));
        Path noLabel = tmp.resolve("nolabel.jsonl");
        Files.writeString(noLabel, "{\"text\": \"a\"}\n{\"text\": \"b\"}\n");
        m = fails.apply(replace(replace(replace(args(out, "full"), "--train", noLabel.toString()), "--format", "jsonl"),
            "--val", valJsonl.toString()));
        assertTrue(m.contains("no label field 'label'") && m.contains(":1"), m);
        m = assertThrows(UsageException.class, () -> config(args(out, "lora", "--lora-targets", "q,x")
            .toArray(String[]::new))).getMessage();
        assertTrue(m.contains("unknown target 'x'"), m);
        m = assertThrows(UsageException.class, () -> config(args(out, "lora", "--lora-rank", "0")
            .toArray(String[]::new))).getMessage();
        assertTrue(m.contains("--lora-rank"), m);
        m = fails.apply(replace(args(out, "full"), "--checkpoint", tmp.resolve("shards").toString()));
        assertTrue(m.contains("neither a checkpoint"), m);
        assertFalse(Files.exists(out));

        // an adapter loaded on another base: the base checkpoint's model changed after training
        Path lora = tmp.resolve("lora-base");
        Path copy = tmp.resolve("base-copy");
        copyTree(base, copy);
        FinetuneJob.run(sc, config(replace(args(lora, "lora", "--epochs", "0.2"), "--checkpoint", copy.toString())
            .toArray(String[]::new)));
        // replace the base's model by another pretrained run's model (same shapes, other weights)
        Path otherBase = tmp.resolve("other-base");
        PretrainJob.run(sc, PretrainJobTest.config("--data", tmp.resolve("shards").toString(), "--output",
            otherBase.toString(), "--model-set", "layers=1,d_model=32,heads=2,d_ff=64,context_length=24,dropout=0",
            "--steps", "4", "--averaging-frequency", "4", "--workers", "1", "--seed", "99", "--eval-windows", "8"));
        copyTree(otherBase, copy, true);
        String msg = assertThrows(UsageException.class, () -> FinetunedModel.load(new Configuration(),
            lora.toString(), "classify", false)).getMessage();
        assertTrue(msg.contains("another base"), msg);
    }

    private static List<String> replace(List<String> args, String option, String value) {
        List<String> a = new ArrayList<>(args);
        int i = a.indexOf(option);
        if (i < 0) {
            a.add(option);
            a.add(value);
        } else {
            a.set(i + 1, value);
        }
        return a;
    }

    private static void copyTree(Path from, Path to) throws IOException {
        copyTree(from, to, false);
    }

    private static void copyTree(Path from, Path to, boolean replace) throws IOException {
        if (replace && Files.exists(to)) {
            try (var s = Files.walk(to)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        try (var s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t);
                }
            }
        }
    }
}
