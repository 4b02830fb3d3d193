package org.sparklm.model.dl4j;

import java.util.List;
import java.util.Objects;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Configuration of one pre-LayerNorm Transformer block (GPT-2, Radford et al. 2019; the block of Vaswani et al. 2017
 * with the LayerNorms moved to the branch inputs):
 *
 * <pre>
 *   x = x + dropout(W_o · attention(LN1(x)) + b_o)
 *   x = x + dropout(W_2 · GELU(W_1 · LN2(x) + b_1) + b_2)
 * </pre>
 *
 * with multi-head scaled dot-product attention, {@code softmax(Q K^T / sqrt(d_head) + mask) V} per head, dropout on the
 * attention probabilities, a causal (triangular) mask or a padding mask from the features mask. Input and output
 * {@code [batch, time, d_model]}.
 *
 * <p>Parameters: {@code ln1g ln1b} (LayerNorm), {@code wqkv [d, 3d] bqkv} (query, key, value projections side by
 * side, heads contiguous within each), {@code wo [d, d] bo}, {@code ln2g ln2b}, {@code w1 [d, d_ff] b1},
 * {@code w2 [d_ff, d] b2}. Linear maps are initialised normal(0, 0.02), the two residual projections {@code wo} and
 * {@code w2} normal(0, 0.02 / sqrt(2 * layers)) as in GPT-2; biases zero, gains one; only the matrices are decayed.
 *
 * <p>Fine-tuning additions, after those parameters (so the pretrained ones keep their place):
 * <ul>
 *   <li>LoRA (Hu et al. 2021) on the projections named in {@code loraTargets} (q, k, v, o, mlp = both MLP matrices):
 *       {@code y = x W + (alpha / r) (dropout(x) A) B} with {@code A [d_in, r]} uniform in +-1/sqrt(d_in) (PEFT's
 *       Kaiming-uniform) and {@code B [r, d_out]} zero, so the adapted block starts as the pretrained one. Keys
 *       {@code loraQA loraQB loraKA loraKB loraVA loraVB loraOA loraOB loraFcA loraFcB loraProjA loraProjB}.
 *       A and B are PEFT's {@code lora_A.weight} and {@code lora_B.weight} transposed (we compute x W).</li>
 *   <li>Prefix tuning (Li and Liang 2021): {@code prefixLength} key and value vectors prepended to the keys and values
 *       of every sequence, visible to every position (causal attention stays causal among the real tokens). Key
 *       {@code prefix [P, 2d]} (keys, then values, heads contiguous), or with {@code prefixProjection} h > 0 the
 *       reparameterisation {@code prefix = tanh(E W1 + b1) W2 + b2} ({@code prefixE [P, d]}, {@code prefixW1 [d, h]},
 *       {@code prefixB1}, {@code prefixW2 [h, 2d]}, {@code prefixB2}), one per layer: DL4J layers cannot share the
 *       single MLP of PEFT's prefix encoder.</li>
 *   <li>{@code frozen}: parameters that do not train (no gradient computed, no optimizer state);
 *       {@code inputGradient} false: the layer below needs no gradient (nothing below trains).</li>
 * </ul>
 */
public final class TransformerBlock extends TransformerLayerConf {

    public static final String LN1_GAIN = "ln1g";
    public static final String LN1_BIAS = "ln1b";
    public static final String W_QKV = "wqkv";
    public static final String B_QKV = "bqkv";
    public static final String W_OUT = "wo";
    public static final String B_OUT = "bo";
    public static final String LN2_GAIN = "ln2g";
    public static final String LN2_BIAS = "ln2b";
    public static final String W_FC = "w1";
    public static final String B_FC = "b1";
    public static final String W_PROJ = "w2";
    public static final String B_PROJ = "b2";

    private int heads;
    private int dFf;
    private boolean causal;
    private double residualInitStd = 0.02;
    private int loraRank;
    private double loraAlpha = 16;
    private double loraDropout;
    private List<String> loraTargets = List.of();
    private int prefixLength;
    private int prefixProjection;
    private boolean inputGradient = true;

    /** LoRA parameter keys of a target: A and B; the MLP target has two pairs. */
    public static List<String[]> loraKeys(String target) {
        return switch (target) {
            case "q" -> List.<String[]>of(new String[] {"loraQA", "loraQB"});
            case "k" -> List.<String[]>of(new String[] {"loraKA", "loraKB"});
            case "v" -> List.<String[]>of(new String[] {"loraVA", "loraVB"});
            case "o" -> List.<String[]>of(new String[] {"loraOA", "loraOB"});
            case "mlp" -> List.of(new String[] {"loraFcA", "loraFcB"}, new String[] {"loraProjA", "loraProjB"});
            default -> throw new IllegalArgumentException("unknown LoRA target '" + target
                + "' (known: q, k, v, o, mlp)");
        };
    }

    public static final String PREFIX = "prefix";
    public static final String PREFIX_E = "prefixE";
    public static final String PREFIX_W1 = "prefixW1";
    public static final String PREFIX_B1 = "prefixB1";
    public static final String PREFIX_W2 = "prefixW2";
    public static final String PREFIX_B2 = "prefixB2";

    public TransformerBlock() {
    }

    /**
     * @param totalLayers the number of blocks of the model, for GPT-2's residual initialisation scale
     */
    public TransformerBlock(int dModel, int heads, int dFf, boolean causal, double dropout, int totalLayers) {
        if (heads < 1 || dModel % heads != 0) {
            throw new IllegalArgumentException("heads must divide d_model: heads " + heads + ", d_model " + dModel);
        }
        this.dModel = dModel;
        this.heads = heads;
        this.dFf = dFf;
        this.causal = causal;
        this.dropout = dropout;
        this.residualInitStd = initStd / Math.sqrt(2.0 * totalLayers);
    }

    /** The same block with fine-tuning additions (see the class comment). */
    public TransformerBlock withAdapters(int rank, double alpha, double dropout, List<String> targets, int prefix,
                                         int projection, List<String> frozenKeys, boolean inputGradient) {
        TransformerBlock b = new TransformerBlock(dModel, heads, dFf, causal, this.dropout, 1);
        b.residualInitStd = residualInitStd;
        b.initStd = initStd;
        b.layerNormEps = layerNormEps;
        if (rank > 0) {
            for (String t : targets) {
                loraKeys(t);
            }
        }
        b.loraRank = rank;
        b.loraAlpha = alpha;
        b.loraDropout = dropout;
        b.loraTargets = rank > 0 ? List.copyOf(targets) : List.of();
        b.prefixLength = prefix;
        b.prefixProjection = prefix > 0 ? projection : 0;
        b.setFrozen(frozenKeys);
        b.inputGradient = inputGradient;
        return b;
    }

    /** The keys of the pretrained block's parameters (those a fine-tuning method may freeze). */
    public List<String> baseKeys() {
        return List.of(W_QKV, W_OUT, W_FC, W_PROJ, LN1_GAIN, LN1_BIAS, B_QKV, B_OUT, LN2_GAIN, LN2_BIAS, B_FC, B_PROJ);
    }

    /** LoRA's scaling alpha / r. */
    public double loraScale() {
        return loraRank == 0 ? 0 : loraAlpha / loraRank;
    }

    public boolean hasLora(String target) {
        return loraRank > 0 && loraTargets.contains(target);
    }

    @Override
    public List<ParamSpec> paramSpecs() {
        List<ParamSpec> all = new java.util.ArrayList<>(baseSpecs());
        long d = dModel;
        long r = loraRank;
        for (String t : loraTargets) {
            for (String[] k : loraKeys(t)) {
                long in = k[0].equals("loraProjA") ? dFf : d;
                long out = k[0].equals("loraFcA") ? dFf : d;
                all.add(ParamSpec.uniform(k[0], in, r, 1 / Math.sqrt(in)));
                all.add(ParamSpec.zerosMatrix(k[1], r, out));
            }
        }
        if (prefixLength > 0) {
            long p = prefixLength;
            if (prefixProjection == 0) {
                // about the scale of a key or value at GPT-2 initialisation: 0.02 sqrt(d)
                all.add(ParamSpec.embedding(PREFIX, p, 2 * d, initStd * Math.sqrt(d)));
            } else {
                long h = prefixProjection;
                all.add(ParamSpec.embedding(PREFIX_E, p, d, 1.0));
                all.add(ParamSpec.weight(PREFIX_W1, d, h, initStd));
                all.add(ParamSpec.bias(PREFIX_B1, h));
                all.add(ParamSpec.weight(PREFIX_W2, h, 2 * d, initStd));
                all.add(ParamSpec.bias(PREFIX_B2, 2 * d));
            }
        }
        return all;
    }

    private List<ParamSpec> baseSpecs() {
        long d = dModel;
        // matrices first, then vectors: consecutive parameters with the same updater settings share one DL4J
        // updater block, so this order makes two blocks per layer (decayed, not decayed)
        return List.of(
            ParamSpec.weight(W_QKV, d, 3 * d, initStd),
            ParamSpec.weight(W_OUT, d, d, residualInitStd),
            ParamSpec.weight(W_FC, d, dFf, initStd),
            ParamSpec.weight(W_PROJ, dFf, d, residualInitStd),
            ParamSpec.gain(LN1_GAIN, d),
            ParamSpec.bias(LN1_BIAS, d),
            ParamSpec.bias(B_QKV, 3 * d),
            ParamSpec.bias(B_OUT, d),
            ParamSpec.gain(LN2_GAIN, d),
            ParamSpec.bias(LN2_BIAS, d),
            ParamSpec.bias(B_FC, dFf),
            ParamSpec.bias(B_PROJ, d));
    }

    @Override
    protected org.deeplearning4j.nn.api.Layer newLayer(NeuralNetConfiguration conf, DataType dataType) {
        return new TransformerBlockLayer(conf, dataType);
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

    public boolean getCausal() {
        return causal;
    }

    public void setCausal(boolean causal) {
        this.causal = causal;
    }

    public int getLoraRank() {
        return loraRank;
    }

    public void setLoraRank(int loraRank) {
        this.loraRank = loraRank;
    }

    public double getLoraAlpha() {
        return loraAlpha;
    }

    public void setLoraAlpha(double loraAlpha) {
        this.loraAlpha = loraAlpha;
    }

    public double getLoraDropout() {
        return loraDropout;
    }

    public void setLoraDropout(double loraDropout) {
        this.loraDropout = loraDropout;
    }

    public List<String> getLoraTargets() {
        return loraTargets;
    }

    public void setLoraTargets(List<String> loraTargets) {
        this.loraTargets = loraTargets == null ? List.of() : List.copyOf(loraTargets);
    }

    public int getPrefixLength() {
        return prefixLength;
    }

    public void setPrefixLength(int prefixLength) {
        this.prefixLength = prefixLength;
    }

    public int getPrefixProjection() {
        return prefixProjection;
    }

    public void setPrefixProjection(int prefixProjection) {
        this.prefixProjection = prefixProjection;
    }

    public boolean getInputGradient() {
        return inputGradient;
    }

    public void setInputGradient(boolean inputGradient) {
        this.inputGradient = inputGradient;
    }

    public double getResidualInitStd() {
        return residualInitStd;
    }

    public void setResidualInitStd(double residualInitStd) {
        this.residualInitStd = residualInitStd;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TransformerBlock b && super.equals(o) && b.dModel == dModel && b.heads == heads
            && b.dFf == dFf && b.causal == causal && b.dropout == dropout && b.initStd == initStd
            && b.residualInitStd == residualInitStd && b.layerNormEps == layerNormEps && b.loraRank == loraRank
            && b.loraAlpha == loraAlpha && b.loraDropout == loraDropout && b.loraTargets.equals(loraTargets)
            && b.prefixLength == prefixLength && b.prefixProjection == prefixProjection
            && b.inputGradient == inputGradient;
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), dModel, heads, dFf, causal, dropout, initStd, residualInitStd, loraRank,
            loraTargets, prefixLength, prefixProjection, inputGradient);
    }
}
