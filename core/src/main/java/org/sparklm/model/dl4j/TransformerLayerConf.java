package org.sparklm.model.dl4j;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.memory.LayerMemoryReport;
import org.deeplearning4j.nn.conf.memory.MemoryReport;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.learning.regularization.Regularization;

/**
 * Common configuration of the Transformer layers of this package: ordinary DL4J layer configurations (serialised to
 * the network's JSON by class name, so {@code ComputationGraphConfiguration.fromJson}, {@code ModelSerializer} and
 * dl4j-spark's workers rebuild them), whose parameters are listed as {@link ParamSpec}s.
 *
 * <p>Weight decay ({@link #getRegularization()}) applies only to the parameters whose spec says {@code decay}: the
 * matrices of the linear maps; biases, LayerNorm gains and shifts and embeddings are not decayed (as in GPT-2 and
 * nanoGPT). Activations are laid out {@code [batch, time, d_model]} (NWC) between the layers.
 *
 * <p>Subclasses need a public no-argument constructor and getters/setters for their fields (JSON).
 */
public abstract class TransformerLayerConf extends BaseLayer {

    protected int dModel;
    protected double initStd = 0.02;
    protected double dropout;
    protected double layerNormEps = 1e-5;
    /** Keys of the parameters that do not train (fine-tuning methods that keep pretrained weights). */
    protected List<String> frozen = List.of();

    protected TransformerLayerConf() {
        // let the network's defaults fill these in unless the layer sets them
        this.gradientNormalization = null;
        this.gradientNormalizationThreshold = Double.NaN;
        this.biasInit = Double.NaN;
        this.gainInit = Double.NaN;
    }

    /** The layer's parameters, in their order in the flat parameter vector. */
    public abstract List<ParamSpec> paramSpecs();

    /** Creates the layer implementation. */
    protected abstract org.deeplearning4j.nn.api.Layer newLayer(NeuralNetConfiguration conf, DataType dataType);

    @Override
    public org.deeplearning4j.nn.api.Layer instantiate(NeuralNetConfiguration conf,
                                                        Collection<TrainingListener> listeners, int layerIndex,
                                                        INDArray layerParamsView, boolean initializeParams,
                                                        DataType networkDataType) {
        org.deeplearning4j.nn.api.Layer layer = newLayer(conf, networkDataType);
        layer.setListeners(listeners);
        layer.setIndex(layerIndex);
        layer.setParamsViewArray(layerParamsView);
        Map<String, INDArray> table = initializer().init(conf, layerParamsView, initializeParams);
        layer.setParamTable(table);
        layer.setConf(conf);
        return layer;
    }

    @Override
    public ParamInitializer initializer() {
        return SpecParamInitializer.INSTANCE;
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType inputType) {
        long t = inputType instanceof InputType.InputTypeRecurrent r ? r.getTimeSeriesLength() : -1;
        return InputType.recurrent(dModel, t, RNNFormat.NWC);
    }

    @Override
    public void setNIn(InputType inputType, boolean override) {
        // sizes come from the model config
    }

    @Override
    public InputPreProcessor getPreProcessorForInputType(InputType inputType) {
        return null;
    }

    @Override
    public List<Regularization> getRegularizationByParam(String paramName) {
        for (ParamSpec s : paramSpecs()) {
            if (s.key().equals(paramName)) {
                return s.decay() && regularization != null && !isFrozen(paramName) ? regularization : List.of();
            }
        }
        throw new IllegalArgumentException("unknown parameter '" + paramName + "' of layer " + layerName);
    }

    /**
     * A frozen parameter has DL4J's {@link NoOp} updater: no optimizer state, and its update is its gradient, which
     * the layer leaves at zero (it never computes a frozen parameter's gradient), so the value stays bitwise the same.
     */
    @Override
    public IUpdater getUpdaterByParam(String paramName) {
        return isFrozen(paramName) ? new NoOp() : iUpdater;
    }

    /** Whether a parameter of this layer is frozen. */
    public boolean isFrozen(String paramName) {
        return frozen.contains(paramName);
    }

    /** Whether every parameter of this layer is frozen. */
    public boolean allFrozen() {
        for (ParamSpec s : paramSpecs()) {
            if (!frozen.contains(s.key())) {
                return false;
            }
        }
        return true;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TransformerLayerConf t && super.equals(o) && frozen.equals(t.frozen);
    }

    @Override
    public int hashCode() {
        return 31 * super.hashCode() + frozen.hashCode();
    }

    public List<String> getFrozen() {
        return frozen;
    }

    public void setFrozen(List<String> frozen) {
        this.frozen = frozen == null ? List.of() : List.copyOf(frozen);
    }

    @Override
    public boolean isPretrainParam(String paramName) {
        return false;
    }

    @Override
    public LayerMemoryReport getMemoryReport(InputType inputType) {
        long n = initializer().numParams(this);
        long updaterState = iUpdater == null ? 0 : iUpdater.stateSize(n);
        return new LayerMemoryReport.Builder(layerName, getClass(), inputType, getOutputType(-1, inputType))
            .standardMemory(n, updaterState)
            .workingMemory(0, 0, 0, 0)
            .cacheMemory(MemoryReport.CACHE_MODE_ALL_ZEROS, MemoryReport.CACHE_MODE_ALL_ZEROS)
            .build();
    }

    public int getDModel() {
        return dModel;
    }

    public void setDModel(int dModel) {
        this.dModel = dModel;
    }

    /** Standard deviation of the normal initialisation (GPT-2: 0.02). */
    public double getInitStd() {
        return initStd;
    }

    public void setInitStd(double initStd) {
        this.initStd = initStd;
    }

    /** Dropout rate of the layer's own dropout (inverted dropout, training only). */
    public double getDropout() {
        return dropout;
    }

    public void setDropout(double dropout) {
        this.dropout = dropout;
    }

    public double getLayerNormEps() {
        return layerNormEps;
    }

    public void setLayerNormEps(double layerNormEps) {
        this.layerNormEps = layerNormEps;
    }
}
