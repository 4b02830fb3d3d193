package org.sparklm.model.dl4j;

import java.util.List;
import org.deeplearning4j.nn.api.layers.IOutputLayer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;

/**
 * Common part of this package's output layers ({@link LmHeadLayer}, {@link ClassifierHeadLayer}): the labels, the
 * loss of the last training step kept for {@code computeScore} (the loss is computed once, in the backward pass, as
 * DL4J does not run output layers in the training forward pass), and DL4J's per-layer training and prediction entry
 * points, which do not apply (the ComputationGraph trains and predicts).
 */
abstract class OutputLayerImpl<C extends TransformerLayerConf> extends TransformerLayerImpl<C>
    implements IOutputLayer {

    protected INDArray labels;
    /** The mean loss of the last training step or score computation, without regularization; NaN before. */
    protected double loss = Double.NaN;
    /** Whether {@link #loss} belongs to {@link #lossInput}. */
    protected boolean lossReady;
    protected INDArray lossInput;

    OutputLayerImpl(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    @Override
    public void setInput(INDArray input, LayerWorkspaceMgr workspaceMgr) {
        super.setInput(input, workspaceMgr);
        lossReady = false;
    }

    @Override
    public void setLabels(INDArray labels) {
        this.labels = labels;
        lossReady = false;
    }

    @Override
    public INDArray getLabels() {
        return labels;
    }

    @Override
    public boolean needsLabels() {
        return true;
    }

    /** The mean loss of the last training step (without regularization), or NaN. */
    public double lastLoss() {
        return loss;
    }

    /** Records the loss of the current input. */
    protected void lossOf(double value) {
        loss = value;
        lossReady = true;
        lossInput = input;
    }

    /** Whether the kept loss belongs to the current input. */
    protected boolean hasLoss() {
        return lossReady && lossInput == input;
    }

    @Override
    public double f1Score(DataSet data) {
        throw new UnsupportedOperationException("evaluate through the ComputationGraph");
    }

    @Override
    public double f1Score(INDArray examples, INDArray labels) {
        throw new UnsupportedOperationException("evaluate through the ComputationGraph");
    }

    @Override
    public void fit(DataSetIterator iter) {
        throw new UnsupportedOperationException("train the ComputationGraph instead");
    }

    @Override
    public int[] predict(INDArray examples) {
        throw new UnsupportedOperationException("use the network's output");
    }

    @Override
    public List<String> predict(DataSet dataSet) {
        throw new UnsupportedOperationException("use the network's output");
    }

    @Override
    public void fit(INDArray examples, INDArray labels) {
        throw new UnsupportedOperationException("train the ComputationGraph instead");
    }

    @Override
    public void fit(DataSet data) {
        throw new UnsupportedOperationException("train the ComputationGraph instead");
    }

    @Override
    public void fit(INDArray examples, int[] labels) {
        throw new UnsupportedOperationException("train the ComputationGraph instead");
    }
}
