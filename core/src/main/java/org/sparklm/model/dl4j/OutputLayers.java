package org.sparklm.model.dl4j;

import org.deeplearning4j.nn.api.Layer;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Access to this package's output layers from outside it. */
public final class OutputLayers {

    private OutputLayers() {
    }

    /** The mean loss of the layer's last training step or score computation (without regularization), or NaN. */
    public static double lastLoss(Layer head) {
        if (head instanceof OutputLayerImpl<?> o) {
            return o.lastLoss();
        }
        throw new IllegalArgumentException("not an output layer of this package: " + head);
    }

    /** The encoder's final states {@code [B Te, d]} of an {@link EncoderDecoder} layer for packed input rows. */
    public static INDArray encoderStates(Layer encoderDecoder, INDArray packed) {
        if (encoderDecoder instanceof EncoderDecoderLayer e) {
            return e.encoderStates(packed);
        }
        throw new IllegalArgumentException("not an encoder-decoder layer: " + encoderDecoder);
    }
}
