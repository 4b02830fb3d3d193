package org.sparklm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.sparklm.checkpoint.Checkpoint;
import org.sparklm.checkpoint.CheckpointStore;
import org.sparklm.finetune.ClassifierModel;
import org.sparklm.finetune.FinetuneConfig;
import org.sparklm.finetune.FinetuneRun;
import org.sparklm.finetune.FinetunedModel;
import org.sparklm.io.Json;
import org.sparklm.io.Sha256;
import org.sparklm.model.TrainableParams;
import org.sparklm.model.TransformerConfig;
import org.sparklm.pretrain.PretrainedModel;
import org.sparklm.jobs.MainRun.Outcome;
import org.sparklm.train.Objective;

/**
 * {@code export} and {@code import} of fine-tuned classifiers through the entry point, as deploy/bin runs them:
 * {@code classify} prints the same lines for the imported classifier as for the original; {@code --layout peft}
 * writes PEFT's adapter directory; bad input is one error line, exit code 2, nothing written. No Spark context.
 */
class ExportClassifierCommandsTest {
    @TempDir
    static Path tmp;
    private static Checkpoint clm;
    private static Checkpoint mlm;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TEXTS = "the quick brown fox\nlazy dog\nover the lazy dog jumps\nfox\n";

    private static Outcome withInput(String stdin, String... args) {
        return MainRun.withInput(stdin, args);
    }

    private static Outcome run(String... args) {
        return withInput("", args);
    }

    /** A pretrained checkpoint with random parameters (d 16, 2 blocks, context 16). */
    private static Checkpoint base(String name, Objective objective, long seed) throws IOException {
        return RandomCheckpoint.write(tmp.resolve(name), objective, seed, 64);
    }

    /** A fine-tuning run directory with one classifier checkpoint whose trainable parameters are random. */
    private static Path classifier(String name, Checkpoint base, Objective objective, FinetuneConfig.Method method,
                                   List<String> targets, long seed) throws IOException {
        TransformerConfig model;
        byte[] tok;
        try (InputStream in = base.open(PretrainedModel.TOKENIZER_BLOB)) {
            tok = in.readAllBytes();
        }
        ComputationGraph pretrained = PretrainedModel.network(base, false);
        model = PretrainedModel.load(new Configuration(), base.dir().toString(), "test", null).run().model();
        String sha = method == FinetuneConfig.Method.FULL ? null
            : base.manifest().blob(PretrainedModel.MODEL_BLOB).orElseThrow().sha256();
        FinetuneRun run = new FinetuneRun(base.dir().toString(), sha, Sha256.of(tok), objective, model, method, 4, 8,
            0, targets, 16, 0, FinetuneConfig.Pooling.MEAN, List.of("animals", "colours", "speed"), 12,
            FinetuneConfig.Init.PRETRAINED, 1, 4, 1, 1, 8, 2, 4, 1e-3, 1e-4, 1, 0.01, 1.0, 0.1, 7, "local[1]");
        Nd4j.getRandom().setSeed(seed);
        ComputationGraph net = ClassifierModel.create(run, pretrained, DataType.FLOAT);
        TrainableParams t = TrainableParams.of(net);
        INDArray v = t.extract(net.params());
        v.addi(Nd4j.randn(DataType.FLOAT, v.shape()).muli(0.5));
        t.insert(v, net.params());
        ObjectNode state = Json.object();
        state.put("step", 4);
        state.set("run", run.toJson());
        Path dir = tmp.resolve(name);
        CheckpointStore.open(new Configuration(), dir.toString(), 1).write(4, state,
            FinetunedModel.blobs(net, run.labelSet(), tok));
        return dir;
    }

    @BeforeAll
    static void bases() throws IOException {
        clm = base("clm", Objective.CLM, 1);
        mlm = base("mlm", Objective.MLM, 2);
    }

    private static String path(String name) {
        return tmp.resolve(name).toString();
    }

    @Test
    void classifyPrintsTheSameForTheImportedClassifier() throws IOException {
        for (FinetuneConfig.Method method : FinetuneConfig.Method.values()) {
            String name = "c-" + method.key();
            Path cp = classifier(name, clm, Objective.CLM, method, method == FinetuneConfig.Method.LORA
                ? List.of("q", "v", "mlp") : List.of(), 10 + method.ordinal());
            Outcome ex = run("export", "--checkpoint", cp.toString(), "--output", path(name + "-native"), "--layout",
                "native");
            assertEquals(0, ex.code(), ex.err());
            JsonNode summary = JSON.readTree(ex.out());
            assertEquals("classifier", summary.get("kind").asText());
            assertEquals(method.key(), summary.get("method").asText());
            Outcome im = run("import", "--input", path(name + "-native"), "--output", path(name + "-imported"));
            assertEquals(0, im.code(), im.err());
            assertEquals("classifier", JSON.readTree(im.out()).get("kind").asText());
            Outcome a = withInput(TEXTS, "classify", "--model", cp.toString(), "--top-k", "3");
            Outcome b = withInput(TEXTS, "classify", "--model", path(name + "-imported"), "--top-k", "3");
            assertEquals(0, a.code(), a.err());
            assertEquals(4, a.out().strip().lines().count());
            assertEquals(a.out(), b.out(), method.key());
        }
        // the imported LoRA classifier still merges
        Outcome merge = run("finetune-merge", "--model", path("c-lora-imported"), "--output", path("c-lora-merged"));
        assertEquals(0, merge.code(), merge.err());
    }

    @Test
    void peftLayoutWritesPeftsAdapterDirectory() throws IOException {
        Path cp = classifier("p-lora", clm, Objective.CLM, FinetuneConfig.Method.LORA, List.of("q", "k", "v", "o"),
            20);
        assertEquals(0, run("export", "--checkpoint", clm.dir().toString(), "--output", path("p-base-hf")).code());
        Outcome ex = run("export", "--checkpoint", cp.toString(), "--output", path("p-adapter"), "--layout", "peft",
            "--peft-base", path("p-base-hf"));
        assertEquals(0, ex.code(), ex.err());
        JsonNode summary = JSON.readTree(ex.out());
        assertEquals("peft", summary.get("layout").asText());
        // 2 blocks x (c_attn, attn.c_proj) x (A, B) + score weight and bias
        assertEquals(10, summary.get("tensors").asInt());
        Path dir = tmp.resolve("p-adapter");
        for (String f : List.of("adapter_config.json", "adapter_model.safetensors", "sparklm_classifier.json",
            "labels.json", "tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt")) {
            assertTrue(Files.exists(dir.resolve(f)), f);
        }
        JsonNode c = JSON.readTree(dir.resolve("adapter_config.json").toFile());
        assertEquals(path("p-base-hf"), c.get("base_model_name_or_path").asText());
        assertEquals(12, c.get("rank_pattern").get("c_attn").asInt(), "q, k, v at rank 4");
        assertEquals(24, c.get("alpha_pattern").get("c_attn").asInt());
        Outcome again = run("export", "--checkpoint", cp.toString(), "--output", path("p-adapter2"), "--layout",
            "peft");
        assertEquals(0, again.code(), again.err());
        assertEquals(clm.dir().toString(), JSON.readTree(tmp.resolve("p-adapter2/adapter_config.json").toFile())
            .get("base_model_name_or_path").asText(), "by default the base checkpoint the classifier names");
    }

    /** One error line naming the command, exit code 2, and {@code output} not created. */
    private static void badInput(String expected, String output, String... args) {
        Outcome o = run(args);
        assertEquals(2, o.code(), o.err());
        assertEquals(1, o.err().strip().lines().count(), o.err());
        assertTrue(o.err().startsWith("sparklm " + args[0] + ": error: "), o.err());
        assertTrue(o.err().contains(expected), "expected '" + expected + "' in " + o.err());
        assertFalse(Files.exists(Path.of(output)), output + " was written");
    }

    @Test
    void badInputIsOneErrorLineExitCode2AndNothingWritten() throws IOException {
        Path full = classifier("b-full", clm, Objective.CLM, FinetuneConfig.Method.FULL, List.of(), 30);
        Path mlmLora = classifier("b-mlm", mlm, Objective.MLM, FinetuneConfig.Method.LORA, List.of("q", "v"), 31);
        Path prefix = classifier("b-prefix", clm, Objective.CLM, FinetuneConfig.Method.PREFIX, List.of(), 32);
        String out = path("never");
        badInput("full classifier; PEFT's LoRA layout holds LoRA adapters only (use --layout native)", out,
            "export", "--checkpoint", full.toString(), "--output", out, "--layout", "peft");
        badInput("prefix classifier", out, "export", "--checkpoint", prefix.toString(), "--output", out, "--layout",
            "peft");
        badInput("adapts a masked-LM (mlm) base", out, "export", "--checkpoint", mlmLora.toString(), "--output", out,
            "--layout", "peft");
        badInput("is a pretrained language model, not a LoRA classifier", out, "export", "--checkpoint",
            clm.dir().toString(), "--output", out, "--layout", "peft");
        badInput("--layout hf", out, "export", "--checkpoint", full.toString(), "--output", out);
        Files.createDirectories(tmp.resolve("b-plain"));
        Files.writeString(tmp.resolve("b-plain/labels.json"), "{\"labels\": [\"a\", \"b\"]}\n");
        badInput("is neither a checkpoint nor a run directory", out, "export", "--checkpoint", path("b-plain"),
            "--output", out, "--layout", "native");
        badInput("--peft-base is for --layout peft", out, "export", "--checkpoint", full.toString(), "--output", out,
            "--layout", "native", "--peft-base", path("b-plain"));
        badInput("--layout must be one of hf, native, peft", out, "export", "--checkpoint", full.toString(),
            "--output", out, "--layout", "onnx");
        Path lora = classifier("b-lora", clm, Objective.CLM, FinetuneConfig.Method.LORA, List.of("q"), 33);
        assertEquals(0, run("export", "--checkpoint", lora.toString(), "--output", path("b-adapter"), "--layout",
            "peft").code());
        badInput("is a PEFT adapter directory", out, "import", "--input", path("b-adapter"), "--output", out);
    }
}
