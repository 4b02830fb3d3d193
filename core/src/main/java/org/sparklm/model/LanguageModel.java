package org.sparklm.model;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.sparklm.tokenizer.SpecialTokens;
import org.sparklm.tokenizer.Tokenizer;

/**
 * A trained model with its config, for inference in a plain JVM: next-token probabilities, text generation (causal
 * models) and masked-token filling (bidirectional models). Not thread-safe (DL4J networks are not).
 */
public final class LanguageModel {

    private final TransformerConfig config;
    private final ComputationGraph net;

    public LanguageModel(TransformerConfig config, ComputationGraph net) {
        long expected = config.parameterCount();
        if (net.numParams() != expected) {
            throw new IllegalArgumentException("network has " + net.numParams() + " parameters, the config "
                + expected);
        }
        this.config = config;
        this.net = net;
    }

    /**
     * Reads a model written by {@link TransformerLm#write} (its parameters; the updater state is not needed for
     * inference) and its config written by {@link TransformerConfig#toJson()}.
     */
    public static LanguageModel read(InputStream model, String configJson) throws IOException {
        return new LanguageModel(TransformerConfig.fromJson(configJson), TransformerLm.read(model, false));
    }

    public TransformerConfig config() {
        return config;
    }

    public ComputationGraph network() {
        return net;
    }

    /**
     * The model's output distribution at every position of one sequence.
     *
     * @param tokens 1 to {@code contextLength} token ids
     * @return [tokens.length][vocab] probabilities: for a causal model, of the next token; for a bidirectional one,
     *     of the token at that position
     */
    public float[][] probabilities(int[] tokens) {
        if (tokens.length == 0 || tokens.length > config.contextLength()) {
            throw new IllegalArgumentException("need 1 to " + config.contextLength() + " tokens, got "
                + tokens.length);
        }
        float[] f = new float[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] < 0 || tokens[i] >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + tokens[i] + " outside the vocabulary [0, "
                    + config.vocabSize() + ")");
            }
            f[i] = tokens[i];
        }
        INDArray in = Nd4j.create(f, new long[] {1, tokens.length}, DataType.FLOAT);
        INDArray out = net.outputSingle(false, in);                         // [1, T, V]
        float[][] p = new float[tokens.length][];
        for (int i = 0; i < tokens.length; i++) {
            p[i] = out.get(org.nd4j.linalg.indexing.NDArrayIndex.point(0),
                org.nd4j.linalg.indexing.NDArrayIndex.point(i),
                org.nd4j.linalg.indexing.NDArrayIndex.all()).dup().castTo(DataType.FLOAT).toFloatVector();
        }
        return p;
    }

    /**
     * Continues a prompt, one token at a time, feeding at most the last {@code contextLength} tokens. Greedy (the most
     * probable token, lowest id on ties) when {@code temperature} is 0; otherwise samples from the {@code topK} most
     * probable tokens (all if {@code topK} is 0) after dividing the log-probabilities by the temperature, with a
     * generator seeded by {@code seed}. Stops early after {@code stopId} (-1: never).
     *
     * @return the new tokens only
     */
    public int[] generate(int[] prompt, int maxNewTokens, double temperature, int topK, long seed, int stopId) {
        if (config.attention() != AttentionMode.CAUSAL) {
            throw new IllegalStateException("generation needs a causal (clm) model; this one is "
                + config.attention().key());
        }
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt must hold at least one token");
        }
        if (!(temperature >= 0) || topK < 0 || maxNewTokens < 0) {
            throw new IllegalArgumentException("need temperature >= 0, top-k >= 0 and max new tokens >= 0");
        }
        SplittableRandom rng = new SplittableRandom(seed);
        int[] seq = Arrays.copyOf(prompt, prompt.length + maxNewTokens);
        int len = prompt.length;
        for (int step = 0; step < maxNewTokens; step++) {
            int from = Math.max(0, len - config.contextLength());
            float[][] p = probabilities(Arrays.copyOfRange(seq, from, len));
            float[] last = p[p.length - 1];
            int next = temperature == 0 ? argmax(last) : sample(last, temperature, topK, rng);
            seq[len++] = next;
            if (next == stopId) {
                break;
            }
        }
        return Arrays.copyOfRange(seq, prompt.length, len);
    }

    /**
     * Continues a text prompt (special tokens in it, such as {@code [BOS]}, are recognised) and decodes the new tokens,
     * stopping after {@code [EOS]} if the tokenizer has one; special tokens are left out of the text.
     */
    public String generate(Tokenizer tokenizer, String prompt, int maxNewTokens, double temperature, int topK,
                           long seed) {
        checkVocabulary(tokenizer);
        int[] ids = tokenizer.encode(prompt, true);
        if (ids.length == 0) {
            int bos = tokenizer.specialTokens().idOf(SpecialTokens.BOS);
            if (bos < 0) {
                throw new IllegalArgumentException("empty prompt and the tokenizer has no " + SpecialTokens.BOS);
            }
            ids = new int[] {bos};
        }
        int eos = tokenizer.specialTokens().idOf(SpecialTokens.EOS);
        return tokenizer.decode(generate(ids, maxNewTokens, temperature, topK, seed, eos), true);
    }

    /** One candidate for a masked position. */
    public record Candidate(int id, String text, double probability) {
    }

    /** The candidates for the masked token at {@code position} (a token index), most probable first. */
    public record MaskFill(int position, List<Candidate> candidates) {
    }

    /**
     * Fills each {@code [MASK]} of the text with the {@code topK} most probable tokens of a bidirectional (mlm) model.
     * The text is encoded with special tokens recognised and must fit in the context length.
     */
    public List<MaskFill> fillMask(Tokenizer tokenizer, String text, int topK) {
        if (config.attention() != AttentionMode.BIDIRECTIONAL) {
            throw new IllegalStateException("fill-mask needs a bidirectional (mlm) model; this one is "
                + config.attention().key());
        }
        if (topK < 1) {
            throw new IllegalArgumentException("top-k must be >= 1, got " + topK);
        }
        checkVocabulary(tokenizer);
        int mask = tokenizer.specialTokens().idOf(SpecialTokens.MASK);
        if (mask < 0) {
            throw new IllegalArgumentException("the tokenizer has no " + SpecialTokens.MASK + " token");
        }
        int[] ids = tokenizer.encode(text, true);
        if (ids.length > config.contextLength()) {
            throw new IllegalArgumentException("the text is " + ids.length + " tokens, more than the context length "
                + config.contextLength());
        }
        List<MaskFill> out = new ArrayList<>();
        boolean any = false;
        for (int id : ids) {
            any |= id == mask;
        }
        if (!any) {
            throw new IllegalArgumentException("the text holds no " + SpecialTokens.MASK);
        }
        float[][] p = probabilities(ids);
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] != mask) {
                continue;
            }
            List<Candidate> c = new ArrayList<>();
            for (int id : topIds(p[i], Math.min(topK, p[i].length))) {
                c.add(new Candidate(id, tokenizer.decode(new int[] {id}), p[i][id]));
            }
            out.add(new MaskFill(i, c));
        }
        return out;
    }

    private void checkVocabulary(Tokenizer tokenizer) {
        if (tokenizer.vocabSize() != config.vocabSize()) {
            throw new IllegalArgumentException("the tokenizer has " + tokenizer.vocabSize() + " ids, the model "
                + config.vocabSize());
        }
    }

    /** The index of the largest probability, the lowest on ties (greedy decoding). */
    public static int argmax(float[] p) {
        int best = 0;
        for (int i = 1; i < p.length; i++) {
            if (p[i] > p[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Ids of the k largest values, largest first (lower id first on ties). */
    static int[] topIds(float[] p, int k) {
        Integer[] idx = new Integer[p.length];
        for (int i = 0; i < p.length; i++) {
            idx[i] = i;
        }
        Arrays.sort(idx, (a, b) -> p[a] != p[b] ? Float.compare(p[b], p[a]) : Integer.compare(a, b));
        int[] out = new int[k];
        for (int i = 0; i < k; i++) {
            out[i] = idx[i];
        }
        return out;
    }

    static int sample(float[] p, double temperature, int topK, SplittableRandom rng) {
        int k = topK == 0 ? p.length : Math.min(topK, p.length);
        int[] ids = topIds(p, k);
        double[] w = new double[k];
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < k; i++) {
            w[i] = Math.log(Math.max(p[ids[i]], Float.MIN_NORMAL)) / temperature;
            max = Math.max(max, w[i]);
        }
        double sum = 0;
        for (int i = 0; i < k; i++) {
            w[i] = Math.exp(w[i] - max);
            sum += w[i];
        }
        double u = rng.nextDouble() * sum;
        for (int i = 0; i < k; i++) {
            u -= w[i];
            if (u < 0) {
                return ids[i];
            }
        }
        return ids[k - 1];
    }
}
