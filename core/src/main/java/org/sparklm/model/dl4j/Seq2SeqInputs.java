package org.sparklm.model.dl4j;

import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.memory.LayerMemoryReport;
import org.deeplearning4j.nn.conf.memory.MemoryReport;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A parameterless graph vertex with two inputs, the encoder ids {@code [B, Te]} and the decoder ids {@code [B, Td]}
 * (the network's inputs 0 and 1), that packs them with their feature masks into one row per sequence for the
 * single-input {@link EncoderDecoder} layer:
 *
 * <pre>
 *   [B, 1 + 2 Te + 2 Td] = [Te | encoder ids | decoder ids | encoder mask | decoder mask]
 * </pre>
 *
 * The masks are the network's current input masks ({@code ComputationGraph.getInputMaskArrays()}: set by
 * {@code fit}, {@code score} and {@code output} with masks); none means all ones. DL4J passes a layer only one
 * input and one mask, so this is how the encoder's padding reaches the encoder-decoder layer. Nothing below trains,
 * so the backward pass returns no gradient.
 */
public final class Seq2SeqInputs extends GraphVertex {

    /**
     * The packed rows {@code [B, 1 + 2 Te + 2 Td]} of encoder and decoder ids and masks (null masks: all ones), in
     * the given type.
     */
    public static double[] pack(double[] enc, double[] dec, double[] encMask, double[] decMask, int b, int te,
                                int td) {
        int w = 1 + 2 * te + 2 * td;
        double[] out = new double[b * w];
        for (int i = 0; i < b; i++) {
            int o = i * w;
            out[o] = te;
            for (int j = 0; j < te; j++) {
                out[o + 1 + j] = enc[i * te + j];
                out[o + 1 + te + td + j] = encMask == null ? 1 : encMask[i * te + j];
            }
            for (int j = 0; j < td; j++) {
                out[o + 1 + te + j] = dec[i * td + j];
                out[o + 1 + 2 * te + td + j] = decMask == null ? 1 : decMask[i * td + j];
            }
        }
        return out;
    }

    /** {@link #pack(double[], double[], double[], double[], int, int, int)} of [B, T] arrays, as a DOUBLE array. */
    public static INDArray pack(INDArray enc, INDArray dec, INDArray encMask, INDArray decMask) {
        int b = (int) enc.size(0);
        int te = (int) enc.size(1);
        int td = (int) dec.size(1);
        double[] out = pack(flat(enc), flat(dec), encMask == null ? null : flat(encMask),
            decMask == null ? null : flat(decMask), b, te, td);
        return org.nd4j.linalg.factory.Nd4j.createFromArray(out).reshape(b, 1 + 2L * te + 2L * td);
    }

    private static double[] flat(INDArray a) {
        return a.castTo(DataType.DOUBLE).dup('c').reshape(a.length()).toDoubleVector();
    }

    @Override
    public Seq2SeqInputs clone() {
        return new Seq2SeqInputs();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Seq2SeqInputs;
    }

    @Override
    public int hashCode() {
        return Seq2SeqInputs.class.hashCode();
    }

    @Override
    public long numParams(boolean backprop) {
        return 0;
    }

    @Override
    public int minVertexInputs() {
        return 2;
    }

    @Override
    public int maxVertexInputs() {
        return 2;
    }

    @Override
    public org.deeplearning4j.nn.graph.vertex.GraphVertex instantiate(ComputationGraph graph, String name, int idx,
                                                                      INDArray paramsView, boolean initializeParams,
                                                                      DataType networkDatatype) {
        return new Seq2SeqInputsVertex(graph, name, idx, networkDatatype);
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType... vertexInputs) {
        long w = 1;
        for (InputType t : vertexInputs) {
            w += 2 * t.arrayElementsPerExample();
        }
        return InputType.feedForward(w);
    }

    @Override
    public MemoryReport getMemoryReport(InputType... inputTypes) {
        InputType out = getOutputType(-1, inputTypes);
        return new LayerMemoryReport.Builder(null, Seq2SeqInputs.class, inputTypes[0], out)
            .standardMemory(0, 0)
            .workingMemory(0, 0, 0, 0)
            .cacheMemory(0, 0)
            .build();
    }
}
