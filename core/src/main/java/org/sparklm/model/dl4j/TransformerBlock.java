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

    @Override
    public List<ParamSpec> paramSpecs() {
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
            && b.residualInitStd == residualInitStd && b.layerNormEps == layerNormEps;
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), dModel, heads, dFf, causal, dropout, initStd, residualInitStd);
    }
}
