package org.sparklm.model.dl4j;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.MaskState;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.BaseGraphVertex;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** {@link Seq2SeqInputs}: the packing of the encoder and decoder ids and masks. */
final class Seq2SeqInputsVertex extends BaseGraphVertex {

    Seq2SeqInputsVertex(ComputationGraph graph, String name, int index, DataType dataType) {
        super(graph, name, index, null, null, dataType);
    }

    @Override
    public boolean hasLayer() {
        return false;
    }

    @Override
    public Layer getLayer() {
        return null;
    }

    /** Values of a [B, T] array (ids or a mask) as doubles, row-major. */
    private static double[] values(INDArray a, long b, long t, String what) {
        if (a.rank() != 2 || a.size(0) != b || a.size(1) != t) {
            throw new IllegalArgumentException(what + " must be [" + b + ", " + t + "], got "
                + java.util.Arrays.toString(a.shape()));
        }
        return a.castTo(DataType.DOUBLE).dup('c').reshape(b * t).toDoubleVector();
    }

    @Override
    public INDArray doForward(boolean training, LayerWorkspaceMgr mgr) {
        if (!canDoForward()) {
            throw new IllegalStateException("Seq2SeqInputs: inputs not set");
        }
        INDArray enc = inputs[0];
        INDArray dec = inputs[1];
        if (enc.rank() != 2 || dec.rank() != 2 || enc.size(0) != dec.size(0)) {
            throw new IllegalArgumentException("encoder and decoder ids must be [batch, Te] and [batch, Td], got "
                + java.util.Arrays.toString(enc.shape()) + " and " + java.util.Arrays.toString(dec.shape()));
        }
        long b = enc.size(0);
        int te = (int) enc.size(1);
        int td = (int) dec.size(1);
        int w = 1 + 2 * te + 2 * td;
        double[] ei = values(enc, b, te, "encoder ids");
        double[] di = values(dec, b, td, "decoder ids");
        INDArray[] masks = graph.getInputMaskArrays();
        double[] em = masks == null || masks[0] == null ? null : values(masks[0], b, te, "encoder mask");
        double[] dm = masks == null || masks.length < 2 || masks[1] == null ? null
            : values(masks[1], b, td, "decoder mask");
        double[] out = Seq2SeqInputs.pack(ei, di, em, dm, (int) b, te, td);
        INDArray packed = mgr.createUninitialized(ArrayType.ACTIVATIONS, dataType, new long[] {b, w}, 'c');
        if (dataType == DataType.DOUBLE) {
            Kernels.writeDoubles(packed, out);
        } else {
            float[] f = new float[out.length];
            for (int i = 0; i < f.length; i++) {
                f[i] = (float) out[i];
            }
            Kernels.writeFloats(packed, f);
        }
        return packed;
    }

    @Override
    public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr mgr) {
        // ids have no gradient; nothing below trains
        return new Pair<>(null, new INDArray[] {null, null});
    }

    @Override
    public void setBackpropGradientsViewArray(INDArray backpropGradientsViewArray) {
        if (backpropGradientsViewArray != null && backpropGradientsViewArray.length() > 0) {
            throw new IllegalArgumentException("Seq2SeqInputs has no parameters");
        }
    }

    @Override
    public Pair<INDArray, MaskState> feedForwardMaskArrays(INDArray[] maskArrays, MaskState currentMaskState,
                                                           int minibatchSize) {
        // the masks travel inside the packed rows
        return null;
    }

    @Override
    public String toString() {
        return "Seq2SeqInputsVertex(" + vertexName + ")";
    }
}
