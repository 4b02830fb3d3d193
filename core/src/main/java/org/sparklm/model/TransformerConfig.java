package org.sparklm.model;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
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
import org.sparklm.config.Keyed;

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
 * @param attention causal (GPT, next-token prediction) or bidirectional (BERT, masked LM); decoder-only models
 * @param architecture decoder-only (the above) or encoder-decoder (T5, Raffel et al. 2020: see below)
 * @param encoderLayers encoder blocks (encoder-decoder; 0 for decoder-only)
 * @param decoderLayers decoder blocks (encoder-decoder; 0 for decoder-only)
 * @param encoderContext encoder input length Te (encoder-decoder; 0 for decoder-only)
 * @param decoderContext decoder input and target length Td (encoder-decoder; 0 for decoder-only)
 * @param tiedEmbeddings whether the output projection is the token embedding (encoder-decoder only)
 * @param relativeBuckets T5's relative position buckets per direction pair (encoder-decoder; 0 for decoder-only)
 * @param relativeMaxDistance the distance from which all positions share the last bucket (encoder-decoder)
 *
 * <p>Encoder-decoder ({@code architecture = encoder-decoder}): an encoder of {@code encoder_layers} pre-LayerNorm
 * blocks (bidirectional self-attention with the padding mask) and a decoder of {@code decoder_layers} blocks (causal
 * self-attention, cross-attention over the encoder's output, MLP), a final LayerNorm on each stack, one token
 * embedding for encoder input, decoder input and, with {@code tied_embeddings}, the output projection; positions are
 * T5's bucketed relative position bias, one table per stack. For these {@code layers} is the total number of blocks
 * and {@code context_length} the encoder's; dropout must be 0 (T5 v1.1 pretrains without it).
 */
public record TransformerConfig(int vocabSize, int layers, int dModel, int heads, int dFf, int contextLength,
                                double dropout, AttentionMode attention, Architecture architecture,
                                int encoderLayers, int decoderLayers, int encoderContext, int decoderContext,
                                boolean tiedEmbeddings, int relativeBuckets, int relativeMaxDistance) {

    /** Decoder-only (GPT/BERT-style, one stack) or encoder-decoder (T5). */
    public enum Architecture implements Keyed {
        DECODER,
        ENCODER_DECODER;

        public static Architecture parse(String s) {
            return Keyed.parse(Architecture.class, "architecture", s);
        }
    }

    /** The keys of a config file, in the order {@link #toJson()} writes them. */
    public static final List<String> KEYS = List.of("vocab_size", "layers", "d_model", "heads", "d_ff",
        "context_length", "dropout", "attention", "architecture", "encoder_layers", "decoder_layers",
        "encoder_context_length", "decoder_context_length", "tied_embeddings", "relative_buckets",
        "relative_max_distance");

    /** The keys that only an encoder-decoder config may set. */
    public static final List<String> ENCODER_DECODER_KEYS = List.of("encoder_layers", "decoder_layers",
        "encoder_context_length", "decoder_context_length", "tied_embeddings", "relative_buckets",
        "relative_max_distance");

    /** A decoder-only model (the original eight keys). */
    public TransformerConfig(int vocabSize, int layers, int dModel, int heads, int dFf, int contextLength,
                             double dropout, AttentionMode attention) {
        this(vocabSize, layers, dModel, heads, dFf, contextLength, dropout, attention, Architecture.DECODER, 0, 0, 0,
            0, false, 0, 0);
    }

    /**
     * An encoder-decoder model; {@code layers} becomes {@code encoderLayers + decoderLayers} and the context length
     * the encoder's.
     */
    public static TransformerConfig encoderDecoder(int vocabSize, int dModel, int heads, int dFf, int encoderLayers,
                                                   int decoderLayers, int encoderContext, int decoderContext,
                                                   boolean tied, int buckets, int maxDistance) {
        return new TransformerConfig(vocabSize, encoderLayers + decoderLayers, dModel, heads, dFf, encoderContext, 0.0,
            AttentionMode.CAUSAL, Architecture.ENCODER_DECODER, encoderLayers, decoderLayers, encoderContext,
            decoderContext, tied, buckets, maxDistance);
    }

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
        if (architecture == null) {
            throw new IllegalArgumentException("architecture must be decoder or encoder-decoder, got null");
        }
        if (architecture == Architecture.ENCODER_DECODER) {
            check("encoder_layers", encoderLayers, encoderLayers >= 1, ">= 1");
            check("decoder_layers", decoderLayers, decoderLayers >= 1, ">= 1");
            check("encoder_context_length", encoderContext, encoderContext >= 1, ">= 1");
            check("decoder_context_length", decoderContext, decoderContext >= 1, ">= 1");
            check("relative_buckets", relativeBuckets, relativeBuckets >= 4 && relativeBuckets % 2 == 0,
                "an even number >= 4");
            check("relative_max_distance", relativeMaxDistance, relativeMaxDistance > relativeBuckets / 2,
                "> relative_buckets / 2 (" + relativeBuckets / 2 + ")");
            if (layers != encoderLayers + decoderLayers) {
                throw new IllegalArgumentException("layers of an encoder-decoder must be encoder_layers + "
                    + "decoder_layers = " + (encoderLayers + decoderLayers) + ", got " + layers);
            }
            if (contextLength != encoderContext) {
                throw new IllegalArgumentException("context_length of an encoder-decoder must be "
                    + "encoder_context_length = " + encoderContext + ", got " + contextLength);
            }
            if (dropout != 0) {
                throw new IllegalArgumentException("dropout of an encoder-decoder must be 0 (not implemented), got "
                    + dropout);
            }
        } else if (encoderLayers != 0 || decoderLayers != 0 || encoderContext != 0 || decoderContext != 0
            || tiedEmbeddings || relativeBuckets != 0 || relativeMaxDistance != 0) {
            throw new IllegalArgumentException("encoder_layers, decoder_layers, encoder/decoder_context_length, "
                + "tied_embeddings and relative_* apply only to architecture = encoder-decoder");
        }
    }

    /** Whether this is an encoder-decoder (T5) model. */
    public boolean isEncoderDecoder() {
        return architecture == Architecture.ENCODER_DECODER;
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
        return new TransformerConfig(v, layers, dModel, heads, dFf, contextLength, dropout, attention, architecture,
            encoderLayers, decoderLayers, encoderContext, decoderContext, tiedEmbeddings, relativeBuckets,
            relativeMaxDistance);
    }

    /** The same model with that attention; an encoder-decoder has both kinds and stays as it is. */
    public TransformerConfig withAttention(AttentionMode a) {
        if (isEncoderDecoder()) {
            return this;
        }
        return new TransformerConfig(vocabSize, layers, dModel, heads, dFf, contextLength, dropout, a);
    }

    /** The same model with that dropout; an encoder-decoder (dropout 0 only) stays as it is when asked for 0. */
    public TransformerConfig withDropout(double d) {
        if (isEncoderDecoder()) {
            if (d != 0) {
                throw new IllegalArgumentException("dropout of an encoder-decoder must be 0 (not implemented), got "
                    + d);
            }
            return this;
        }
        return new TransformerConfig(vocabSize, layers, dModel, heads, dFf, contextLength, d, attention);
    }

    public TransformerConfig withContextLength(int t) {
        if (isEncoderDecoder()) {
            return new TransformerConfig(vocabSize, layers, dModel, heads, dFf, t, dropout, attention, architecture,
                encoderLayers, decoderLayers, t, decoderContext, tiedEmbeddings, relativeBuckets,
                relativeMaxDistance);
        }
        return new TransformerConfig(vocabSize, layers, dModel, heads, dFf, t, dropout, attention);
    }

    /** Parameters of a decoder block's cross-attention: its LayerNorm and the query, key/value and output maps. */
    public long crossAttentionParameters() {
        long d = dModel;
        return 2 * d + (d * d + d) + (d * 2 * d + 2 * d) + (d * d + d);
    }

    /** Parameters of one block: two LayerNorms, the attention projections and the MLP, biases included. */
    public long blockParameters() {
        long d = dModel;
        long f = dFf;
        return 2 * (2 * d) + (d * 3 * d + 3 * d) + (d * d + d) + (d * f + f) + (f * d + d);
    }

    /** Token and position embeddings (encoder-decoder: the one token embedding). */
    public long embeddingParameters() {
        if (isEncoderDecoder()) {
            return (long) vocabSize * dModel;
        }
        return (long) vocabSize * dModel + (long) contextLength * dModel;
    }

    /**
     * Every parameter except the embeddings: the blocks, the final LayerNorm and the LM head (no bias); for an
     * encoder-decoder both stacks with their final LayerNorms, the decoder's cross-attention, the two relative
     * position tables and the untied output projection (none when tied).
     */
    public long nonEmbeddingParameters() {
        if (isEncoderDecoder()) {
            return (long) (encoderLayers + decoderLayers) * blockParameters()
                + (long) decoderLayers * crossAttentionParameters() + 2 * 2L * dModel
                + 2L * relativeBuckets * heads + (tiedEmbeddings ? 0 : (long) dModel * vocabSize);
        }
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
        if (isEncoderDecoder()) {
            return trainingFlopsPerSequence() / (encoderContext + decoderContext);
        }
        return denseFlopsPerToken() + attentionFlopsPerToken();
    }

    /**
     * The {@code 6 N} part of {@link #trainingFlopsPerToken()} of a decoder-only model: N the non-embedding
     * parameters, LM head included.
     */
    public double denseFlopsPerToken() {
        return 6.0 * nonEmbeddingParameters();
    }

    /** The {@code 12 L T d} part of {@link #trainingFlopsPerToken()} of a decoder-only model: attention products. */
    public double attentionFlopsPerToken() {
        return 12.0 * layers * (double) contextLength * dModel;
    }

    /**
     * Encoder-decoder training FLOPs of one (input, target) pair at full contexts, the same rule as
     * {@link #trainingFlopsPerToken()} applied to each matrix over the rows it multiplies: {@code 6 x rows x
     * parameters} for the encoder blocks and the decoder's cross-attention key/value map (Te rows), the rest of the
     * decoder and the output projection (Td rows, tied or not: it is a product either way), plus the attention
     * products {@code 12 d (Le Te^2 + Ld Td^2 + Ld Td Te)}. Per token (input plus target tokens) it is this divided
     * by {@code Te + Td}.
     */
    public double trainingFlopsPerSequence() {
        double d = dModel;
        double te = encoderContext;
        double td = decoderContext;
        double kv = d * 2 * d + 2 * d;
        double head = d * vocabSize;
        double enc = encoderLayers * (double) blockParameters() + 2 * d;
        double dec = decoderLayers * (double) (blockParameters() + crossAttentionParameters() - kv) + 2 * d;
        return 6.0 * (te * (enc + decoderLayers * kv) + td * (dec + head))
            + 12.0 * d * (encoderLayers * te * te + decoderLayers * td * td + decoderLayers * td * te);
    }

    /** Tokens of one training example: the context, or for an encoder-decoder the input plus target lengths. */
    public int tokensPerExample() {
        return isEncoderDecoder() ? encoderContext + decoderContext : contextLength;
    }

    /** The config as JSON with the file keys ({@link #KEYS}); {@link #fromJson} reads it back. */
    public String toJson() {
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(toJsonNode()) + "\n";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The config as a JSON object with the file keys: also how Jackson writes it inside other records (a run's
     * {@code model}), so a decoder-only model has exactly the eight keys of earlier versions and an encoder-decoder
     * adds its own.
     */
    @JsonValue
    public ObjectNode toJsonNode() {
        ObjectNode o = JSON.createObjectNode();
        o.put("vocab_size", vocabSize);
        o.put("layers", layers);
        o.put("d_model", dModel);
        o.put("heads", heads);
        o.put("d_ff", dFf);
        o.put("context_length", contextLength);
        o.put("dropout", dropout);
        o.put("attention", attention.key());
        if (isEncoderDecoder()) {
            o.put("architecture", architecture.key());
            o.put("encoder_layers", encoderLayers);
            o.put("decoder_layers", decoderLayers);
            o.put("encoder_context_length", encoderContext);
            o.put("decoder_context_length", decoderContext);
            o.put("tied_embeddings", tiedEmbeddings);
            o.put("relative_buckets", relativeBuckets);
            o.put("relative_max_distance", relativeMaxDistance);
        }
        return o;
    }

    /** Reads {@link #toJsonNode()}'s object (Jackson's way in, for records holding a config). */
    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    public static TransformerConfig fromJsonNode(JsonNode n) {
        return fromJson(n.toString());
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
                        + " and no built-in config of that name (built-in: tiny, small, t5-tiny, t5-small)");
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
        Architecture arch;
        try {
            arch = v.containsKey("architecture") ? Architecture.parse(v.get("architecture")) : Architecture.DECODER;
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
        if (arch == Architecture.ENCODER_DECODER) {
            return encoderDecoderFromMap(v, source, dModel);
        }
        for (String k : ENCODER_DECODER_KEYS) {
            if (v.containsKey(k)) {
                throw new IllegalArgumentException(source + ": " + k + " applies only to architecture = "
                    + "encoder-decoder");
            }
        }
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

    private static TransformerConfig encoderDecoderFromMap(Map<String, String> v, String source, int dModel) {
        int enc = intValue(v, "encoder_layers", source);
        int dec = intValue(v, "decoder_layers", source);
        int te = intValue(v, "encoder_context_length", source);
        int td = intValue(v, "decoder_context_length", source);
        String tied = v.getOrDefault("tied_embeddings", "true").strip();
        if (!tied.equals("true") && !tied.equals("false")) {
            throw new IllegalArgumentException(source + ": tied_embeddings must be true or false, got '" + tied + "'");
        }
        try {
            if (v.containsKey("layers") && intValue(v, "layers", source) != enc + dec) {
                throw new IllegalArgumentException("layers of an encoder-decoder must be encoder_layers + "
                    + "decoder_layers = " + (enc + dec) + " (or left out), got " + v.get("layers"));
            }
            if (v.containsKey("context_length") && intValue(v, "context_length", source) != te) {
                throw new IllegalArgumentException("context_length of an encoder-decoder must be "
                    + "encoder_context_length = " + te + " (or left out), got " + v.get("context_length"));
            }
            if (v.containsKey("dropout") && doubleValue(v, "dropout", source) != 0) {
                throw new IllegalArgumentException("dropout of an encoder-decoder must be 0 (not implemented), got "
                    + v.get("dropout"));
            }
            return encoderDecoder(intValue(v, "vocab_size", source), dModel, intValue(v, "heads", source),
                v.containsKey("d_ff") ? intValue(v, "d_ff", source) : 4 * dModel, enc, dec, te, td,
                tied.equals("true"),
                v.containsKey("relative_buckets") ? intValue(v, "relative_buckets", source) : 32,
                v.containsKey("relative_max_distance") ? intValue(v, "relative_max_distance", source) : 128);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage().startsWith(source) ? e.getMessage()
                : source + ": " + e.getMessage(), e);
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
