package org.sparklm.export;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * GPT-2's forward pass (Radford et al. 2019; as HF transformers' {@code modeling_gpt2.py} and nanoGPT's
 * {@code model.py} compute it), in plain Java and double precision, from an export directory's
 * {@code model.safetensors} and {@code config.json} alone: nothing of our model code or our safetensors reader.
 *
 * <pre>
 *   x = wte[tokens] + wpe[0..T)
 *   per block: x += c_proj(attn(ln_1(x)));  x += mlp.c_proj(gelu_new(mlp.c_fc(ln_2(x))))
 *   logits = ln_f(x) lm_head^T          Conv1D(x) = x W + b with W [in, out]; lm_head [vocab, d]
 * </pre>
 *
 * <p>With {@link #withAdapter} a PEFT LoRA adapter directory is applied as PEFT applies it to GPT-2's Conv1D modules
 * ({@code fan_in_fan_out}), and {@link #classify} computes a sequence classifier's probabilities from its
 * {@code score} head; written from PEFT's formulas, not from our adapter or head code.
 */
final class Gpt2Reference {
    private final int d;
    private final int layers;
    private final int heads;
    private final int vocab;
    private final double eps;
    private final Map<String, float[]> w = new HashMap<>();
    private final Map<String, Lora> lora = new HashMap<>();
    private float[] scoreWeight;
    private float[] scoreBias;

    private Gpt2Reference(JsonNode config) {
        d = config.get("n_embd").asInt();
        layers = config.get("n_layer").asInt();
        heads = config.get("n_head").asInt();
        vocab = config.get("vocab_size").asInt();
        eps = config.get("layer_norm_epsilon").asDouble();
        if (!config.get("activation_function").asText().equals("gelu_new")) {
            throw new IllegalArgumentException("only gelu_new");
        }
    }

    static Gpt2Reference load(Path dir) throws IOException {
        ObjectMapper json = new ObjectMapper();
        Gpt2Reference g = new Gpt2Reference(json.readTree(dir.resolve("config.json").toFile()));
        g.w.putAll(readTensors(dir.resolve("model.safetensors")));
        return g;
    }

    /** Every tensor of a safetensors file (F32), by name, read with nothing but ByteBuffer and Jackson. */
    static Map<String, float[]> readTensors(Path file) throws IOException {
        ObjectMapper json = new ObjectMapper();
        byte[] bytes = Files.readAllBytes(file);
        int n = (int) ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        JsonNode header = json.readTree(new String(bytes, 8, n, StandardCharsets.UTF_8));
        Map<String, float[]> out = new HashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                continue;
            }
            int begin = e.getValue().get("data_offsets").get(0).asInt();
            int end = e.getValue().get("data_offsets").get(1).asInt();
            float[] v = new float[(end - begin) / 4];
            ByteBuffer.wrap(bytes, 8 + n + begin, end - begin).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
            out.put(e.getKey(), v);
        }
        return out;
    }

    /**
     * A LoRA adapter of one Conv1D module as HF PEFT applies it ({@code peft/tuners/lora/layer.py}, Linear with
     * {@code fan_in_fan_out}): {@code y = x W + b + scaling (dropout(x) lora_A^T) lora_B^T}; merged,
     * {@code W + scaling (lora_B lora_A)^T}.
     *
     * @param a       lora_A.weight [r, in]
     * @param b       lora_B.weight [out, r]
     * @param scaling lora_alpha / r of the module (rank_pattern and alpha_pattern applied)
     */
    record Lora(int r, float[] a, float[] b, double scaling) {
        /** The merged Conv1D weight [in, out]: {@code W + scaling (B A)^T}. */
        double[] fold(float[] w, int in, int out) {
            double[] m = new double[w.length];
            for (int i = 0; i < in; i++) {
                for (int o = 0; o < out; o++) {
                    double ba = 0;
                    for (int k = 0; k < r; k++) {
                        ba += (double) b[o * r + k] * a[k * in + i];
                    }
                    m[i * out + o] = w[i * out + o] + scaling * ba;
                }
            }
            return m;
        }
    }

    /** PEFT's {@code get_pattern_key}: the first pattern key k with {@code (.*\\.)?(k)$} matching the module. */
    static String patternKey(JsonNode patterns, String module) {
        for (Iterator<String> it = patterns.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (java.util.regex.Pattern.matches("(.*\\.)?(" + k + ")", module)) {
                return k;
            }
        }
        return module;
    }

    /**
     * The adapters of a PEFT adapter directory ({@code adapter_config.json}, {@code adapter_model.safetensors}), by
     * module name ({@code transformer.h.0.attn.c_attn}), each with PEFT's scaling: {@code lora_alpha / r} with the
     * module's entries of {@code alpha_pattern} and {@code rank_pattern}.
     */
    static Map<String, Lora> loraAdapters(Path adapterDir, Map<String, float[]> tensors) throws IOException {
        JsonNode c = new ObjectMapper().readTree(adapterDir.resolve("adapter_config.json").toFile());
        Map<String, Lora> out = new HashMap<>();
        String prefix = "base_model.model.";
        for (String name : tensors.keySet()) {
            if (!name.endsWith(".lora_A.weight")) {
                continue;
            }
            String module = name.substring(prefix.length(), name.length() - ".lora_A.weight".length());
            String rk = patternKey(c.get("rank_pattern"), module);
            String ak = patternKey(c.get("alpha_pattern"), module);
            int r = c.get("rank_pattern").has(rk) ? c.get("rank_pattern").get(rk).asInt() : c.get("r").asInt();
            double alpha = c.get("alpha_pattern").has(ak) ? c.get("alpha_pattern").get(ak).asDouble()
                : c.get("lora_alpha").asDouble();
            out.put(module, new Lora(r, tensors.get(name), tensors.get(prefix + module + ".lora_B.weight"),
                alpha / r));
        }
        return out;
    }

    /** Applies the adapters of a PEFT adapter directory in the forward pass (unmerged, as PEFT does). */
    Gpt2Reference withAdapter(Path adapterDir) throws IOException {
        Map<String, float[]> tensors = readTensors(adapterDir.resolve("adapter_model.safetensors"));
        lora.putAll(loraAdapters(adapterDir, tensors));
        scoreWeight = tensors.get("base_model.model.score.weight");
        scoreBias = tensors.get("base_model.model.score.bias");
        return this;
    }

    private float[] t(String name) {
        float[] v = w.get(name);
        if (v == null) {
            throw new IllegalArgumentException("no tensor " + name);
        }
        return v;
    }

    /** The Conv1D {@code module} ({@code transformer.h.N.attn.c_attn} ...), with its LoRA adapter if it has one. */
    private double[][] conv1d(String module, double[][] x) {
        double[][] y = conv1d(x, t(module + ".weight"), t(module + ".bias"));
        Lora l = lora.get(module);
        if (l != null) {
            int in = x[0].length;
            int out = y[0].length;
            for (int t = 0; t < x.length; t++) {
                double[] xa = new double[l.r()];
                for (int k = 0; k < l.r(); k++) {
                    for (int i = 0; i < in; i++) {
                        xa[k] += x[t][i] * l.a()[k * in + i];
                    }
                }
                for (int o = 0; o < out; o++) {
                    double s = 0;
                    for (int k = 0; k < l.r(); k++) {
                        s += xa[k] * l.b()[o * l.r() + k];
                    }
                    y[t][o] += l.scaling() * s;
                }
            }
        }
        return y;
    }

    /** x [T][in] times W [in, out] (row-major) plus b [out]. */
    private static double[][] conv1d(double[][] x, float[] wt, float[] b) {
        int in = x[0].length;
        int out = b.length;
        double[][] y = new double[x.length][out];
        for (int t = 0; t < x.length; t++) {
            for (int o = 0; o < out; o++) {
                double s = b[o];
                for (int i = 0; i < in; i++) {
                    s += x[t][i] * wt[i * out + o];
                }
                y[t][o] = s;
            }
        }
        return y;
    }

    private double[][] layerNorm(double[][] x, String prefix) {
        float[] g = t(prefix + ".weight");
        float[] b = t(prefix + ".bias");
        double[][] y = new double[x.length][d];
        for (int t = 0; t < x.length; t++) {
            double mean = 0;
            for (double v : x[t]) {
                mean += v / d;
            }
            double var = 0;
            for (double v : x[t]) {
                var += (v - mean) * (v - mean) / d;
            }
            for (int i = 0; i < d; i++) {
                y[t][i] = (x[t][i] - mean) / Math.sqrt(var + eps) * g[i] + b[i];
            }
        }
        return y;
    }

    /** Causal multi-head self-attention on the fused q|k|v projection, heads contiguous within each. */
    private double[][] attention(double[][] qkv) {
        int n = qkv.length;
        int dh = d / heads;
        double[][] y = new double[n][d];
        for (int h = 0; h < heads; h++) {
            for (int t = 0; t < n; t++) {
                double[] a = new double[t + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int s = 0; s <= t; s++) {
                    double dot = 0;
                    for (int j = 0; j < dh; j++) {
                        dot += qkv[t][h * dh + j] * qkv[s][d + h * dh + j];
                    }
                    a[s] = dot / Math.sqrt(dh);
                    max = Math.max(max, a[s]);
                }
                double z = 0;
                for (int s = 0; s <= t; s++) {
                    a[s] = Math.exp(a[s] - max);
                    z += a[s];
                }
                for (int s = 0; s <= t; s++) {
                    for (int j = 0; j < dh; j++) {
                        y[t][h * dh + j] += a[s] / z * qkv[s][2 * d + h * dh + j];
                    }
                }
            }
        }
        return y;
    }

    private static double geluNew(double x) {
        return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    }

    private static void addInto(double[][] x, double[][] y) {
        for (int t = 0; t < x.length; t++) {
            for (int i = 0; i < x[t].length; i++) {
                x[t][i] += y[t][i];
            }
        }
    }

    /** The final hidden states [T][d] of a token sequence: {@code ln_f} of the last block's output. */
    double[][] hidden(int[] tokens) {
        float[] wte = t("transformer.wte.weight");
        float[] wpe = t("transformer.wpe.weight");
        double[][] x = new double[tokens.length][d];
        for (int t = 0; t < tokens.length; t++) {
            for (int i = 0; i < d; i++) {
                x[t][i] = wte[tokens[t] * d + i] + wpe[t * d + i];
            }
        }
        for (int l = 0; l < layers; l++) {
            String p = "transformer.h." + l + ".";
            double[][] qkv = conv1d(p + "attn.c_attn", layerNorm(x, p + "ln_1"));
            addInto(x, conv1d(p + "attn.c_proj", attention(qkv)));
            double[][] hidden = conv1d(p + "mlp.c_fc", layerNorm(x, p + "ln_2"));
            for (double[] row : hidden) {
                for (int i = 0; i < row.length; i++) {
                    row[i] = geluNew(row[i]);
                }
            }
            addInto(x, conv1d(p + "mlp.c_proj", hidden));
        }
        return layerNorm(x, "transformer.ln_f");
    }

    /** The logits [T][vocab] of a token sequence. */
    double[][] logits(int[] tokens) {
        double[][] h = hidden(tokens);
        float[] head = t("lm_head.weight");
        double[][] logits = new double[tokens.length][vocab];
        for (int t = 0; t < tokens.length; t++) {
            for (int v = 0; v < vocab; v++) {
                double s = 0;
                for (int i = 0; i < d; i++) {
                    s += h[t][i] * head[v * d + i];
                }
                logits[t][v] = s;
            }
        }
        return logits;
    }

    /**
     * Class probabilities of one example (already framed: [CLS] prepended / [EOS] appended as the classifier's
     * sparklm_classifier.json says), from the adapter's {@code score.weight [C, d]} and {@code score.bias}: the
     * softmax of {@code score(pool(hidden))}, pooling {@code first}, {@code last} or {@code mean}.
     */
    double[] classify(int[] tokens, String pooling) {
        double[][] h = hidden(tokens);
        double[] pooled = new double[d];
        switch (pooling) {
            case "first" -> pooled = h[0];
            case "last" -> pooled = h[tokens.length - 1];
            case "mean" -> {
                for (double[] row : h) {
                    for (int i = 0; i < d; i++) {
                        pooled[i] += row[i] / tokens.length;
                    }
                }
            }
            default -> throw new IllegalArgumentException(pooling);
        }
        int classes = scoreBias.length;
        double[] z = new double[classes];
        for (int c = 0; c < classes; c++) {
            z[c] = scoreBias[c];
            for (int i = 0; i < d; i++) {
                z[c] += pooled[i] * scoreWeight[c * d + i];
            }
        }
        double[] logp = logSoftmax(z);
        for (int c = 0; c < classes; c++) {
            logp[c] = Math.exp(logp[c]);
        }
        return logp;
    }

    /** Log-softmax of one row of logits. */
    static double[] logSoftmax(double[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : logits) {
            max = Math.max(max, v);
        }
        double z = 0;
        for (double v : logits) {
            z += Math.exp(v - max);
        }
        double[] out = new double[logits.length];
        for (int i = 0; i < logits.length; i++) {
            out[i] = logits[i] - max - Math.log(z);
        }
        return out;
    }
}
