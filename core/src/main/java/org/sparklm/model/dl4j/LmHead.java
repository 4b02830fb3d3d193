package org.sparklm.model.dl4j;

import java.util.List;
import java.util.Objects;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Configuration of the output layer: the final LayerNorm, the LM head (a linear map to the vocabulary, untied from
 * the token embedding, no bias) and the softmax cross-entropy loss with integer labels. Input
 * {@code [batch, time, d_model]}; labels {@code [batch, 1, time]} token ids; optional label mask {@code [batch, time]}
 * (weights, 0 = not counted, as for masked-LM). The loss is the mean over the counted positions; activations (at
 * inference) are the next-token probabilities {@code [batch, time, vocab]}.
 *
 * <p>Parameters: {@code lnfg lnfb} (LayerNorm, not decayed), {@code head [d_model, vocab]} (normal(0, 0.02), decayed).
 */
public final class LmHead extends TransformerLayerConf {

    public static final String LN_GAIN = "lnfg";
    public static final String LN_BIAS = "lnfb";
    public static final String HEAD = "head";

    private int vocabSize;

    public LmHead() {
    }

    public LmHead(int dModel, int vocabSize) {
        this.dModel = dModel;
        this.vocabSize = vocabSize;
    }

    @Override
    public List<ParamSpec> paramSpecs() {
        return List.of(
            ParamSpec.weight(HEAD, dModel, vocabSize, initStd),
            ParamSpec.gain(LN_GAIN, dModel),
            ParamSpec.bias(LN_BIAS, dModel));
    }

    @Override
    protected org.deeplearning4j.nn.api.Layer newLayer(NeuralNetConfiguration conf, DataType dataType) {
        return new LmHeadLayer(conf, dataType);
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType inputType) {
        long t = inputType instanceof InputType.InputTypeRecurrent r ? r.getTimeSeriesLength() : -1;
        return InputType.recurrent(vocabSize, t, RNNFormat.NWC);
    }

    public int getVocabSize() {
        return vocabSize;
    }

    public void setVocabSize(int vocabSize) {
        this.vocabSize = vocabSize;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LmHead l && super.equals(o) && l.dModel == dModel && l.vocabSize == vocabSize
            && l.initStd == initStd && l.layerNormEps == layerNormEps;
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), dModel, vocabSize, initStd);
    }
}
