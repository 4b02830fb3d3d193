package org.sparklm.model.dl4j;

import java.util.List;
import java.util.Objects;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Configuration of the classification output layer: the final LayerNorm (the pretrained model's), pooling of the
 * sequence into one vector, dropout, a linear map to the classes with a bias, and the softmax cross-entropy loss
 * against integer labels. Input {@code [batch, time, d_model]}; labels {@code [batch, 1]} class ids; the token mask
 * ({@code [batch, time]}, 1 for real tokens) arrives as the features mask at inference and as the label mask in training
 * (so that DL4J's scoring keeps it). Activations: class probabilities {@code [batch, classes]}.
 *
 * <p>Pooling: {@code first} (position 0, where the [CLS] token of an encoder sits), {@code last} (the last real token
 * of each sequence, a decoder's [EOS]), {@code mean} (the mean over the real tokens of the normalised states).
 *
 * <p>Parameters: {@code lnfg lnfb} (LayerNorm, not decayed), {@code w [d_model, classes]} (normal(0, 0.02), decayed),
 * {@code b [1, classes]} (zeros).
 */
public final class ClassifierHead extends TransformerLayerConf {

    public static final String LN_GAIN = "lnfg";
    public static final String LN_BIAS = "lnfb";
    public static final String W = "w";
    public static final String B = "b";

    public static final String FIRST = "first";
    public static final String LAST = "last";
    public static final String MEAN = "mean";

    private int classes;
    private String pooling = MEAN;
    private boolean inputGradient = true;

    public ClassifierHead() {
    }

    /**
     * @param inputGradient whether the layer below needs the gradient of its output (false when nothing below
     *                      trains: the backward pass then stops here)
     */
    public ClassifierHead(int dModel, int classes, String pooling, double dropout, boolean inputGradient) {
        if (classes < 2) {
            throw new IllegalArgumentException("a classifier needs at least 2 classes, got " + classes);
        }
        if (!List.of(FIRST, LAST, MEAN).contains(pooling)) {
            throw new IllegalArgumentException("pooling must be first, last or mean, got '" + pooling + "'");
        }
        this.dModel = dModel;
        this.classes = classes;
        this.pooling = pooling;
        this.dropout = dropout;
        this.inputGradient = inputGradient;
    }

    @Override
    public List<ParamSpec> paramSpecs() {
        return List.of(
            ParamSpec.weight(W, dModel, classes, initStd),
            ParamSpec.gain(LN_GAIN, dModel),
            ParamSpec.bias(LN_BIAS, dModel),
            ParamSpec.bias(B, classes));
    }

    @Override
    protected org.deeplearning4j.nn.api.Layer newLayer(NeuralNetConfiguration conf, DataType dataType) {
        return new ClassifierHeadLayer(conf, dataType);
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType inputType) {
        return InputType.feedForward(classes);
    }

    public int getClasses() {
        return classes;
    }

    public void setClasses(int classes) {
        this.classes = classes;
    }

    public String getPooling() {
        return pooling;
    }

    public void setPooling(String pooling) {
        this.pooling = pooling;
    }

    public boolean getInputGradient() {
        return inputGradient;
    }

    public void setInputGradient(boolean inputGradient) {
        this.inputGradient = inputGradient;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ClassifierHead c && super.equals(o) && c.dModel == dModel && c.classes == classes
            && c.pooling.equals(pooling) && c.dropout == dropout && c.inputGradient == inputGradient
            && c.initStd == initStd;
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), dModel, classes, pooling, dropout, inputGradient);
    }
}
