package org.sparklm.model.dl4j;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Parameter initializer for the layers of this package: each layer lists its parameters as {@link ParamSpec}s, and
 * they are laid out one after the other, each a row-major ({@code 'c'}) view of the layer's slice of the network's
 * flat parameter vector (and likewise for gradients). Normal initialisation draws from ND4J's global RNG, which DL4J
 * seeds from the network configuration's seed.
 */
public final class SpecParamInitializer implements ParamInitializer {

    public static final SpecParamInitializer INSTANCE = new SpecParamInitializer();

    private SpecParamInitializer() {
    }

    private static List<ParamSpec> specs(Layer layer) {
        if (!(layer instanceof TransformerLayerConf t)) {
            throw new IllegalArgumentException("not a Transformer layer: " + layer);
        }
        return t.paramSpecs();
    }

    @Override
    public long numParams(NeuralNetConfiguration conf) {
        return numParams(conf.getLayer());
    }

    @Override
    public long numParams(Layer layer) {
        long n = 0;
        for (ParamSpec s : specs(layer)) {
            n += s.length();
        }
        return n;
    }

    @Override
    public List<String> paramKeys(Layer layer) {
        List<String> keys = new ArrayList<>();
        for (ParamSpec s : specs(layer)) {
            keys.add(s.key());
        }
        return keys;
    }

    /** The decayed matrices. */
    @Override
    public List<String> weightKeys(Layer layer) {
        List<String> keys = new ArrayList<>();
        for (ParamSpec s : specs(layer)) {
            if (s.decay()) {
                keys.add(s.key());
            }
        }
        return keys;
    }

    /** Everything not decayed: biases, LayerNorm gains and shifts, embeddings. */
    @Override
    public List<String> biasKeys(Layer layer) {
        List<String> keys = new ArrayList<>();
        for (ParamSpec s : specs(layer)) {
            if (!s.decay()) {
                keys.add(s.key());
            }
        }
        return keys;
    }

    @Override
    public boolean isWeightParam(Layer layer, String key) {
        return weightKeys(layer).contains(key);
    }

    @Override
    public boolean isBiasParam(Layer layer, String key) {
        return biasKeys(layer).contains(key);
    }

    @Override
    public Map<String, INDArray> init(NeuralNetConfiguration conf, INDArray paramsView, boolean initializeParams) {
        Map<String, INDArray> views = views(conf.getLayer(), paramsView);
        for (ParamSpec s : specs(conf.getLayer())) {
            conf.addVariable(s.key());
            if (initializeParams) {
                INDArray v = views.get(s.key());
                switch (s.init()) {
                    case ZEROS -> v.assign(0);
                    case ONES -> v.assign(1);
                    case NORMAL -> v.assign(Nd4j.randn(v.dataType(), v.shape()).muli(s.std()));
                    case UNIFORM -> v.assign(Nd4j.rand(v.dataType(), v.shape()).muli(2 * s.std()).subi(s.std()));
                    default -> throw new IllegalStateException();
                }
            }
        }
        return views;
    }

    @Override
    public Map<String, INDArray> getGradientsFromFlattened(NeuralNetConfiguration conf, INDArray gradientView) {
        return views(conf.getLayer(), gradientView);
    }

    private Map<String, INDArray> views(Layer layer, INDArray flat) {
        long total = numParams(layer);
        if (flat.length() != total) {
            throw new IllegalArgumentException("expected " + total + " parameters, got a view of " + flat.length());
        }
        INDArray row = flat.reshape('c', 1, total);
        Map<String, INDArray> out = new LinkedHashMap<>();
        long off = 0;
        for (ParamSpec s : specs(layer)) {
            INDArray v = row.get(NDArrayIndex.point(0), NDArrayIndex.interval(off, off + s.length()))
                .reshape('c', s.rows(), s.cols());
            out.put(s.key(), v);
            off += s.length();
        }
        return out;
    }
}
