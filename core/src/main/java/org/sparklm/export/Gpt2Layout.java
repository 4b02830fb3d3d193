package org.sparklm.export;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparklm.UsageException;
import org.sparklm.io.Json;
import org.sparklm.model.AttentionMode;
import org.sparklm.model.TransformerConfig;
import org.sparklm.model.dl4j.LmHead;
import org.sparklm.model.dl4j.ParamSpec;
import org.sparklm.model.dl4j.TokenPositionEmbedding;
import org.sparklm.model.dl4j.TransformerBlock;
import org.sparklm.model.dl4j.TransformerLayerConf;
import org.sparklm.tokenizer.SpecialTokens;
import org.sparklm.train.Objective;

/**
 * HuggingFace transformers' GPT-2 ({@code GPT2LMHeadModel}) layout, for causal LMs: the tensor names and shapes of its
 * state dict and its {@code config.json}, so that {@code GPT2LMHeadModel.from_pretrained(dir)} computes our logits.
 * Our block is GPT-2's (pre-LayerNorm, fused q|k|v projection with heads contiguous, GELU with the tanh approximation,
 * LayerNorm epsilon 1e-5), and GPT-2's {@code Conv1D} stores its weight {@code [in, out]} and computes
 * {@code x W + b} as our layers do, so every matrix is stored as it is except the LM head: ours is {@code [d, V]},
 * HF's {@code lm_head} is an {@code nn.Linear} with weight {@code [V, d]}. Our head is untied from the token
 * embedding, hence {@code tie_word_embeddings: false}.
 *
 * <p>The mapping is a table from each layer type's parameter keys to GPT-2 names; a parameter without an entry (a
 * layer added later, an adapter) is an error that points to {@code --layout native}, never silently dropped. Import
 * also reads files with tied embeddings ({@code tie_word_embeddings} true or absent: the head is {@code wte}'s
 * transpose) and skips the attention-mask buffers older transformers versions saved ({@code h.N.attn.bias},
 * {@code h.N.attn.masked_bias}).
 */
public final class Gpt2Layout implements ModelLayout {
    private static final Logger LOG = LoggerFactory.getLogger(Gpt2Layout.class);

    public static final String KEY = "hf";
    public static final String MODEL_TYPE = "gpt2";
    /** HF's name of GELU with the tanh approximation (ours). */
    public static final String ACTIVATION = "gelu_new";
    /** The LM head's tensor. */
    public static final String LM_HEAD = "lm_head.weight";
    /** The token embedding's tensor. */
    public static final String WTE = "transformer.wte.weight";

    private static final Pattern MASK_BUFFER = Pattern.compile("transformer\\.h\\.\\d+\\.attn\\.(bias|masked_bias)");

    /** Parameter key -> GPT-2 name (after the prefix), in GPT-2's state-dict order. */
    private static final Map<String, String> EMBEDDING = table(
        TokenPositionEmbedding.TOKENS, "wte.weight",
        TokenPositionEmbedding.POSITIONS, "wpe.weight");
    private static final Map<String, String> BLOCK = table(
        TransformerBlock.LN1_GAIN, "ln_1.weight",
        TransformerBlock.LN1_BIAS, "ln_1.bias",
        TransformerBlock.W_QKV, "attn.c_attn.weight",
        TransformerBlock.B_QKV, "attn.c_attn.bias",
        TransformerBlock.W_OUT, "attn.c_proj.weight",
        TransformerBlock.B_OUT, "attn.c_proj.bias",
        TransformerBlock.LN2_GAIN, "ln_2.weight",
        TransformerBlock.LN2_BIAS, "ln_2.bias",
        TransformerBlock.W_FC, "mlp.c_fc.weight",
        TransformerBlock.B_FC, "mlp.c_fc.bias",
        TransformerBlock.W_PROJ, "mlp.c_proj.weight",
        TransformerBlock.B_PROJ, "mlp.c_proj.bias");
    private static final Map<String, String> OUTPUT = table(
        LmHead.LN_GAIN, "transformer.ln_f.weight",
        LmHead.LN_BIAS, "transformer.ln_f.bias",
        LmHead.HEAD, LM_HEAD);

    private static Map<String, String> table(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }

    @Override
    public String key() {
        return KEY;
    }

    @Override
    public ObjectNode config(ModelSnapshot m) {
        TransformerConfig c = m.config();
        if (m.objective() != Objective.CLM || c.attention() != AttentionMode.CAUSAL) {
            throw new UsageException("--layout hf: this is a " + m.objective().key() + " model with "
                + c.attention().key() + " attention, and HuggingFace has no equivalent of our pre-LayerNorm masked LM"
                + " (BERT is post-LayerNorm): use --layout native");
        }
        double eps = layerNormEpsilon(m.net());
        SpecialTokens sp = m.tokenizer().specialTokens();
        ObjectNode o = Json.object();
        o.putArray("architectures").add("GPT2LMHeadModel");
        o.put("model_type", MODEL_TYPE);
        o.put("vocab_size", c.vocabSize());
        o.put("n_positions", c.contextLength());
        o.put("n_embd", c.dModel());
        o.put("n_layer", c.layers());
        o.put("n_head", c.heads());
        o.put("n_inner", c.dFf());
        o.put("activation_function", ACTIVATION);
        o.put("resid_pdrop", c.dropout());
        o.put("embd_pdrop", c.dropout());
        o.put("attn_pdrop", c.dropout());
        o.put("layer_norm_epsilon", eps);
        o.put("initializer_range", 0.02);
        o.put("scale_attn_weights", true);
        o.put("scale_attn_by_inverse_layer_idx", false);
        o.put("reorder_and_upcast_attn", false);
        o.put("use_cache", true);
        o.put("tie_word_embeddings", false);
        putId(o, "bos_token_id", sp.idOf(SpecialTokens.BOS));
        putId(o, "eos_token_id", sp.idOf(SpecialTokens.EOS));
        putId(o, "pad_token_id", sp.idOf(SpecialTokens.PAD));
        o.put("torch_dtype", "float32");
        return o;
    }

    private static void putId(ObjectNode o, String key, int id) {
        if (id >= 0) {
            o.put(key, id);
        } else {
            o.putNull(key);
        }
    }

    /** The LayerNorm epsilon of every layer (they must agree: GPT-2 has one). */
    private static double layerNormEpsilon(ComputationGraph net) {
        Double eps = null;
        for (GraphVertex v : NativeLayout.layerVertices(net)) {
            if (v.getLayer().conf().getLayer() instanceof TransformerLayerConf t) {
                if (eps != null && eps != t.getLayerNormEps()) {
                    throw new UsageException("--layout hf: the layers' LayerNorm epsilons differ (" + eps + ", "
                        + t.getLayerNormEps() + "); GPT-2 has one");
                }
                eps = t.getLayerNormEps();
            }
        }
        return eps == null ? 1e-5 : eps;
    }

    @Override
    public List<TensorBinding> bindings(ComputationGraph net) {
        List<TensorBinding> out = new ArrayList<>();
        int blocks = 0;
        for (GraphVertex v : NativeLayout.layerVertices(net)) {
            Layer conf = v.getLayer().conf().getLayer();
            String vertex = v.getVertexName();
            Map<String, String> table;
            String prefix;
            if (conf instanceof TokenPositionEmbedding) {
                table = EMBEDDING;
                prefix = "transformer.";
            } else if (conf instanceof TransformerBlock b) {
                if (!b.getCausal()) {
                    throw new UsageException("--layout hf: block " + vertex + " has bidirectional attention; GPT-2 is"
                        + " causal (use --layout native)");
                }
                table = BLOCK;
                prefix = "transformer.h." + blocks++ + ".";
            } else if (conf instanceof LmHead) {
                table = OUTPUT;
                prefix = "";
            } else {
                throw new UsageException("--layout hf: layer " + vertex + " (" + conf.getClass().getSimpleName()
                    + ") has no GPT-2 equivalent (use --layout native)");
            }
            Map<String, ParamSpec> specs = new LinkedHashMap<>();
            for (ParamSpec s : ((TransformerLayerConf) conf).paramSpecs()) {
                specs.put(s.key(), s);
            }
            for (Map.Entry<String, String> e : table.entrySet()) {
                ParamSpec s = specs.remove(e.getKey());
                if (s == null) {
                    throw new IllegalStateException("layer " + vertex + " has no parameter " + e.getKey());
                }
                out.add(TensorBinding.of(prefix + e.getValue(), vertex, s.key(), new long[] {s.rows(), s.cols()},
                    s.key().equals(LmHead.HEAD) && conf instanceof LmHead));
            }
            if (!specs.isEmpty()) {
                throw new UsageException("--layout hf: parameters " + specs.keySet() + " of layer " + vertex
                    + " have no GPT-2 equivalent (use --layout native)");
            }
        }
        return out;
    }

    @Override
    public boolean recognises(JsonNode config) {
        return MODEL_TYPE.equals(config.path("model_type").asText(null));
    }

    @Override
    public Architecture architecture(JsonNode c) {
        int v = intKey(c, "vocab_size");
        int t = intKey(c, "n_positions");
        int d = intKey(c, "n_embd");
        int layers = intKey(c, "n_layer");
        int heads = intKey(c, "n_head");
        JsonNode inner = c.path("n_inner");
        int dff = inner.isMissingNode() || inner.isNull() ? 4 * d : intKey(c, "n_inner");
        String act = c.path("activation_function").asText(ACTIVATION);
        if (!act.equals(ACTIVATION) && !act.equals("gelu_pytorch_tanh")) {
            throw new UsageException("config.json: activation_function '" + act + "' is not our GELU (the tanh"
                + " approximation: gelu_new or gelu_pytorch_tanh)");
        }
        double eps = c.path("layer_norm_epsilon").asDouble(1e-5);
        if (eps != 1e-5) {
            throw new UsageException("config.json: layer_norm_epsilon " + eps + " is not ours (1e-5)");
        }
        requireFlag(c, "scale_attn_weights", true);
        requireFlag(c, "scale_attn_by_inverse_layer_idx", false);
        requireFlag(c, "add_cross_attention", false);
        double dropout = c.path("resid_pdrop").asDouble(0.1);
        for (String k : List.of("embd_pdrop", "attn_pdrop")) {
            double p = c.path(k).asDouble(0.1);
            if (p != dropout) {
                LOG.warn("config.json: {} {} differs from resid_pdrop {}; our model has one dropout rate: using {}",
                    k, p, dropout, dropout);
            }
        }
        TransformerConfig model;
        try {
            model = new TransformerConfig(v, layers, d, heads, dff, t, dropout, AttentionMode.CAUSAL);
        } catch (IllegalArgumentException e) {
            throw new UsageException("config.json: " + e.getMessage());
        }
        return new Architecture(model, Objective.CLM, c.path("tie_word_embeddings").asBoolean(true));
    }

    private static int intKey(JsonNode c, String key) {
        JsonNode n = c.get(key);
        if (n == null || !n.isIntegralNumber() || !n.canConvertToInt()) {
            throw new UsageException("config.json: " + key + " must be an integer, got " + (n == null ? "nothing"
                : n.toString()));
        }
        return n.asInt();
    }

    private static void requireFlag(JsonNode c, String key, boolean ours) {
        JsonNode n = c.get(key);
        if (n != null && !n.isNull() && n.asBoolean(!ours) != ours) {
            throw new UsageException("config.json: " + key + " " + n + " is not supported (our model has " + ours
                + ")");
        }
    }

    @Override
    public List<TensorBinding> importBindings(ComputationGraph net, Architecture a) {
        List<TensorBinding> out = new ArrayList<>();
        for (TensorBinding b : bindings(net)) {
            if (a.tiedHead() && b.name().equals(LM_HEAD)) {
                out.add(new TensorBinding(WTE, b.vertex(), b.key(), b.shape(), true));
            } else {
                out.add(b);
            }
        }
        return out;
    }

    @Override
    public boolean ignored(String tensor, Architecture a) {
        return MASK_BUFFER.matcher(tensor).matches() || a.tiedHead() && tensor.equals(LM_HEAD);
    }
}
