package org.sparklm.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.sparklm.tokenizer.SpecialTokens;
import org.sparklm.tokenizer.Tokenizer;

/**
 * Inference with an encoder-decoder (T5) model: the encoder reads the input once per call, the decoder produces the
 * output token by token from the start id ({@code [PAD]}, as in training), greedily, by sampling or by beam search.
 * Each step runs the whole model on the prefixes so far (no key/value cache: the models are small). Not
 * thread-safe.
 */
public final class Seq2SeqModel {

    private final TransformerConfig config;
    private final ComputationGraph net;
    private final int startId;

    /**
     * @param startId the decoder start id (the tokenizer's {@code [PAD]})
     */
    public Seq2SeqModel(LanguageModel model, int startId) {
        if (!model.config().isEncoderDecoder()) {
            throw new IllegalArgumentException("not an encoder-decoder model");
        }
        this.config = model.config();
        this.net = model.network();
        this.startId = startId;
    }

    /** The decoder start id of a tokenizer: its {@code [PAD]}. */
    public static int startId(Tokenizer tokenizer) {
        int pad = tokenizer.specialTokens().idOf(SpecialTokens.PAD);
        if (pad < 0) {
            throw new IllegalArgumentException("the tokenizer has no " + SpecialTokens.PAD + " (the decoder start id)");
        }
        return pad;
    }

    public TransformerConfig config() {
        return config;
    }

    /**
     * Next-token probabilities after each of several decoder prefixes (each starting after the start id) for one
     * encoder input: [prefixes][vocab].
     */
    public float[][] next(int[] encoder, List<int[]> prefixes) {
        int te = encoder.length;
        if (te == 0 || te > config.encoderContext()) {
            throw new IllegalArgumentException("the encoder input must hold 1 to " + config.encoderContext()
                + " tokens, got " + te);
        }
        int b = prefixes.size();
        int td = 1;
        for (int[] p : prefixes) {
            td = Math.max(td, p.length + 1);
        }
        if (td > config.decoderContext()) {
            throw new IllegalArgumentException("the decoder output would exceed its context of "
                + config.decoderContext() + " tokens");
        }
        float[] out = probabilities(Collections.nCopies(b, encoder), prefixes);
        int v = config.vocabSize();
        float[][] probs = new float[b][];
        for (int i = 0; i < b; i++) {
            int at = (i * td + prefixes.get(i).length) * v;
            probs[i] = Arrays.copyOfRange(out, at, at + v);
        }
        return probs;
    }

    /**
     * One forward pass over padded, masked rows: encoder input i is {@code encoders[i]}, decoder input i the start id
     * then {@code continuations[i]}. Returns the next-token probabilities {@code [B, Td, V]} flattened (c order), Td
     * the longest decoder input.
     */
    private float[] probabilities(List<int[]> encoders, List<int[]> continuations) {
        int b = encoders.size();
        int te = 1;
        int td = 1;
        for (int i = 0; i < b; i++) {
            te = Math.max(te, encoders.get(i).length);
            td = Math.max(td, continuations.get(i).length + 1);
        }
        float[][] enc = new float[b][te];
        float[][] encMask = new float[b][te];
        float[][] dec = new float[b][td];
        float[][] decMask = new float[b][td];
        for (int i = 0; i < b; i++) {
            int[] e = encoders.get(i);
            for (int j = 0; j < e.length; j++) {
                enc[i][j] = check(e[j]);
                encMask[i][j] = 1;
            }
            int[] c = continuations.get(i);
            dec[i][0] = startId;
            decMask[i][0] = 1;
            for (int j = 0; j < c.length; j++) {
                dec[i][j + 1] = check(c[j]);
                decMask[i][j + 1] = 1;
            }
        }
        INDArray[] in = {Nd4j.createFromArray(enc), Nd4j.createFromArray(dec)};
        INDArray[] masks = {Nd4j.createFromArray(encMask), Nd4j.createFromArray(decMask)};
        return net.output(false, in, masks)[0].castTo(DataType.FLOAT).dup('c').data().asFloat();
    }

    /**
     * Teacher forcing of several (encoder input, target) pairs in one forward pass: {@code [pair][j]} is
     * p(target[j] | encoder input, target[0..j-1]), the decoder fed the start id and the target shifted right.
     * Pairs of different lengths are padded on the right and masked.
     */
    public float[][] targetProbabilities(List<int[]> encoders, List<int[]> targets) {
        int b = encoders.size();
        if (b == 0 || targets.size() != b) {
            throw new IllegalArgumentException(b + " encoder inputs and " + targets.size() + " targets");
        }
        int td = 1;
        for (int i = 0; i < b; i++) {
            td = Math.max(td, targets.get(i).length);
            if (encoders.get(i).length == 0 || encoders.get(i).length > config.encoderContext()
                || targets.get(i).length == 0 || targets.get(i).length > config.decoderContext()) {
                throw new IllegalArgumentException("pair " + i + ": an encoder input of 1 to "
                    + config.encoderContext() + " and a target of 1 to " + config.decoderContext()
                    + " tokens needed, got " + encoders.get(i).length + " and " + targets.get(i).length);
            }
        }
        float[] out = probabilities(encoders,
            targets.stream().map(t -> Arrays.copyOf(t, t.length - 1)).toList());      // shifted right
        int v = config.vocabSize();
        float[][] probs = new float[b][];
        for (int i = 0; i < b; i++) {
            int[] t = targets.get(i);
            probs[i] = new float[t.length];
            for (int j = 0; j < t.length; j++) {
                probs[i][j] = out[(i * td + j) * v + check(t[j])];
            }
        }
        return probs;
    }

    private int check(int id) {
        if (id < 0 || id >= config.vocabSize()) {
            throw new IllegalArgumentException("token id " + id + " outside the vocabulary [0, " + config.vocabSize()
                + ")");
        }
        return id;
    }

    /** The longest output the decoder can produce. */
    public int maxOutput() {
        return config.decoderContext() - 1;
    }

    /**
     * Greedy decoding (temperature 0: the most probable token, lowest id on ties) or sampling from the top-k tokens
     * at a temperature, until {@code stopId} (included) or {@code maxNewTokens}.
     */
    public int[] generate(int[] encoder, int maxNewTokens, double temperature, int topK, long seed, int stopId) {
        int max = Math.min(maxNewTokens, maxOutput());
        SplittableRandom rng = new SplittableRandom(seed);
        int[] out = new int[0];
        for (int step = 0; step < max; step++) {
            float[] p = next(encoder, List.of(out))[0];
            int id = temperature == 0 ? LanguageModel.argmax(p) : LanguageModel.sample(p, temperature, topK, rng);
            out = Arrays.copyOf(out, out.length + 1);
            out[out.length - 1] = id;
            if (id == stopId) {
                break;
            }
        }
        return out;
    }

    /** A hypothesis of beam search: its tokens, the sum of their log-probabilities, whether it ended. */
    public record Hypothesis(int[] tokens, double logProb, boolean done) {
        /** Beam search's ranking: the mean log-probability per token (HuggingFace's length penalty 1). */
        public double score() {
            return logProb / Math.max(1, tokens.length);
        }
    }

    /**
     * Beam search of width {@code beams}: every step extends each live hypothesis by its {@code beams} most probable
     * tokens and keeps the {@code beams} best of all (ended ones included) by {@link Hypothesis#score()}; stops when
     * all kept hypotheses ended (with {@code stopId}) or at {@code maxNewTokens}. Returns the best.
     */
    public int[] beamSearch(int[] encoder, int maxNewTokens, int beams, int stopId) {
        if (beams < 1) {
            throw new IllegalArgumentException("beams must be >= 1, got " + beams);
        }
        int max = Math.min(maxNewTokens, maxOutput());
        List<Hypothesis> kept = List.of(new Hypothesis(new int[0], 0, false));
        for (int step = 0; step < max; step++) {
            List<Hypothesis> live = kept.stream().filter(h -> !h.done()).toList();
            if (live.isEmpty()) {
                break;
            }
            float[][] p = next(encoder, live.stream().map(Hypothesis::tokens).toList());
            List<Hypothesis> all = new ArrayList<>(kept.stream().filter(Hypothesis::done).toList());
            for (int i = 0; i < live.size(); i++) {
                Hypothesis h = live.get(i);
                for (int id : LanguageModel.topIds(p[i], beams)) {
                    int[] t = Arrays.copyOf(h.tokens(), h.tokens().length + 1);
                    t[t.length - 1] = id;
                    all.add(new Hypothesis(t, h.logProb() + Math.log(Math.max(p[i][id], 1e-30f)), id == stopId));
                }
            }
            all.sort(Comparator.comparingDouble(Hypothesis::score).reversed());
            kept = all.subList(0, Math.min(beams, all.size()));
        }
        return kept.get(0).tokens();
    }

    /** What {@link #fillSpans} found: the text for each sentinel of the input, and the completed text. */
    public record SpanFill(List<String> sentinels, List<String> spans, String completed, int[] output) {
    }

    /**
     * Fills each sentinel ({@code <extra_id_0>}, ...) of a text: the encoder reads the text's ids (without a
     * whitespace-only token right before a sentinel) and EOS (as span corruption builds its inputs), the decoder produces "sentinel, span, sentinel, span, ..., EOS"; the span of
     * each input sentinel is the output between it and the next sentinel (or EOS, or the end); a sentinel the output
     * lacks gets an empty span. The completed text puts each span in place of its sentinel.
     *
     * @param beams 1: greedy; more: beam search of that width
     */
    public SpanFill fillSpans(Tokenizer tokenizer, String text, int maxNewTokens, int beams) {
        SpecialTokens sp = tokenizer.specialTokens();
        int eos = sp.idOf(SpecialTokens.EOS);
        int[] ids = withoutSpaceBeforeSentinels(tokenizer, tokenizer.encode(text, true));
        List<Integer> inputSentinels = new ArrayList<>();
        for (int id : ids) {
            if (isSentinel(sp, id)) {
                inputSentinels.add(id);
            }
        }
        if (inputSentinels.isEmpty()) {
            throw new IllegalArgumentException("the text has no sentinel (" + SpecialTokens.sentinel(0) + ", ...)");
        }
        int[] enc = Arrays.copyOf(ids, ids.length + (eos >= 0 ? 1 : 0));
        if (eos >= 0) {
            enc[ids.length] = eos;
        }
        if (enc.length > config.encoderContext()) {
            throw new IllegalArgumentException("the text is " + enc.length + " tokens with EOS; the encoder context is "
                + config.encoderContext());
        }
        int[] out = beams <= 1 ? generate(enc, maxNewTokens, 0, 0, 0, eos) : beamSearch(enc, maxNewTokens, beams, eos);
        List<String> names = new ArrayList<>();
        List<String> spans = new ArrayList<>();
        List<int[]> spanIds = new ArrayList<>();
        for (int s : inputSentinels) {
            names.add(sp.tokens().get(s));
            int[] span = spanOf(out, s, sp, eos);
            spanIds.add(span);
            spans.add(tokenizer.decode(span, true));
        }
        List<Integer> filled = new ArrayList<>();
        for (int id : ids) {
            int k = inputSentinels.indexOf(id);
            if (k >= 0) {
                for (int x : spanIds.get(k)) {
                    filled.add(x);
                }
            } else {
                filled.add(id);
            }
        }
        String completed = tokenizer.decode(filled.stream().mapToInt(Integer::intValue).toArray(), true);
        return new SpanFill(names, spans, completed, out);
    }

    /**
     * Drops a whitespace-only token right before a sentinel: in "said <extra_id_0> election" the space before the
     * sentinel encodes as a token of its own, while in training the space belongs to the dropped span (" the"), so
     * the input the model saw was "said", sentinel, " election".
     */
    private static int[] withoutSpaceBeforeSentinels(Tokenizer tokenizer, int[] ids) {
        SpecialTokens sp = tokenizer.specialTokens();
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < ids.length; i++) {
            boolean beforeSentinel = i + 1 < ids.length && isSentinel(sp, ids[i + 1]);
            if (beforeSentinel && !isSentinel(sp, ids[i]) && tokenizer.decode(new int[] {ids[i]}, true).isBlank()
                && !tokenizer.decode(new int[] {ids[i]}, true).isEmpty()) {
                continue;
            }
            out.add(ids[i]);
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    private static boolean isSentinel(SpecialTokens sp, int id) {
        return id >= 0 && id < sp.size() && SpecialTokens.isSentinel(sp.tokens().get(id));
    }

    /** The output tokens after sentinel {@code s} up to the next sentinel, EOS or the end (empty if absent). */
    private static int[] spanOf(int[] out, int s, SpecialTokens sp, int eos) {
        int from = -1;
        for (int i = 0; i < out.length; i++) {
            if (out[i] == s) {
                from = i + 1;
                break;
            }
        }
        if (from < 0) {
            return new int[0];
        }
        int to = from;
        while (to < out.length && out[to] != eos && !isSentinel(sp, out[to])) {
            to++;
        }
        return Arrays.copyOfRange(out, from, to);
    }

    /**
     * Prefix LM: the prompt (its last {@code Te - 1} tokens and EOS) goes to the encoder, the decoder continues it;
     * stops after EOS. Special tokens in the prompt are recognised; they are left out of the returned text.
     */
    public String generate(Tokenizer tokenizer, String prompt, int maxNewTokens, double temperature, int topK,
                           long seed) {
        int eos = tokenizer.specialTokens().idOf(SpecialTokens.EOS);
        int[] ids = tokenizer.encode(prompt, true);
        if (ids.length == 0) {
            throw new IllegalArgumentException("the prompt is empty");
        }
        int keep = Math.min(ids.length, config.encoderContext() - (eos >= 0 ? 1 : 0));
        int[] enc = Arrays.copyOfRange(ids, ids.length - keep, ids.length + (eos >= 0 ? 1 : 0));
        if (eos >= 0) {
            enc[enc.length - 1] = eos;
        }
        return tokenizer.decode(generate(enc, maxNewTokens, temperature, topK, seed, eos), true);
    }
}
