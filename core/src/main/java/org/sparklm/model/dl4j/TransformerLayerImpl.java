package org.sparklm.model.dl4j;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.layers.BaseLayer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Common implementation of the layers of this package: parameters are the views made by {@link SpecParamInitializer};
 * forward and backward passes are written by hand (no autodiff), and what the backward pass needs is kept from the
 * forward pass in DL4J's activation workspace, which stays open from the forward pass to the end of backpropagation
 * during {@code fit}. If a backward pass comes without a matching training forward pass, the layer runs its forward
 * pass again first.
 */
abstract class TransformerLayerImpl<C extends TransformerLayerConf> extends BaseLayer<C> {

    TransformerLayerImpl(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    @Override
    public void setParams(INDArray params) {
        if (params == paramsFlattened) {
            return;
        }
        if (params.length() != paramsFlattened.length()) {
            throw new IllegalArgumentException("expected " + paramsFlattened.length() + " parameters, got "
                + params.length());
        }
        paramsFlattened.assign(params.reshape(paramsFlattened.shape()));
    }

    @Override
    public boolean isPretrainLayer() {
        return false;
    }

    @Override
    public void clearNoiseWeightParams() {
        // no weight noise
    }

    @Override
    public Type type() {
        return Type.FEED_FORWARD;
    }

    @Override
    public boolean hasBias() {
        return false;
    }

    INDArray param(String key) {
        return params.get(key);
    }

    INDArray grad(String key) {
        return gradientViews.get(key);
    }

    /** An uninitialised array in the given workspace. */
    INDArray create(LayerWorkspaceMgr mgr, ArrayType type, long... shape) {
        return mgr.createUninitialized(type, dataType, shape, 'c');
    }

    /** A zero-filled array in the given workspace. */
    INDArray zeros(LayerWorkspaceMgr mgr, ArrayType type, long... shape) {
        return mgr.create(type, dataType, shape, 'c');
    }
}
