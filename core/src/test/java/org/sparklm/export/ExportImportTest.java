package org.sparklm.export;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.sparklm.checkpoint.Checkpoint;
import org.sparklm.UsageException;
import org.sparklm.model.Seq2SeqModel;
import org.sparklm.pretrain.PretrainedModel;
import org.sparklm.tokenizer.bpe.TokenizerFiles;
import org.sparklm.train.Objective;

/** Export then import: identical outputs; the files as documented; bad input refused with nothing written. */
class ExportImportTest {
    @TempDir
    static Path tmp;
    private static final Configuration CONF = new Configuration();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static Path clm;
    private static Path mlm;

    @BeforeAll
    static void checkpoints() throws IOException {
        clm = ExportFixtures.checkpoint(tmp.resolve("run-clm"), Objective.CLM, 3);
        mlm = ExportFixtures.checkpoint(tmp.resolve("run-mlm"), Objective.MLM, 4);
    }

    private static Path fresh(String name) {
        return tmp.resolve(name + "-" + System.nanoTime());
    }

    private static Path export(Path checkpoint, String layout) throws IOException {
        Path out = fresh("export-" + layout);
        ModelSnapshot m = ModelSnapshot.fromCheckpoint(CONF, checkpoint.toString(), "export");
        ModelExport.export(CONF, m, ModelLayouts.byKey(layout).orElseThrow(), out.toString(), false);
        return out;
    }

    private static Path importTo(Path exported) throws IOException {
        Path out = fresh("imported");
        ModelImport.writeCheckpoint(CONF, ModelImport.read(CONF, exported.toString()), out.toString(), false);
        return out;
    }

    private static float[] params(ComputationGraph net) {
        return net.params().dup().data().asFloat();
    }

    /** Loads both as the model commands do and compares everything a checkpoint holds but Adam's moments. */
    private static void assertSameModel(Path original, Path imported) throws IOException {
        PretrainedModel a = PretrainedModel.load(CONF, original.toString(), "test", null);
        PretrainedModel b = PretrainedModel.load(CONF, imported.toString(), "test", null);
        assertEquals(a.run(), b.run());
        assertEquals(a.checkpoint().step(), b.checkpoint().step());
        assertEquals(a.model().config(), b.model().config());
        assertArrayEquals(params(a.model().network()), params(b.model().network()));
        assertEquals(a.model().network().getConfiguration().getIterationCount(),
            b.model().network().getConfiguration().getIterationCount());
        assertEquals(a.model().network().getConfiguration().getEpochCount(),
            b.model().network().getConfiguration().getEpochCount());
        if (a.model().config().isEncoderDecoder()) {
            Seq2SeqModel sa = new Seq2SeqModel(a.model(), 0);
            Seq2SeqModel sb = new Seq2SeqModel(b.model(), 0);
            List<int[]> prefixes = List.of(new int[0], new int[] {5, 9, 2}, new int[] {7, 7, 7, 7, 7, 7, 7});
            for (int[] s : ExportFixtures.sequences(a.model().config().encoderContext(), 11)) {
                float[][] pa = sa.next(s, prefixes);
                float[][] pb = sb.next(s, prefixes);
                for (int t = 0; t < prefixes.size(); t++) {
                    assertArrayEquals(pa[t], pb[t], "prefix " + t + " after an input of " + s.length);
                }
            }
        }
        for (int[] s : a.model().config().isEncoderDecoder() ? List.<int[]>of()
            : ExportFixtures.sequences(a.model().config().contextLength(), 11)) {
            float[][] pa = a.model().probabilities(s);
            float[][] pb = b.model().probabilities(s);
            for (int t = 0; t < s.length; t++) {
                assertArrayEquals(pa[t], pb[t], "position " + t + " of a sequence of " + s.length);
            }
        }
        try (InputStream x = a.checkpoint().open(PretrainedModel.TOKENIZER_BLOB);
             InputStream y = b.checkpoint().open(PretrainedModel.TOKENIZER_BLOB)) {
            assertArrayEquals(x.readAllBytes(), y.readAllBytes());
        }
        // continued training: the zip has an updater state, freshly zero
        ComputationGraph resumed = PretrainedModel.network(b.checkpoint(), true);
        INDArray state = resumed.getUpdater().getStateViewArray();
        assertEquals(2 * resumed.numParams(), state.length());
        assertEquals(0.0, state.amaxNumber().doubleValue());
        assertEquals(a.checkpoint().readState().get("data_position"), b.checkpoint().readState().get("data_position"));
    }

    @Test
    void hfRoundTripGivesIdenticalOutputs() throws IOException {
        assertSameModel(clm, importTo(export(clm, "hf")));
    }

    @Test
    void nativeRoundTripGivesIdenticalOutputsForBothObjectives() throws IOException {
        assertSameModel(clm, importTo(export(clm, "native")));
        assertSameModel(mlm, importTo(export(mlm, "native")));
    }

    @Test
    void nativeRoundTripOfAnEncoderDecoderGivesIdenticalOutputs() throws IOException {
        Path span = ExportFixtures.checkpoint(fresh("run-span"), Objective.SPAN, 5);
        Path exported = export(span, "native");
        JsonNode config = JSON.readTree(exported.resolve("config.json").toFile());
        assertEquals(NativeLayout.ENCODER_DECODER, config.path("architecture").asText());
        assertEquals("span", config.path("objective").asText());
        assertSameModel(span, importTo(exported));
        // the GPT-2 layout has no encoder-decoder: refused, nothing written
        Path hf = fresh("export-hf-span");
        ModelSnapshot m = ModelSnapshot.fromCheckpoint(CONF, span.toString(), "export");
        assertThrows(UsageException.class, () -> ModelExport.export(CONF, m, ModelLayouts.byKey("hf").orElseThrow(),
            hf.toString(), false));
        assertFalse(Files.exists(hf));
        // an architecture that disagrees with the model config is one usage line
        editConfig(exported, c -> c.put("architecture", NativeLayout.TRANSFORMER_LM));
        UsageException e = assertThrows(UsageException.class, () -> ModelImport.read(CONF, exported.toString()));
        assertTrue(e.getMessage().contains("architecture"), e.getMessage());
    }

    // ------------------------------------------------------------------------------------ the files, read raw

    /** A safetensors file parsed here without our reader: header length, header JSON, data section. */
    record RawFile(long headerBytes, ObjectNode header, byte[] data) {
        static RawFile read(Path file) throws IOException {
            byte[] all = Files.readAllBytes(file);
            long n = ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            ObjectNode h = (ObjectNode) JSON.readTree(new String(all, 8, (int) n, StandardCharsets.UTF_8));
            return new RawFile(n, h, java.util.Arrays.copyOfRange(all, 8 + (int) n, all.length));
        }

        /** Tensor names (metadata left out), in the header's order. */
        List<String> names() {
            List<String> out = new ArrayList<>();
            header.fieldNames().forEachRemaining(k -> {
                if (!k.equals("__metadata__")) {
                    out.add(k);
                }
            });
            return out;
        }

        List<Long> shape(String name) {
            List<Long> s = new ArrayList<>();
            header.get(name).get("shape").forEach(d -> s.add(d.asLong()));
            return s;
        }

        float[] values(String name) {
            JsonNode o = header.get(name).get("data_offsets");
            ByteBuffer b = ByteBuffer.wrap(data, o.get(0).asInt(), o.get(1).asInt() - o.get(0).asInt())
                .order(ByteOrder.LITTLE_ENDIAN);
            float[] v = new float[b.remaining() / 4];
            b.asFloatBuffer().get(v);
            return v;
        }

        /** Offsets in header order tile the data section exactly; every tensor is F32 with its size. */
        void assertLayout() {
            assertEquals(0, (8 + headerBytes) % 8, "data section aligned to 8 bytes");
            long next = 0;
            for (String name : names()) {
                JsonNode t = header.get(name);
                assertEquals("F32", t.get("dtype").asText(), name);
                long elements = shape(name).stream().reduce(1L, (x, y) -> x * y);
                assertEquals(next, t.get("data_offsets").get(0).asLong(), name);
                assertEquals(next + 4 * elements, t.get("data_offsets").get(1).asLong(), name);
                next += 4 * elements;
            }
            assertEquals(data.length, next, "data section length");
        }
    }

    @Test
    void hfFileHasGpt2NamesShapesOffsetsAndTheParameters() throws IOException {
        Path out = export(clm, "hf");
        RawFile f = RawFile.read(out.resolve(ModelExport.MODEL_FILE));
        f.assertLayout();
        long v = ExportFixtures.VOCAB;
        Map<String, List<Long>> expected = new LinkedHashMap<>();
        Map<String, String> param = new LinkedHashMap<>();
        expected.put("transformer.wte.weight", List.of(v, 16L));
        param.put("transformer.wte.weight", "embed_tok");
        expected.put("transformer.wpe.weight", List.of(12L, 16L));
        param.put("transformer.wpe.weight", "embed_pos");
        for (int i = 0; i < 2; i++) {
            String p = "transformer.h." + i + ".";
            String b = "block" + i + "_";
            Object[][] rows = {{"ln_1.weight", List.of(16L), "ln1g"}, {"ln_1.bias", List.of(16L), "ln1b"},
                {"attn.c_attn.weight", List.of(16L, 48L), "wqkv"}, {"attn.c_attn.bias", List.of(48L), "bqkv"},
                {"attn.c_proj.weight", List.of(16L, 16L), "wo"}, {"attn.c_proj.bias", List.of(16L), "bo"},
                {"ln_2.weight", List.of(16L), "ln2g"}, {"ln_2.bias", List.of(16L), "ln2b"},
                {"mlp.c_fc.weight", List.of(16L, 40L), "w1"}, {"mlp.c_fc.bias", List.of(40L), "b1"},
                {"mlp.c_proj.weight", List.of(40L, 16L), "w2"}, {"mlp.c_proj.bias", List.of(16L), "b2"}};
            for (Object[] r : rows) {
                @SuppressWarnings("unchecked") List<Long> shape = (List<Long>) r[1];
                expected.put(p + r[0], shape);
                param.put(p + r[0], b + r[2]);
            }
        }
        expected.put("transformer.ln_f.weight", List.of(16L));
        param.put("transformer.ln_f.weight", "head_lnfg");
        expected.put("transformer.ln_f.bias", List.of(16L));
        param.put("transformer.ln_f.bias", "head_lnfb");
        expected.put("lm_head.weight", List.of(v, 16L));
        param.put("lm_head.weight", "head_head");
        assertEquals(List.copyOf(expected.keySet()), f.names());
        ComputationGraph net = PretrainedModel.load(CONF, clm.toString(), "test", null).model().network();
        for (String name : f.names()) {
            assertEquals(expected.get(name), f.shape(name), name);
            INDArray p = net.getParam(param.get(name));
            INDArray asStored = name.equals("lm_head.weight") ? p.transpose() : p;
            assertArrayEquals(asStored.dup('c').data().asFloat(), f.values(name), name);
        }
        JsonNode meta = f.header().get("__metadata__");
        assertEquals("pt", meta.get("format").asText());
        assertEquals("hf", meta.get("sparklm.layout").asText());
        assertEquals(Long.toString(ExportFixtures.STEP), meta.get("sparklm.step").asText());
        assertEquals("tiny", JSON.readTree(meta.get("sparklm.run").asText()).get("model_name").asText());
    }

    @Test
    void hfConfigIsGpt2sWithOurSizes() throws IOException {
        JsonNode c = JSON.readTree(export(clm, "hf").resolve(ModelExport.CONFIG_FILE).toFile());
        assertEquals("gpt2", c.get("model_type").asText());
        assertEquals("GPT2LMHeadModel", c.get("architectures").get(0).asText());
        assertEquals(ExportFixtures.VOCAB, c.get("vocab_size").asInt());
        assertEquals(12, c.get("n_positions").asInt());
        assertEquals(16, c.get("n_embd").asInt());
        assertEquals(2, c.get("n_layer").asInt());
        assertEquals(2, c.get("n_head").asInt());
        assertEquals(40, c.get("n_inner").asInt());
        assertEquals("gelu_new", c.get("activation_function").asText());
        assertEquals(1e-5, c.get("layer_norm_epsilon").asDouble());
        assertFalse(c.get("tie_word_embeddings").asBoolean(true));
        for (String k : List.of("resid_pdrop", "embd_pdrop", "attn_pdrop")) {
            assertEquals(0.1, c.get(k).asDouble(), k);
        }
        assertEquals(2, c.get("bos_token_id").asInt());   // [BOS] in the default special tokens
        assertEquals(3, c.get("eos_token_id").asInt());
        assertEquals(0, c.get("pad_token_id").asInt());
    }

    @Test
    void exportDirectoryHoldsTheTokenizerFiles() throws IOException {
        Path out = export(clm, "native");
        try (InputStream in = PretrainedModel.load(CONF, clm.toString(), "test", null).checkpoint()
            .open(PretrainedModel.TOKENIZER_BLOB)) {
            assertArrayEquals(in.readAllBytes(), Files.readAllBytes(out.resolve("tokenizer.json")));
        }
        assertTrue(Files.readString(out.resolve("merges.txt")).startsWith("#version: 0.2\n"));
        assertEquals(ExportFixtures.VOCAB, JSON.readTree(out.resolve("vocab.json").toFile()).size());
        JsonNode tc = JSON.readTree(out.resolve("tokenizer_config.json").toFile());
        assertEquals("[EOS]", tc.get("eos_token").asText());
        assertEquals("PreTrainedTokenizerFast", tc.get("tokenizer_class").asText());
        try (var files = Files.list(out)) {
            assertEquals(List.of("config.json", "merges.txt", "model.safetensors", "tokenizer.json",
                "tokenizer_config.json", "vocab.json"), files.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void nativeFileNamesEveryParameterByVertexAndKey() throws IOException {
        for (Path cp : List.of(clm, mlm)) {
            Path out = export(cp, "native");
            RawFile f = RawFile.read(out.resolve(ModelExport.MODEL_FILE));
            f.assertLayout();
            ComputationGraph net = PretrainedModel.load(CONF, cp.toString(), "test", null).model().network();
            List<String> expected = new ArrayList<>();
            for (Map.Entry<String, INDArray> e : net.paramTable().entrySet()) {   // the flat vector's order
                String name = e.getKey().replace('_', '.');
                expected.add(name);
                long[] s = e.getValue().shape();
                assertEquals(s[0] == 1 ? List.of(s[1]) : List.of(s[0], s[1]), f.shape(name), name);
                assertArrayEquals(e.getValue().dup('c').data().asFloat(), f.values(name), name);
            }
            assertEquals(expected, f.names());
            assertTrue(f.names().containsAll(List.of("embed.tok", "embed.pos", "block0.wqkv", "block1.b2",
                "head.lnfg", "head.head")), f.names().toString());
            JsonNode c = JSON.readTree(out.resolve(ModelExport.CONFIG_FILE).toFile());
            assertEquals("sparklm-native", c.get("format").asText());
            assertEquals("transformer-lm", c.get("architecture").asText());
            assertEquals(cp == clm ? "clm" : "mlm", c.get("objective").asText());
            assertEquals(cp == clm ? "causal" : "bidirectional", c.get("model").get("attention").asText());
            assertEquals(40, c.get("model").get("d_ff").asInt());
        }
    }

    // ------------------------------------------------------------------------------------ foreign files

    /** Rewrites an export's model.safetensors: tensors mapped by {@code edit} (null drops one), new metadata. */
    private static void rewrite(Path dir, UnaryOperator<SafeTensors.Tensor> edit, Map<String, String> meta)
        throws IOException {
        FileSystem fs = FileSystem.getLocal(CONF);
        org.apache.hadoop.fs.Path file = new org.apache.hadoop.fs.Path(dir.resolve(ModelExport.MODEL_FILE).toUri());
        List<SafeTensors.Tensor> tensors = new ArrayList<>();
        try (SafeTensors.Reader r = SafeTensors.open(fs, file)) {
            for (String n : r.names()) {
                float[] v = r.floats(n);
                SafeTensors.Tensor t = edit.apply(new SafeTensors.Tensor(n, r.info(n).shape().stream()
                    .mapToLong(Long::longValue).toArray(), () -> v));
                if (t != null) {
                    tensors.add(t);
                }
            }
        }
        try (OutputStream o = Files.newOutputStream(dir.resolve(ModelExport.MODEL_FILE))) {
            SafeTensors.write(o, tensors, meta);
        }
    }

    private static void editConfig(Path dir, java.util.function.Consumer<ObjectNode> edit) throws IOException {
        ObjectNode c = (ObjectNode) JSON.readTree(dir.resolve(ModelExport.CONFIG_FILE).toFile());
        edit.accept(c);
        JSON.writeValue(dir.resolve(ModelExport.CONFIG_FILE).toFile(), c);
    }

    @Test
    void foreignTiedGpt2ImportsWithTheEmbeddingAsHeadAtStepZero() throws IOException {
        Path out = export(clm, "hf");
        // as transformers saves a tied model: no lm_head tensor, metadata {"format": "pt"} only, an old mask buffer
        rewrite(out, t -> t.name().equals("lm_head.weight") ? null : t, Map.of("format", "pt"));
        editConfig(out, c -> c.remove("tie_word_embeddings"));
        ModelSnapshot m = ModelImport.read(CONF, out.toString());
        assertEquals(0, m.step());
        assertEquals(0, m.iteration());
        assertTrue(m.run().modelName().startsWith("import of "), m.run().modelName());
        assertEquals(m.net().getParam("embed_tok").transpose(), m.net().getParam("head_head"));
        Checkpoint cp = ModelImport.writeCheckpoint(CONF, m, fresh("tied").toString(), false);
        assertEquals(0, cp.step());
        PretrainedModel back = PretrainedModel.load(CONF, cp.dir().toString(), "generate", Objective.CLM);
        assertEquals(m.config(), back.model().config());
    }

    @Test
    void provenanceThatDisagreesWithTheDirectoryIsDropped() throws IOException {
        Path out = export(clm, "native");
        editConfig(out, c -> ((ObjectNode) c.get("model")).put("dropout", 0.0));
        ModelSnapshot m = ModelImport.read(CONF, out.toString());
        assertEquals(0, m.step());
        assertNotEquals("tiny", m.run().modelName());
        assertEquals(0.0, m.config().dropout());
    }

    private static UsageException refused(Path input) {
        Path out = fresh("refused");
        UsageException e = assertThrows(UsageException.class, () -> ModelImport.writeCheckpoint(CONF,
            ModelImport.read(CONF, input.toString()), out.toString(), false));
        assertFalse(Files.exists(out), "nothing written");
        return e;
    }

    @Test
    void badImportsAreRefusedBeforeAnythingIsWritten() throws IOException {
        Path noConfig = export(clm, "hf");
        Files.delete(noConfig.resolve("config.json"));
        assertTrue(refused(noConfig).getMessage().contains("has no config.json"));

        Path shape = export(clm, "hf");
        rewrite(shape, t -> t.name().equals("transformer.h.1.mlp.c_fc.weight")
            ? new SafeTensors.Tensor(t.name(), new long[] {40, 16}, t.data()) : t, Map.of("format", "pt"));
        String msg = refused(shape).getMessage();
        assertTrue(msg.contains("transformer.h.1.mlp.c_fc.weight has shape [40, 16]") && msg.contains("needs [16, 40]"),
            msg);

        Path layers = export(clm, "native");
        editConfig(layers, c -> ((ObjectNode) c.get("model")).put("layers", 3));
        assertTrue(refused(layers).getMessage().contains("lacks tensors the model of config.json needs: block2."));

        Path extra = export(clm, "native");
        editConfig(extra, c -> ((ObjectNode) c.get("model")).put("layers", 1));
        assertTrue(refused(extra).getMessage().contains("has no place for: block1."));

        Path vocab = export(clm, "hf");
        editConfig(vocab, c -> c.put("vocab_size", 500));
        assertTrue(refused(vocab).getMessage().contains("ids but config.json says vocab_size 500"));

        Path gelu = export(clm, "hf");
        editConfig(gelu, c -> c.put("activation_function", "gelu"));
        assertTrue(refused(gelu).getMessage().contains("activation_function 'gelu'"));

        Path unknown = export(clm, "hf");
        editConfig(unknown, c -> c.put("model_type", "llama"));
        assertTrue(refused(unknown).getMessage().contains("in no known layout"));

        Path truncated = export(clm, "hf");
        byte[] b = Files.readAllBytes(truncated.resolve(ModelExport.MODEL_FILE));
        Files.write(truncated.resolve(ModelExport.MODEL_FILE), java.util.Arrays.copyOf(b, b.length - 4));
        assertTrue(refused(truncated).getMessage().contains("not a valid safetensors file"));

        Path noTokenizer = export(clm, "hf");
        Files.delete(noTokenizer.resolve(TokenizerFiles.TOKENIZER_JSON));
        assertTrue(refused(noTokenizer).getMessage().contains("has no tokenizer.json"));

        assertTrue(refused(clm).getMessage().contains("has no config.json"));
    }

    @Test
    void hfExportOfAMaskedLmIsRefusedAndWritesNothing() throws IOException {
        Path out = fresh("mlm-hf");
        ModelSnapshot m = ModelSnapshot.fromCheckpoint(CONF, mlm.toString(), "export");
        UsageException e = assertThrows(UsageException.class, () -> ModelExport.export(CONF, m,
            ModelLayouts.byKey("hf").orElseThrow(), out.toString(), false));
        assertTrue(e.getMessage().contains("--layout native"), e.getMessage());
        assertFalse(Files.exists(out));
        try (var siblings = Files.list(tmp)) {
            assertTrue(siblings.noneMatch(p -> p.getFileName().toString().startsWith(".mlm-hf")), "no temp left");
        }
    }

    @Test
    void exportOfANonCheckpointIsRefused() throws IOException {
        Path plain = Files.createDirectories(tmp.resolve("plain"));
        UsageException e = assertThrows(UsageException.class, () -> ModelSnapshot.fromCheckpoint(CONF,
            plain.toString(), "export"));
        assertTrue(e.getMessage().contains("is neither a checkpoint nor a run directory"), e.getMessage());
    }
}
