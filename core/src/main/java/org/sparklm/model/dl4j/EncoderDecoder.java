package org.sparklm.model.dl4j;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Configuration of the whole encoder-decoder Transformer (T5, Raffel et al. 2020) as one DL4J output layer: its
 * input is the packed rows of {@link Seq2SeqInputs}, its labels the target ids {@code [B, 1, Td]} with the label mask
 * {@code [B, Td]}, its loss the mean cross-entropy over the counted target tokens, its activations (inference) the
 * next-token probabilities at every decoder position {@code [B, Td, V]}.
 *
 * <pre>
 *   encoder ids -> E -> Le x [x += SelfAttn(LN(x); bidirectional, padding mask, encoder bias); x += MLP(LN(x))]
 *               -> LN_enc                                                            = encoder output [B Te, d]
 *   decoder ids -> E -> Ld x [y += SelfAttn(LN(y); causal, decoder bias); y += CrossAttn(LN(y), encoder output;
 *                             padding mask); y += MLP(LN(y))] -> LN_dec -> logits = y E^T (tied) or y W_head
 * </pre>
 *
 * One layer holds it all because DL4J layers have one input each and cannot share parameters, while here the token
 * embedding serves the encoder, the decoder and (tied) the output projection, each stack's relative position table
 * serves all its layers, and every decoder layer reads the encoder's output (see docs/DESIGN.md). The blocks are the
 * decoder-only model's (pre-LayerNorm with biases, GELU MLP, scores scaled by 1 / sqrt(d_head)); positions are T5's
 * bucketed relative bias ({@link RelativePositions}), added to the self-attention scores; cross-attention has none.
 *
 * <p>Parameters: {@code embed [V, d]}; per encoder block {@code e<i>} and decoder block {@code d<j>} the block's
 * {@code wqkv wo w1 w2 ln1g ln1b bqkv bo ln2g ln2b b1 b2} (as {@link TransformerBlock}), per decoder block also the
 * cross-attention {@code wq [d, d] wkv [d, 2d] wco [d, d] lncg lncb bq bkv bco}; the final LayerNorms
 * {@code elnfg elnfb dlnfg dlnfb}; the relative tables {@code erel drel [buckets, heads]}; the output projection
 * {@code head [d, V]} when untied. Initialisation as GPT-2's (normal 0.02, the residual projections 0.02 /
 * sqrt(residual branches of the stack: 2 per encoder block, 3 per decoder block)), relative tables normal 0.02;
 * matrices decayed, the rest not.
 */
public final class EncoderDecoder extends TransformerLayerConf {

    public static final String EMBED = "embed";
    public static final String HEAD = "head";
    public static final String ENC_REL = "erel";
    public static final String DEC_REL = "drel";
    public static final String ENC_LN_GAIN = "elnfg";
    public static final String ENC_LN_BIAS = "elnfb";
    public static final String DEC_LN_GAIN = "dlnfg";
    public static final String DEC_LN_BIAS = "dlnfb";
    /** The cross-attention of a decoder block (the rest of a block's keys are {@link TransformerBlock}'s). */
    public static final String LNC_GAIN = "lncg";
    public static final String LNC_BIAS = "lncb";
    public static final String W_Q = "wq";
    public static final String B_Q = "bq";
    public static final String W_KV = "wkv";
    public static final String B_KV = "bkv";
    public static final String W_CROSS_OUT = "wco";
    public static final String B_CROSS_OUT = "bco";

    private int vocabSize;
    private int heads;
    private int dFf;
    private int encoderLayers;
    private int decoderLayers;
    private int encoderContext;
    private int decoderContext;
    private boolean tied;
    private int buckets;
    private int maxDistance;

    public EncoderDecoder() {
    }

    public EncoderDecoder(int vocabSize, int dModel, int heads, int dFf, int encoderLayers, int decoderLayers,
                          int encoderContext, int decoderContext, boolean tied, int buckets, int maxDistance) {
        if (heads < 1 || dModel % heads != 0) {
            throw new IllegalArgumentException("heads must divide d_model: heads " + heads + ", d_model " + dModel);
        }
        this.vocabSize = vocabSize;
        this.dModel = dModel;
        this.heads = heads;
        this.dFf = dFf;
        this.encoderLayers = encoderLayers;
        this.decoderLayers = decoderLayers;
        this.encoderContext = encoderContext;
        this.decoderContext = decoderContext;
        this.tied = tied;
        this.buckets = buckets;
        this.maxDistance = maxDistance;
    }

    /** Key of a parameter of encoder block {@code i}. */
    public static String enc(int i, String key) {
        return "e" + i + key;
    }

    /** Key of a parameter of decoder block {@code j}. */
    public static String dec(int j, String key) {
        return "d" + j + key;
    }

    @Override
    public List<ParamSpec> paramSpecs() {
        long d = dModel;
        long f = dFf;
        double resE = initStd / Math.sqrt(2.0 * encoderLayers);
        double resD = initStd / Math.sqrt(3.0 * decoderLayers);
        List<ParamSpec> all = new ArrayList<>();
        all.add(ParamSpec.embedding(EMBED, vocabSize, d, initStd));
        // matrices (decayed), then everything else: two DL4J updater blocks after the embedding's
        for (int i = 0; i < encoderLayers; i++) {
            all.add(ParamSpec.weight(enc(i, TransformerBlock.W_QKV), d, 3 * d, initStd));
            all.add(ParamSpec.weight(enc(i, TransformerBlock.W_OUT), d, d, resE));
            all.add(ParamSpec.weight(enc(i, TransformerBlock.W_FC), d, f, initStd));
            all.add(ParamSpec.weight(enc(i, TransformerBlock.W_PROJ), f, d, resE));
        }
        for (int j = 0; j < decoderLayers; j++) {
            all.add(ParamSpec.weight(dec(j, TransformerBlock.W_QKV), d, 3 * d, initStd));
            all.add(ParamSpec.weight(dec(j, TransformerBlock.W_OUT), d, d, resD));
            all.add(ParamSpec.weight(dec(j, W_Q), d, d, initStd));
            all.add(ParamSpec.weight(dec(j, W_KV), d, 2 * d, initStd));
            all.add(ParamSpec.weight(dec(j, W_CROSS_OUT), d, d, resD));
            all.add(ParamSpec.weight(dec(j, TransformerBlock.W_FC), d, f, initStd));
            all.add(ParamSpec.weight(dec(j, TransformerBlock.W_PROJ), f, d, resD));
        }
        if (!tied) {
            all.add(ParamSpec.weight(HEAD, d, vocabSize, initStd));
        }
        for (int i = 0; i < encoderLayers; i++) {
            blockVectors(all, enc(i, ""), false);
        }
        for (int j = 0; j < decoderLayers; j++) {
            blockVectors(all, dec(j, ""), true);
        }
        all.add(ParamSpec.gain(ENC_LN_GAIN, d));
        all.add(ParamSpec.bias(ENC_LN_BIAS, d));
        all.add(ParamSpec.gain(DEC_LN_GAIN, d));
        all.add(ParamSpec.bias(DEC_LN_BIAS, d));
        all.add(ParamSpec.embedding(ENC_REL, buckets, heads, initStd));
        all.add(ParamSpec.embedding(DEC_REL, buckets, heads, initStd));
        return all;
    }

    private void blockVectors(List<ParamSpec> all, String p, boolean cross) {
        long d = dModel;
        all.add(ParamSpec.gain(p + TransformerBlock.LN1_GAIN, d));
        all.add(ParamSpec.bias(p + TransformerBlock.LN1_BIAS, d));
        all.add(ParamSpec.bias(p + TransformerBlock.B_QKV, 3 * d));
        all.add(ParamSpec.bias(p + TransformerBlock.B_OUT, d));
        if (cross) {
            all.add(ParamSpec.gain(p + LNC_GAIN, d));
            all.add(ParamSpec.bias(p + LNC_BIAS, d));
            all.add(ParamSpec.bias(p + B_Q, d));
            all.add(ParamSpec.bias(p + B_KV, 2 * d));
            all.add(ParamSpec.bias(p + B_CROSS_OUT, d));
        }
        all.add(ParamSpec.gain(p + TransformerBlock.LN2_GAIN, d));
        all.add(ParamSpec.bias(p + TransformerBlock.LN2_BIAS, d));
        all.add(ParamSpec.bias(p + TransformerBlock.B_FC, dFf));
        all.add(ParamSpec.bias(p + TransformerBlock.B_PROJ, d));
    }

    @Override
    protected org.deeplearning4j.nn.api.Layer newLayer(NeuralNetConfiguration conf, DataType dataType) {
        return new EncoderDecoderLayer(conf, dataType);
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType inputType) {
        return InputType.recurrent(vocabSize, decoderContext, RNNFormat.NWC);
    }

    public int getVocabSize() {
        return vocabSize;
    }

    public void setVocabSize(int vocabSize) {
        this.vocabSize = vocabSize;
    }

    public int getHeads() {
        return heads;
    }

    public void setHeads(int heads) {
        this.heads = heads;
    }

    public int getDFf() {
        return dFf;
    }

    public void setDFf(int dFf) {
        this.dFf = dFf;
    }

    public int getEncoderLayers() {
        return encoderLayers;
    }

    public void setEncoderLayers(int encoderLayers) {
        this.encoderLayers = encoderLayers;
    }

    public int getDecoderLayers() {
        return decoderLayers;
    }

    public void setDecoderLayers(int decoderLayers) {
        this.decoderLayers = decoderLayers;
    }

    public int getEncoderContext() {
        return encoderContext;
    }

    public void setEncoderContext(int encoderContext) {
        this.encoderContext = encoderContext;
    }

    public int getDecoderContext() {
        return decoderContext;
    }

    public void setDecoderContext(int decoderContext) {
        this.decoderContext = decoderContext;
    }

    public boolean getTied() {
        return tied;
    }

    public void setTied(boolean tied) {
        this.tied = tied;
    }

    public int getBuckets() {
        return buckets;
    }

    public void setBuckets(int buckets) {
        this.buckets = buckets;
    }

    public int getMaxDistance() {
        return maxDistance;
    }

    public void setMaxDistance(int maxDistance) {
        this.maxDistance = maxDistance;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EncoderDecoder e && super.equals(o) && e.vocabSize == vocabSize && e.dModel == dModel
            && e.heads == heads && e.dFf == dFf && e.encoderLayers == encoderLayers
            && e.decoderLayers == decoderLayers && e.encoderContext == encoderContext
            && e.decoderContext == decoderContext && e.tied == tied && e.buckets == buckets
            && e.maxDistance == maxDistance && e.initStd == initStd && e.layerNormEps == layerNormEps;
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), vocabSize, dModel, heads, dFf, encoderLayers, decoderLayers,
            encoderContext, decoderContext, tied, buckets, maxDistance);
    }
}
