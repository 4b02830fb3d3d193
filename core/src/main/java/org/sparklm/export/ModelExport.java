package org.sparklm.export;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparklm.io.AtomicOutput;
import org.sparklm.io.Json;
import org.sparklm.tokenizer.SpecialTokens;
import org.sparklm.tokenizer.bpe.BpeModel;
import org.sparklm.tokenizer.bpe.TokenizerFiles;

/**
 * Writes a model as an export directory (docs/FORMATS.md, "Exported models"): {@value #MODEL_FILE} (the parameters
 * as F32 tensors named by the layout), {@value #CONFIG_FILE} (the layout's model configuration), and the tokenizer:
 * {@code tokenizer.json} (the checkpoint's bytes, unchanged), {@code vocab.json} + {@code merges.txt} (as bpe-train
 * writes them) and {@value #TOKENIZER_CONFIG} (for transformers' {@code AutoTokenizer}). The directory is written aside
 * and renamed into place ({@link AtomicOutput}).
 *
 * <p>The safetensors metadata carries {@code "format": "pt"} (transformers refuses a file without it) and the
 * provenance import restores: the layout, the checkpoint's step, DL4J's iteration and epoch counters and the
 * pretraining run ({@link #META_RUN}). A file rewritten by PyTorch tools loses them, and import then treats the
 * weights as foreign.
 */
public final class ModelExport {
    private static final Logger LOG = LoggerFactory.getLogger(ModelExport.class);

    public static final String MODEL_FILE = "model.safetensors";
    public static final String CONFIG_FILE = "config.json";
    public static final String TOKENIZER_CONFIG = "tokenizer_config.json";

    /** Metadata: {@code "pt"}, which transformers' loader requires. */
    public static final String META_FORMAT = "format";
    public static final String META_LAYOUT = "sparklm.layout";
    public static final String META_STEP = "sparklm.step";
    public static final String META_ITERATION = "sparklm.iteration";
    public static final String META_EPOCH = "sparklm.epoch";
    /** Metadata: the pretraining run (state.json's {@code "run"}) as compact JSON. */
    public static final String META_RUN = "sparklm.run";

    private ModelExport() {
    }

    /**
     * What an export wrote.
     *
     * @param tensors    tensors in {@value #MODEL_FILE}
     * @param parameters their values in all
     * @param bytes      {@value #MODEL_FILE}'s size
     */
    public record Result(Path output, String layout, int tensors, long parameters, long bytes) {
    }

    /** The tensors of {@code m} in {@code layout}, each parameter exactly once (checked). */
    public static List<SafeTensors.Tensor> tensors(ModelSnapshot m, ModelLayout layout) {
        return tensors(m.net(), layout.key(), layout.bindings(m.net()));
    }

    /** The tensors of {@code bindings} over {@code net}, which must hold each of its parameters exactly once. */
    static List<SafeTensors.Tensor> tensors(ComputationGraph net, String layout, List<TensorBinding> bindings) {
        Set<String> params = new HashSet<>();
        long n = 0;
        List<SafeTensors.Tensor> out = new ArrayList<>();
        for (TensorBinding b : bindings) {
            if (!params.add(b.param())) {
                throw new IllegalStateException("layout " + layout + " binds parameter " + b.param() + " twice");
            }
            long len = b.parameter(net).length();
            n += len;
            out.add(new SafeTensors.Tensor(b.name(), b.shapeArray(), () -> b.read(net)));
        }
        if (n != net.numParams()) {
            throw new IllegalStateException("layout " + layout + " holds " + n + " of the network's "
                + net.numParams() + " parameters");
        }
        return out;
    }

    /** The safetensors metadata of an export of {@code m} in {@code layout}. */
    public static Map<String, String> metadata(ModelSnapshot m, ModelLayout layout) {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(META_FORMAT, "pt");
        meta.put(META_LAYOUT, layout.key());
        meta.put(META_STEP, Long.toString(m.step()));
        meta.put(META_ITERATION, Integer.toString(m.iteration()));
        meta.put(META_EPOCH, Integer.toString(m.epoch()));
        try {
            meta.put(META_RUN, Json.MAPPER.writeValueAsString(m.run().toJson()));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return meta;
    }

    /** transformers' tokenizer_config.json: the fast tokenizer of tokenizer.json with our special tokens. */
    static ObjectNode tokenizerConfig(ModelSnapshot m) {
        return tokenizerConfig(m.tokenizer(), m.config().contextLength());
    }

    static ObjectNode tokenizerConfig(BpeModel tokenizer, int contextLength) {
        ObjectNode o = Json.object();
        o.put("tokenizer_class", "PreTrainedTokenizerFast");
        o.put("model_max_length", contextLength);
        SpecialTokens sp = tokenizer.specialTokens();
        String[][] roles = {{"bos_token", SpecialTokens.BOS}, {"eos_token", SpecialTokens.EOS},
            {"unk_token", SpecialTokens.UNK}, {"pad_token", SpecialTokens.PAD}, {"mask_token", SpecialTokens.MASK},
            {"cls_token", SpecialTokens.CLS}, {"sep_token", SpecialTokens.SEP}};
        for (String[] r : roles) {
            if (sp.contains(r[1])) {
                o.put(r[0], r[1]);
            }
        }
        o.put("clean_up_tokenization_spaces", false);
        return o;
    }

    /**
     * The tokenizer files of an export: {@code tokenizer.json} ({@code json}, byte for byte), {@code vocab.json} +
     * {@code merges.txt} and {@value #TOKENIZER_CONFIG}.
     */
    static void writeTokenizerFiles(AtomicOutput out, byte[] json, BpeModel tokenizer, int contextLength)
        throws IOException {
        try (OutputStream o = out.create(TokenizerFiles.TOKENIZER_JSON)) {
            o.write(json);
        }
        try (OutputStream o = out.create(TokenizerFiles.VOCAB_JSON)) {
            TokenizerFiles.writeVocabJson(tokenizer, o);
        }
        try (OutputStream o = out.create(TokenizerFiles.MERGES_TXT)) {
            TokenizerFiles.writeMergesTxt(tokenizer, o);
        }
        try (OutputStream o = out.create(TOKENIZER_CONFIG)) {
            writeJson(o, tokenizerConfig(tokenizer, contextLength));
        }
    }

    static void writeJson(OutputStream o, ObjectNode json) throws IOException {
        o.write(Json.pretty().writeValueAsBytes(json));
        o.write('\n');
    }

    /**
     * Exports {@code m} to {@code output} (any Hadoop FileSystem URI).
     *
     * @throws org.sparklm.UsageException when the layout cannot express the model (before anything is written)
     * @throws AtomicOutput.OutputExistsException when the output exists and {@code overwrite} is not set
     */
    public static Result export(Configuration conf, ModelSnapshot m, ModelLayout layout, String output,
                                boolean overwrite) throws IOException {
        ObjectNode config = layout.config(m);
        List<SafeTensors.Tensor> tensors = tensors(m, layout);
        Map<String, String> meta = metadata(m, layout);
        long bytes;
        try (AtomicOutput out = AtomicOutput.begin(conf, output, overwrite)) {
            try (OutputStream o = out.create(MODEL_FILE)) {
                bytes = SafeTensors.write(o, tensors, meta);
            }
            try (OutputStream o = out.create(CONFIG_FILE)) {
                writeJson(o, config);
            }
            writeTokenizerFiles(out, m.tokenizerJson(), m.tokenizer(), m.config().contextLength());
            out.commit();
            LOG.info("export: {} -> {} ({} layout, {} tensors, {} parameters, {} bytes)", m.source(), out.target(),
                layout.key(), tensors.size(), m.net().numParams(), bytes);
            return new Result(out.target(), layout.key(), tensors.size(), m.net().numParams(), bytes);
        }
    }
}
