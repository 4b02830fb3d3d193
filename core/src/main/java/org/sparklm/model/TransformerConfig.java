package org.sparklm.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The sizes of a Transformer language model (Vaswani et al. 2017, "Attention Is All You Need"), in the pre-LayerNorm
 * arrangement of GPT-2 (Radford et al. 2019): token and learned position embeddings, {@code layers} blocks of
 * multi-head self-attention and a GELU MLP of width {@code dFf}, a final LayerNorm and an untied LM head.
 *
 * <p>Named configs live in {@code conf/models/NAME.conf} (also on the classpath, so a jar loads {@code tiny} and
 * {@code small} by name). The format is one {@code key = value} per line, {@code #} starts a comment; the keys are
 * {@link #KEYS}. The vocabulary size normally comes from the tokenizer, as an override; an unknown key or a bad value
 * is an error that names it.
 *
 * @param vocabSize number of token ids (the tokenizer's vocabulary)
 * @param layers number of Transformer blocks
 * @param dModel width of the residual stream
 * @param heads attention heads; must divide {@code dModel}
 * @param dFf width of the MLP hidden layer (default {@code 4 * dModel})
 * @param contextLength maximum sequence length (number of learned positions)
 * @param dropout dropout rate on embeddings, attention probabilities and residual branches, in [0, 1)
 * @param attention causal (GPT, next-token prediction) or bidirectional (BERT, masked LM)
 */
public record TransformerConfig(int vocabSize, int layers, int dModel, int heads, int dFf, int contextLength,
                                double dropout, AttentionMode attention) {

    /** The keys of a config file, in the order {@link #toJson()} writes them. */
    public static final List<String> KEYS = List.of("vocab_size", "layers", "d_model", "heads", "d_ff",
        "context_length", "dropout", "attention");

    /** Classpath folder of the built-in named configs (copied from {@code conf/models} at build time). */
    public static final String RESOURCE_DIR = "org/sparklm/models/";

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]+");
    private static final ObjectMapper JSON = new ObjectMapper();

    public TransformerConfig {
        check("vocab_size", vocabSize, vocabSize >= 2, ">= 2");
        check("layers", layers, layers >= 1, ">= 1");
        check("d_model", dModel, dModel >= 1, ">= 1");
        check("heads", heads, heads >= 1, ">= 1");
        if (dModel % heads != 0) {
            throw new IllegalArgumentException("heads must divide d_model, got heads = " + heads + ", d_model = "
                + dModel);
        }
        check("d_ff", dFf, dFf >= 1, ">= 1");
        check("context_length", contextLength, contextLength >= 1, ">= 1");
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("dropout must be in [0, 1), got " + dropout);
        }
        if (attention == null) {
            throw new IllegalArgumentException("attention must be causal or bidirectional, got null");
        }
    }

    private static void check(String key, long value, boolean ok, String rule) {
        if (!ok) {
            throw new IllegalArgumentException(key + " must be " + rule + ", got " + value);
        }
    }

    /** Width of one attention head. */
    public int headDim() {
        return dModel / heads;
    }

    public TransformerConfig withVocabSize(int v) {
        return new TransformerConfig(v, layers, dModel, heads, dFf, contextLength, dropout, attention);
    }

    public TransformerConfig withAttention(AttentionMode a) {
        return new TransformerConfig(vocabSize, layers, dModel, heads, dFf, contextLength, dropout, a);
    }

    public TransformerConfig withDropout(double d) {
        return new TransformerConfig(vocabSize, layers, dModel, heads, dFf, contextLength, d, attention);
    }

    public TransformerConfig withContextLength(int t) {
        return new TransformerConfig(vocabSize, layers, dModel, heads, dFf, t, dropout, attention);
    }

    /** Parameters of one block: two LayerNorms, the attention projections and the MLP, biases included. */
    public long blockParameters() {
        long d = dModel;
        long f = dFf;
        return 2 * (2 * d) + (d * 3 * d + 3 * d) + (d * d + d) + (d * f + f) + (f * d + d);
    }

    /** Token and position embeddings. */
    public long embeddingParameters() {
        return (long) vocabSize * dModel + (long) contextLength * dModel;
    }

    /** Every parameter except the embeddings: the blocks, the final LayerNorm and the LM head (no bias). */
    public long nonEmbeddingParameters() {
        return layers * blockParameters() + 2L * dModel + (long) dModel * vocabSize;
    }

    /** All parameters of the model built by {@link TransformerLm}. */
    public long parameterCount() {
        return embeddingParameters() + nonEmbeddingParameters();
    }

    /**
     * Training FLOPs per token (forward and backward), counting multiply-adds as two: {@code 6 N + 12 L T D}, with N
     * the non-embedding parameters (the LM head included: it is a matrix product, the embeddings are lookups) and
     * {@code 12 L T D} the attention scores and weighted sums at full context (PaLM, Chowdhery et al. 2022,
     * appendix B). The causal mask does not halve the attention term: the full T x T products are computed.
     */
    public double trainingFlopsPerToken() {
        return denseFlopsPerToken() + attentionFlopsPerToken();
    }

    /** The {@code 6 N} part of {@link #trainingFlopsPerToken()}: N the non-embedding parameters, LM head included. */
    public double denseFlopsPerToken() {
        return 6.0 * nonEmbeddingParameters();
    }

    /** The {@code 12 L T d} part of {@link #trainingFlopsPerToken()}: attention scores and weighted sums. */
    public double attentionFlopsPerToken() {
        return 12.0 * layers * (double) contextLength * dModel;
    }

    /** The config as JSON with the file keys ({@link #KEYS}); {@link #fromJson} reads it back. */
    public String toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("vocab_size", vocabSize);
        o.put("layers", layers);
        o.put("d_model", dModel);
        o.put("heads", heads);
        o.put("d_ff", dFf);
        o.put("context_length", contextLength);
        o.put("dropout", dropout);
        o.put("attention", attention.key());
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o) + "\n";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Reads {@link #toJson()}'s output; unknown keys and bad values are errors. */
    public static TransformerConfig fromJson(String json) {
        JsonNode n;
        try {
            n = JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException("model config JSON: " + e.getMessage(), e);
        }
        if (n == null || !n.isObject()) {
            throw new IllegalArgumentException("model config JSON: expected an object");
        }
        Map<String, String> values = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            values.put(e.getKey(), e.getValue().asText());
        }
        return fromMap(values, "model config JSON");
    }

    /**
     * Parses config text ({@code key = value} lines, {@code #} comments), then applies the overrides (same keys).
     *
     * @param source named in error messages (a file name)
     */
    public static TransformerConfig parse(String text, String source, Map<String, String> overrides) {
        Map<String, String> values = new LinkedHashMap<>();
        String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            int hash = line.indexOf('#');
            if (hash >= 0) {
                line = line.substring(0, hash);
            }
            line = line.strip();
            if (line.isEmpty()) {
                continue;
            }
            int eq = line.indexOf('=');
            String where = source + ":" + (i + 1);
            if (eq <= 0) {
                throw new IllegalArgumentException(where + ": expected 'key = value', got '" + line + "'");
            }
            String key = line.substring(0, eq).strip();
            String value = line.substring(eq + 1).strip();
            if (!KEYS.contains(key)) {
                throw new IllegalArgumentException(where + ": unknown key '" + key + "' (known: "
                    + String.join(", ", KEYS) + ")");
            }
            if (values.put(key, value) != null) {
                throw new IllegalArgumentException(where + ": key '" + key + "' given twice");
            }
        }
        for (Map.Entry<String, String> e : overrides.entrySet()) {
            if (!KEYS.contains(e.getKey())) {
                throw new IllegalArgumentException("unknown model config key '" + e.getKey() + "' (known: "
                    + String.join(", ", KEYS) + ")");
            }
            values.put(e.getKey(), e.getValue());
        }
        return fromMap(values, source);
    }

    /**
     * Loads a named config ({@code tiny}, {@code small}, ...) or a config file. A bare name is looked up as
     * {@code models/NAME.conf} in the conf directory (system property {@code sparklm.conf.dir}, else the environment
     * variable {@code SPARKLM_CONF_DIR}), then on the classpath ({@link #RESOURCE_DIR}); anything else is a file path.
     *
     * @param overrides keys replacing the file's values, typically {@code vocab_size} from the tokenizer
     */
    public static TransformerConfig load(String nameOrPath, Map<String, String> overrides) {
        if (NAME.matcher(nameOrPath).matches() && !Files.isRegularFile(Path.of(nameOrPath))) {
            Path dir = confDir();
            if (dir != null) {
                Path f = dir.resolve("models").resolve(nameOrPath + ".conf");
                if (Files.isRegularFile(f)) {
                    return parse(read(f), f.toString(), overrides);
                }
            }
            try (InputStream in = TransformerConfig.class.getClassLoader()
                .getResourceAsStream(RESOURCE_DIR + nameOrPath + ".conf")) {
                if (in == null) {
                    throw new IllegalArgumentException("unknown model '" + nameOrPath + "': no models/" + nameOrPath
                        + ".conf in the conf directory" + (dir == null ? "" : " (" + dir + ")")
                        + " and no built-in config of that name (built-in: tiny, small)");
                }
                return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), nameOrPath + ".conf", overrides);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        Path f = Path.of(nameOrPath);
        if (!Files.isRegularFile(f)) {
            throw new IllegalArgumentException("model config file not found: " + nameOrPath);
        }
        return parse(read(f), f.toString(), overrides);
    }

    private static Path confDir() {
        String d = System.getProperty("sparklm.conf.dir");
        if (d == null || d.isBlank()) {
            d = System.getenv("SPARKLM_CONF_DIR");
        }
        return d == null || d.isBlank() ? null : Path.of(d);
    }

    private static String read(Path f) {
        try {
            return Files.readString(f, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read model config " + f + ": " + e.getMessage(), e);
        }
    }

    private static TransformerConfig fromMap(Map<String, String> v, String source) {
        for (String k : v.keySet()) {
            if (!KEYS.contains(k)) {
                throw new IllegalArgumentException(source + ": unknown key '" + k + "' (known: "
                    + String.join(", ", KEYS) + ")");
            }
        }
        if (!v.containsKey("vocab_size")) {
            throw new IllegalArgumentException(source + ": vocab_size is not set (it normally comes from the"
                + " tokenizer)");
        }
        int dModel = intValue(v, "d_model", source);
        try {
            return new TransformerConfig(
                intValue(v, "vocab_size", source),
                intValue(v, "layers", source),
                dModel,
                intValue(v, "heads", source),
                v.containsKey("d_ff") ? intValue(v, "d_ff", source) : 4 * dModel,
                intValue(v, "context_length", source),
                v.containsKey("dropout") ? doubleValue(v, "dropout", source) : 0.1,
                v.containsKey("attention") ? AttentionMode.parse(v.get("attention")) : AttentionMode.CAUSAL);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
    }

    private static int intValue(Map<String, String> v, String key, String source) {
        String s = v.get(key);
        if (s == null) {
            throw new IllegalArgumentException(source + ": " + key + " is not set");
        }
        try {
            return Integer.parseInt(s.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(source + ": " + key + " must be an integer, got '" + s + "'");
        }
    }

    private static double doubleValue(Map<String, String> v, String key, String source) {
        String s = v.get(key);
        try {
            return Double.parseDouble(s.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(source + ": " + key + " must be a number, got '" + s + "'");
        }
    }
}
