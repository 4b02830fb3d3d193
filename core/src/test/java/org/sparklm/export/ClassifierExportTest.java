package org.sparklm.export;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.sparklm.UsageException;
import org.sparklm.checkpoint.Checkpoint;
import org.sparklm.checkpoint.CheckpointStore;
import org.sparklm.finetune.ClassifierModel;
import org.sparklm.finetune.FinetuneConfig.Method;
import org.sparklm.finetune.FinetuneConfig.Pooling;
import org.sparklm.finetune.FinetuneRun;
import org.sparklm.finetune.FinetunedModel;
import org.sparklm.model.TransformerLm;
import org.sparklm.model.dl4j.ClassifierHead;
import org.sparklm.model.dl4j.TransformerBlock;
import org.sparklm.train.Objective;

/**
 * Fine-tuned classifiers leave and come back: the native export holds every parameter under its layer's names and
 * imports as a standalone classifier with bit-identical probabilities; the PEFT export has PEFT's keys, shapes and
 * contiguous offsets, holds our adapters transposed (q/k/v stacked into one c_attn adapter of rank r x T), folds the
 * way PEFT folds a Conv1D into exactly our merged weights, and, applied to the base's hf export by an independent
 * GPT-2 with PEFT's LoRA forward and a score head with bias, gives our probabilities; bad input is one clear error
 * and nothing written.
 */
class ClassifierExportTest {
    @TempDir
    static Path tmp;
    static Checkpoint clmBase;
    static Checkpoint mlmBase;
    static Path baseHf;
    private static final Configuration CONF = new Configuration();
    private static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void bases() throws IOException {
        clmBase = ClassifierFixtures.base(tmp.resolve("clm-base"), Objective.CLM, 3);
        mlmBase = ClassifierFixtures.base(tmp.resolve("mlm-base"), Objective.MLM, 4);
        baseHf = tmp.resolve("clm-base-hf");
        ModelExport.export(CONF, ModelSnapshot.fromCheckpoint(CONF, clmBase.dir().toString(), "test"),
            new Gpt2Layout(), baseHf.toString(), false);
    }

    private static Path classifier(String name, Checkpoint base, Objective o, Method m, List<String> targets,
                                   Pooling p, long seed) throws IOException {
        FinetuneRun run = ClassifierFixtures.run(base, o, m, targets, p);
        return ClassifierFixtures.classifier(tmp.resolve(name), base, run, seed);
    }

    private static ObjectNode export(String checkpoint, String output, String layout) throws IOException {
        return Exporter.export(CONF, new ExportConfig(checkpoint, output, layout, null, false));
    }

    private static float[][] probabilities(String dir) throws IOException {
        return FinetunedModel.load(CONF, dir, "test", false).probabilities(ClassifierFixtures.TEXTS, 2);
    }

    /** A raw safetensors header: the JSON object and where the data starts. */
    private record Raw(JsonNode header, int dataStart, byte[] bytes) {
        static Raw read(Path file) throws IOException {
            byte[] b = Files.readAllBytes(file);
            int n = (int) ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            return new Raw(JSON.readTree(new String(b, 8, n, StandardCharsets.UTF_8)), 8 + n, b);
        }

        List<String> namesInOffsetOrder() {
            List<String> names = new ArrayList<>();
            header.fieldNames().forEachRemaining(k -> {
                if (!k.equals("__metadata__")) {
                    names.add(k);
                }
            });
            names.sort((x, y) -> Long.compare(header.get(x).get("data_offsets").get(0).asLong(),
                header.get(y).get("data_offsets").get(0).asLong()));
            return names;
        }

        List<Long> shape(String name) {
            List<Long> s = new ArrayList<>();
            header.get(name).get("shape").forEach(x -> s.add(x.asLong()));
            return s;
        }

        float[] floats(String name) {
            JsonNode t = header.get(name);
            assertEquals("F32", t.get("dtype").asText());
            int begin = t.get("data_offsets").get(0).asInt();
            int end = t.get("data_offsets").get(1).asInt();
            float[] v = new float[(end - begin) / 4];
            ByteBuffer.wrap(bytes, dataStart + begin, end - begin).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer()
                .get(v);
            return v;
        }

        /** Offsets tile the data section from 0 without gaps, and the data ends with the file. */
        void checkContiguous() {
            long end = 0;
            for (String n : namesInOffsetOrder()) {
                JsonNode t = header.get(n);
                assertEquals(end, t.get("data_offsets").get(0).asLong(), n + ": offsets not contiguous");
                long elements = 1;
                for (JsonNode d : t.get("shape")) {
                    elements *= d.asLong();
                }
                end = t.get("data_offsets").get(1).asLong();
                assertEquals(elements * 4, end - t.get("data_offsets").get(0).asLong(), n + ": size of shape");
            }
            assertEquals(bytes.length - dataStart, end, "data section length");
            assertEquals(0, dataStart % 8, "header padded to 8 bytes");
        }
    }

    private static float[] values(INDArray p) {
        return p.dup('c').data().asFloat();
    }

    @Test
    void nativeExportRoundTripGivesIdenticalProbabilities() throws IOException {
        record Case(String name, Checkpoint base, Objective o, Method m, List<String> targets, Pooling p) {
        }
        List<Case> cases = List.of(
            new Case("full-mean", clmBase, Objective.CLM, Method.FULL, List.of(), Pooling.MEAN),
            new Case("head-last", clmBase, Objective.CLM, Method.HEAD, List.of(), Pooling.LAST),
            new Case("lora-all", clmBase, Objective.CLM, Method.LORA, List.of("q", "k", "v", "o", "mlp"), Pooling.AUTO),
            new Case("prefix-first", mlmBase, Objective.MLM, Method.PREFIX, List.of(), Pooling.FIRST),
            new Case("lora-mlm", mlmBase, Objective.MLM, Method.LORA, List.of("q", "v"), Pooling.MEAN));
        long seed = 11;
        for (Case c : cases) {
            Path cp = classifier("n-" + c.name(), c.base(), c.o(), c.m(), c.targets(), c.p(), seed++);
            Path out = tmp.resolve("n-" + c.name() + "-export");
            ObjectNode summary = export(cp.toString(), out.toString(), "native");
            assertEquals("classifier", summary.get("kind").asText());

            // every parameter of the network, frozen ones included, under VERTEX.KEY with its shape and values
            FinetunedModel original = FinetunedModel.load(CONF, cp.toString(), "test", false);
            Raw raw = Raw.read(out.resolve("model.safetensors"));
            raw.checkContiguous();
            Set<String> expected = new HashSet<>();
            for (Layer l : original.net().getLayers()) {
                String vertex = l.conf().getLayer().getLayerName();
                for (Map.Entry<String, INDArray> e : l.paramTable().entrySet()) {
                    String name = vertex + "." + e.getKey();
                    expected.add(name);
                    assertArrayEquals(values(e.getValue()), raw.floats(name), name);
                }
            }
            assertEquals(expected, new HashSet<>(raw.namesInOffsetOrder()), c.name());
            JsonNode config = JSON.readTree(out.resolve("config.json").toFile());
            assertEquals("transformer-classifier", config.get("architecture").asText());
            assertEquals(c.m().key(), config.get("method").asText());
            assertEquals(ClassifierFixtures.LABELS.size(), config.get("labels").size());
            assertEquals(ClassifierFixtures.LABELS.get(2), JSON.readTree(out.resolve("labels.json").toFile())
                .get("labels").get(2).asText());
            assertTrue(Files.exists(out.resolve("tokenizer.json")) && Files.exists(out.resolve("vocab.json")));

            // import: a standalone classifier with bit-identical probabilities
            Path imported = tmp.resolve("n-" + c.name() + "-imported");
            ObjectNode is = Exporter.importDir(CONF, new ImportConfig(out.toString(), imported.toString(), false));
            assertEquals(ClassifierFixtures.STEP, is.get("step").asLong());
            float[][] p = probabilities(cp.toString());
            float[][] q = probabilities(imported.toString());
            for (int i = 0; i < p.length; i++) {
                assertArrayEquals(p[i], q[i], c.name() + ": text " + i);
            }
            FinetunedModel back = FinetunedModel.load(CONF, imported.toString(), "test", false);
            assertEquals(original.run(), back.run(), "the run is kept as trained");
            assertArrayEquals(values(original.net().params()), values(back.net().params()));
            Checkpoint icp = back.checkpoint();
            assertEquals(c.m() != Method.FULL, icp.manifest().blob(FinetunedModel.FROZEN_BLOB).isPresent(),
                c.name() + ": frozen.bin");
        }
    }

    @Test
    void anImportedClassifierNeedsNoBaseCheckpoint() throws IOException {
        Checkpoint base = ClassifierFixtures.base(tmp.resolve("doomed-base"), Objective.CLM, 8);
        Path cp = classifier("doomed", base, Objective.CLM, Method.LORA, List.of("q", "v"), Pooling.MEAN, 5);
        float[][] p = probabilities(cp.toString());
        export(cp.toString(), tmp.resolve("doomed-export").toString(), "native");
        Exporter.importDir(CONF, new ImportConfig(tmp.resolve("doomed-export").toString(),
            tmp.resolve("doomed-imported").toString(), false));
        try (var s = Files.walk(tmp.resolve("doomed-base"))) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
        assertThrows(UsageException.class, () -> probabilities(cp.toString()), "the adapter needs its base");
        float[][] q = probabilities(tmp.resolve("doomed-imported").toString());
        for (int i = 0; i < p.length; i++) {
            assertArrayEquals(p[i], q[i]);
        }
    }

    /** The PEFT export of a LoRA classifier with targets, pooling; returns the export directory. */
    private static Path peft(String name, List<String> targets, Pooling pooling, long seed) throws IOException {
        Path cp = classifier("p-" + name, clmBase, Objective.CLM, Method.LORA, targets, pooling, seed);
        Path out = tmp.resolve("p-" + name + "-peft");
        Exporter.export(CONF, new ExportConfig(cp.toString(), out.toString(), "peft", baseHf.toString(), false));
        return out;
    }

    private static FinetunedModel loaded(Path peftDir) throws IOException {
        String cp = tmp.resolve(peftDir.getFileName().toString().replace("-peft", "")).toString();
        return FinetunedModel.load(CONF, cp, "test", false);
    }

    @Test
    void peftAdapterFileHasPeftsKeysShapesOffsetsAndOurValues() throws IOException {
        Path out = peft("qvomlp", List.of("v", "q", "o", "mlp"), Pooling.MEAN, 21);
        FinetunedModel m = loaded(out);
        FinetuneRun run = m.run();
        int d = run.model().dModel();
        int f = run.model().dFf();
        int r = run.loraRank();
        Raw raw = Raw.read(out.resolve("adapter_model.safetensors"));
        raw.checkContiguous();
        assertEquals("pt", raw.header().get("__metadata__").get("format").asText());
        List<String> expected = new ArrayList<>();
        for (int l = 0; l < run.model().layers(); l++) {
            for (String mod : List.of("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")) {
                expected.add("base_model.model.transformer.h." + l + "." + mod + ".lora_A.weight");
                expected.add("base_model.model.transformer.h." + l + "." + mod + ".lora_B.weight");
            }
        }
        expected.add("base_model.model.score.weight");
        expected.add("base_model.model.score.bias");
        assertEquals(expected, raw.namesInOffsetOrder());
        String h0 = "base_model.model.transformer.h.0.";
        assertEquals(List.of(2L * r, (long) d), raw.shape(h0 + "attn.c_attn.lora_A.weight"));
        assertEquals(List.of(3L * d, 2L * r), raw.shape(h0 + "attn.c_attn.lora_B.weight"));
        assertEquals(List.of((long) r, (long) d), raw.shape(h0 + "attn.c_proj.lora_A.weight"));
        assertEquals(List.of((long) d, (long) r), raw.shape(h0 + "attn.c_proj.lora_B.weight"));
        assertEquals(List.of((long) r, (long) d), raw.shape(h0 + "mlp.c_fc.lora_A.weight"));
        assertEquals(List.of((long) f, (long) r), raw.shape(h0 + "mlp.c_fc.lora_B.weight"));
        assertEquals(List.of((long) r, (long) f), raw.shape(h0 + "mlp.c_proj.lora_A.weight"));
        assertEquals(List.of((long) d, (long) r), raw.shape(h0 + "mlp.c_proj.lora_B.weight"));
        assertEquals(List.of(3L, (long) d), raw.shape("base_model.model.score.weight"));
        assertEquals(List.of(3L), raw.shape("base_model.model.score.bias"));

        // values: lora_A = A^T stacked q then v, lora_B = B^T in the rows of its projection, zeros for k
        for (int l = 0; l < run.model().layers(); l++) {
            Map<String, INDArray> p = m.net().getLayer(TransformerLm.block(l)).paramTable();
            String h = "base_model.model.transformer.h." + l + ".";
            float[] a = raw.floats(h + "attn.c_attn.lora_A.weight");
            float[] b = raw.floats(h + "attn.c_attn.lora_B.weight");
            String[][] qv = {{"loraQA", "loraQB"}, {"loraVA", "loraVB"}};
            int[] projection = {0, 2};
            for (int t = 0; t < 2; t++) {
                INDArray at = p.get(qv[t][0]);
                INDArray bt = p.get(qv[t][1]);
                for (int j = 0; j < r; j++) {
                    for (int i = 0; i < d; i++) {
                        assertEquals(at.getFloat(i, j), a[(t * r + j) * d + i], "A");
                    }
                    for (int o = 0; o < 3 * d; o++) {
                        float want = o / d == projection[t] ? bt.getFloat(j, o % d) : 0f;
                        assertEquals(want, b[o * 2 * r + t * r + j], "B row " + o + " column " + (t * r + j));
                    }
                }
            }
            float[] oa = raw.floats(h + "attn.c_proj.lora_A.weight");
            float[] pb = raw.floats(h + "mlp.c_proj.lora_B.weight");
            for (int j = 0; j < r; j++) {
                for (int i = 0; i < d; i++) {
                    assertEquals(p.get("loraOA").getFloat(i, j), oa[j * d + i]);
                    assertEquals(p.get("loraProjB").getFloat(j, i), pb[i * r + j]);
                }
            }
        }
        Map<String, INDArray> head = m.net().getLayer(ClassifierModel.HEAD).paramTable();
        float[] score = raw.floats("base_model.model.score.weight");
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < d; i++) {
                assertEquals(head.get(ClassifierHead.W).getFloat(i, c), score[c * d + i]);
            }
        }
        assertArrayEquals(values(head.get(ClassifierHead.B)), raw.floats("base_model.model.score.bias"));
        assertTrue(Files.exists(out.resolve("labels.json")) && Files.exists(out.resolve("tokenizer.json")));
    }

    @Test
    void foldingTheAdapterAsPeftDoesGivesOurMergedWeights() throws IOException {
        for (List<String> targets : List.of(List.of("q", "v", "o", "mlp"), List.of("k"), List.of("q", "k", "v"))) {
            Path out = peft("fold-" + String.join("", targets), targets, Pooling.LAST, 31);
            FinetunedModel m = loaded(out);
            ComputationGraph merged = ClassifierModel.mergeLora(m.run(), m.net()).net();
            Map<String, float[]> base = Gpt2Reference.readTensors(baseHf.resolve("model.safetensors"));
            Map<String, float[]> adapter = Gpt2Reference.readTensors(out.resolve("adapter_model.safetensors"));
            Map<String, Gpt2Reference.Lora> lora = Gpt2Reference.loraAdapters(out, adapter);
            int d = m.run().model().dModel();
            int f = m.run().model().dFf();
            String[][] modules = {{"attn.c_attn", TransformerBlock.W_QKV}, {"attn.c_proj", TransformerBlock.W_OUT},
                {"mlp.c_fc", TransformerBlock.W_FC}, {"mlp.c_proj", TransformerBlock.W_PROJ}};
            int[][] shapes = {{d, 3 * d}, {d, d}, {d, f}, {f, d}};
            double worst = 0;
            int folded = 0;
            for (int l = 0; l < m.run().model().layers(); l++) {
                for (int k = 0; k < modules.length; k++) {
                    String module = "transformer.h." + l + "." + modules[k][0];
                    float[] w = base.get(module + ".weight");
                    Gpt2Reference.Lora a = lora.get(module);
                    double[] want = a == null ? toDouble(w) : a.fold(w, shapes[k][0], shapes[k][1]);
                    folded += a == null ? 0 : 1;
                    float[] ours = values(merged.getLayer(TransformerLm.block(l)).paramTable().get(modules[k][1]));
                    for (int i = 0; i < want.length; i++) {
                        worst = Math.max(worst, Math.abs(want[i] - ours[i]));
                    }
                }
            }
            int perBlock = (targets.stream().anyMatch(List.of("q", "k", "v")::contains) ? 1 : 0)
                + (targets.contains("o") ? 1 : 0) + (targets.contains("mlp") ? 2 : 0);
            assertEquals(perBlock * m.run().model().layers(), folded, targets + ": adapted modules");
            assertTrue(worst < 2e-6, targets + ": max |PEFT fold - mergeLora| = " + worst);
            System.out.printf("ClassifierExportTest: targets %s, max |PEFT fold - mergeLora| = %.3g%n", targets,
                worst);
        }
    }

    private static double[] toDouble(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }

    @Test
    void theAdapterOnTheHfBaseComputesOurProbabilities() throws IOException {
        int k = 0;
        for (Pooling pooling : List.of(Pooling.MEAN, Pooling.LAST, Pooling.FIRST)) {
            Path out = peft("forward-" + pooling.key(), List.of("q", "k", "v", "o", "mlp"), pooling, 41 + k++);
            FinetunedModel m = loaded(out);
            JsonNode head = JSON.readTree(out.resolve("sparklm_classifier.json").toFile());
            assertEquals(pooling.key(), head.get("pooling").asText());
            Gpt2Reference ref = Gpt2Reference.load(baseHf).withAdapter(out);
            float[][] ours = m.probabilities(ClassifierFixtures.TEXTS, 2);
            double worst = 0;
            double spread = 0;
            for (int i = 0; i < ours.length; i++) {
                int[] ids = m.encoder().encodeText(m.tokenizer(), ClassifierFixtures.TEXTS.get(i));
                int[] framed = ids;
                JsonNode in = head.get("input");
                if (!in.get("append_token_id").isNull()) {
                    assertEquals(in.get("append_token_id").asInt(), ids[ids.length - 1]);
                }
                if (!in.get("prepend_token_id").isNull()) {
                    assertEquals(in.get("prepend_token_id").asInt(), ids[0]);
                }
                assertTrue(framed.length <= in.get("max_length").asInt());
                double[] want = ref.classify(framed, head.get("pooling").asText());
                for (int c = 0; c < want.length; c++) {
                    worst = Math.max(worst, Math.abs(want[c] - ours[i][c]));
                    spread = Math.max(spread, Math.abs(want[c] - want[0]));
                }
            }
            assertTrue(spread > 0.05, "the classifier separates something (spread " + spread + ")");
            assertTrue(worst < 1e-5, pooling + ": max |p_PEFT reference - p_ours| = " + worst);
            System.out.printf("ClassifierExportTest: %s pooling, max |p_reference - p_ours| = %.3g%n", pooling.key(),
                worst);
        }
        String dump = System.getProperty("sparklm.peft.dump");
        if (dump != null && !dump.isBlank()) {
            Path cp = tmp.resolve("p-forward-mean");
            PeftDump.dump(cp.toString(), Path.of(dump));
        }
    }

    @Test
    void adapterConfigSaysWhatPeftNeeds() throws IOException {
        JsonNode c = JSON.readTree(peft("config-qv", List.of("q", "v"), Pooling.MEAN, 51)
            .resolve("adapter_config.json").toFile());
        assertEquals("LORA", c.get("peft_type").asText());
        assertEquals("SEQ_CLS", c.get("task_type").asText());
        assertEquals(baseHf.toString(), c.get("base_model_name_or_path").asText());
        assertEquals(8, c.get("r").asInt(), "q and v at rank 4 are one c_attn adapter of rank 8");
        assertEquals(12, c.get("lora_alpha").asInt(), "alpha' / r' = alpha / r: 12 / 8 = 6 / 4");
        assertEquals(List.of("c_attn"), strings(c.get("target_modules")));
        assertEquals(0, c.get("rank_pattern").size());
        assertEquals(0, c.get("alpha_pattern").size());
        assertTrue(c.get("fan_in_fan_out").asBoolean(), "GPT-2's Conv1D stores [in, out]");
        assertEquals("none", c.get("bias").asText());
        assertEquals(List.of("score"), strings(c.get("modules_to_save")));
        assertTrue(c.get("inference_mode").asBoolean());
        assertEquals(0.1, c.get("lora_dropout").asDouble());

        JsonNode mixed = JSON.readTree(peft("config-mixed", List.of("q", "v", "o", "mlp"), Pooling.MEAN, 52)
            .resolve("adapter_config.json").toFile());
        assertEquals(4, mixed.get("r").asInt());
        assertEquals(6, mixed.get("lora_alpha").asInt());
        assertEquals(8, mixed.get("rank_pattern").get("c_attn").asInt());
        assertEquals(12, mixed.get("alpha_pattern").get("c_attn").asInt());
        assertEquals(List.of("c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"), strings(mixed.get("target_modules")));
        // PEFT's matching (a module is a target when its name is a target or ends with "." + target) picks exactly
        // the four adapted modules of each block among GPT-2's, and rank_pattern's key only c_attn
        List<String> gpt2 = List.of("transformer.wte", "transformer.wpe", "transformer.h.1.ln_1",
            "transformer.h.1.attn", "transformer.h.1.attn.c_attn", "transformer.h.1.attn.c_proj",
            "transformer.h.1.ln_2", "transformer.h.1.mlp", "transformer.h.1.mlp.c_fc", "transformer.h.1.mlp.c_proj",
            "transformer.ln_f", "score");
        List<String> matched = new ArrayList<>();
        for (String module : gpt2) {
            for (String t : strings(mixed.get("target_modules"))) {
                if (module.equals(t) || module.endsWith("." + t)) {
                    matched.add(module);
                    break;
                }
            }
        }
        assertEquals(List.of("transformer.h.1.attn.c_attn", "transformer.h.1.attn.c_proj",
            "transformer.h.1.mlp.c_fc", "transformer.h.1.mlp.c_proj"), matched);
        assertEquals("c_attn", Gpt2Reference.patternKey(mixed.get("rank_pattern"), "transformer.h.1.attn.c_attn"));
        assertEquals("transformer.h.1.attn.c_proj", Gpt2Reference.patternKey(mixed.get("rank_pattern"),
            "transformer.h.1.attn.c_proj"));

        JsonNode o = JSON.readTree(peft("config-o", List.of("o"), Pooling.MEAN, 53).resolve("adapter_config.json")
            .toFile());
        assertEquals(List.of("attn.c_proj"), strings(o.get("target_modules")));
        assertEquals(4, o.get("r").asInt());
    }

    private static List<String> strings(JsonNode a) {
        List<String> s = new ArrayList<>();
        for (Iterator<JsonNode> it = a.elements(); it.hasNext(); ) {
            s.add(it.next().asText());
        }
        return s;
    }

    @Test
    void badInputIsOneClearErrorAndWritesNothing() throws IOException {
        Path full = classifier("bad-full", clmBase, Objective.CLM, Method.FULL, List.of(), Pooling.MEAN, 61);
        Path mlmLora = classifier("bad-mlm", mlmBase, Objective.MLM, Method.LORA, List.of("q", "v"), Pooling.MEAN,
            62);
        Path out = tmp.resolve("never");
        String m = assertThrows(UsageException.class, () -> export(full.toString(), out.toString(), "peft"))
            .getMessage();
        assertTrue(m.contains("--layout peft") && m.contains("full classifier") && m.contains("--layout native"), m);
        m = assertThrows(UsageException.class, () -> export(mlmLora.toString(), out.toString(), "peft"))
            .getMessage();
        assertTrue(m.contains("masked-LM (mlm) base") && m.contains("--layout native"), m);
        m = assertThrows(UsageException.class, () -> export(clmBase.dir().toString(), out.toString(), "peft"))
            .getMessage();
        assertTrue(m.contains("pretrained language model, not a LoRA classifier"), m);
        m = assertThrows(UsageException.class, () -> export(full.toString(), out.toString(), "hf")).getMessage();
        assertTrue(m.contains("--layout hf") && m.contains("classifier"), m);
        Files.createDirectories(tmp.resolve("plain"));
        Files.writeString(tmp.resolve("plain/notes.txt"), "not a model");
        m = assertThrows(UsageException.class, () -> export(tmp.resolve("plain").toString(), out.toString(),
            "native")).getMessage();
        assertTrue(m.contains("is neither a checkpoint nor a run directory"), m);
        assertThrows(IllegalArgumentException.class, () -> new ExportConfig(full.toString(), out.toString(),
            "native", "base", false).check());
        assertFalse(Files.exists(out));

        // import: a PEFT directory, labels.json disagreeing with the run, shapes disagreeing with the run
        Path adapter = peft("bad-import", List.of("q", "v"), Pooling.MEAN, 63);
        m = assertThrows(UsageException.class, () -> Exporter.importDir(CONF, new ImportConfig(adapter.toString(),
            out.toString(), false))).getMessage();
        assertTrue(m.contains("PEFT adapter directory"), m);
        Path lora = classifier("bad-lora", clmBase, Objective.CLM, Method.LORA, List.of("q"), Pooling.MEAN, 64);
        Path exported = tmp.resolve("bad-lora-export");
        export(lora.toString(), exported.toString(), "native");
        Files.writeString(exported.resolve("labels.json"), "{\"labels\": [\"a\", \"b\"]}\n");
        m = assertThrows(UsageException.class, () -> Exporter.importDir(CONF, new ImportConfig(exported.toString(),
            out.toString(), false))).getMessage();
        assertTrue(m.contains("labels.json lists [a, b]"), m);
        Files.writeString(exported.resolve("labels.json"), "{\"labels\": [\"a\", \"b\", \"c\"]}\n");
        ObjectNode config = (ObjectNode) JSON.readTree(exported.resolve("config.json").toFile());
        ((ObjectNode) config.get("run")).put("lora_rank", 5);
        JSON.writeValue(exported.resolve("config.json").toFile(), config);
        m = assertThrows(UsageException.class, () -> Exporter.importDir(CONF, new ImportConfig(exported.toString(),
            out.toString(), false))).getMessage();
        assertTrue(m.contains("block0.loraQA has shape [16, 4], but the model of config.json needs [16, 5]"), m);
        assertFalse(Files.exists(out));
        assertNotNull(CheckpointStore.load(CONF, lora.toString(), false));
    }
}
