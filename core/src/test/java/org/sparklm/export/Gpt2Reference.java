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
 */
final class Gpt2Reference {
    private final int d;
    private final int layers;
    private final int heads;
    private final int vocab;
    private final double eps;
    private final Map<String, float[]> w = new HashMap<>();

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
        byte[] file = Files.readAllBytes(dir.resolve("model.safetensors"));
        int n = (int) ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        JsonNode header = json.readTree(new String(file, 8, n, StandardCharsets.UTF_8));
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                continue;
            }
            int begin = e.getValue().get("data_offsets").get(0).asInt();
            int end = e.getValue().get("data_offsets").get(1).asInt();
            float[] v = new float[(end - begin) / 4];
            ByteBuffer.wrap(file, 8 + n + begin, end - begin).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
            g.w.put(e.getKey(), v);
        }
        return g;
    }

    private float[] t(String name) {
        float[] v = w.get(name);
        if (v == null) {
            throw new IllegalArgumentException("no tensor " + name);
        }
        return v;
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

    /** The logits [T][vocab] of a token sequence. */
    double[][] logits(int[] tokens) {
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
            double[][] qkv = conv1d(layerNorm(x, p + "ln_1"), t(p + "attn.c_attn.weight"), t(p + "attn.c_attn.bias"));
            addInto(x, conv1d(attention(qkv), t(p + "attn.c_proj.weight"), t(p + "attn.c_proj.bias")));
            double[][] hidden = conv1d(layerNorm(x, p + "ln_2"), t(p + "mlp.c_fc.weight"), t(p + "mlp.c_fc.bias"));
            for (double[] row : hidden) {
                for (int i = 0; i < row.length; i++) {
                    row[i] = geluNew(row[i]);
                }
            }
            addInto(x, conv1d(hidden, t(p + "mlp.c_proj.weight"), t(p + "mlp.c_proj.bias")));
        }
        double[][] h = layerNorm(x, "transformer.ln_f");
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
