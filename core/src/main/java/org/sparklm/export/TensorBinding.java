package org.sparklm.export;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One tensor of {@code model.safetensors} and the network parameter it holds: the whole mapping between a file layout
 * and a network is a list of these ({@link ModelLayout#bindings}), so export and import are the same loop in both
 * directions. A parameter is stored as it is (row-major; a {@code [1, n]} row vector as the 1-D {@code [n]}, as
 * PyTorch stores biases and LayerNorm parameters) or, for a matrix, transposed.
 *
 * @param name       the tensor's name in the file
 * @param vertex     the graph vertex (layer) holding the parameter
 * @param key        the parameter's key in that layer ({@code ParamSpec.key()} for our layers)
 * @param shape      the tensor's shape in the file
 * @param transposed whether the file holds the transpose of the parameter matrix
 */
public record TensorBinding(String name, String vertex, String key, List<Long> shape, boolean transposed) {

    public TensorBinding {
        shape = List.copyOf(shape);
    }

    /**
     * The binding of a parameter of shape {@code paramShape}: a rank-2 {@code [1, n]} row vector becomes {@code [n]};
     * a transposed matrix {@code [r, c]} becomes {@code [c, r]}; anything else keeps its shape.
     */
    public static TensorBinding of(String name, String vertex, String key, long[] paramShape, boolean transposed) {
        List<Long> s = new ArrayList<>();
        if (transposed) {
            if (paramShape.length != 2) {
                throw new IllegalArgumentException("only a matrix can be stored transposed: " + vertex + "." + key
                    + " has shape " + Arrays.toString(paramShape));
            }
            s.add(paramShape[1]);
            s.add(paramShape[0]);
        } else if (paramShape.length == 2 && paramShape[0] == 1) {
            s.add(paramShape[1]);
        } else {
            for (long d : paramShape) {
                s.add(d);
            }
        }
        return new TensorBinding(name, vertex, key, s, transposed);
    }

    /** The parameter's name in DL4J's parameter table of the network: {@code vertex_key}. */
    public String param() {
        return vertex + "_" + key;
    }

    /** The file shape as an array. */
    public long[] shapeArray() {
        return shape.stream().mapToLong(Long::longValue).toArray();
    }

    /** The parameter of {@code net} this binding names; an error when the network has none. */
    public INDArray parameter(ComputationGraph net) {
        INDArray p = net.getVertex(vertex) == null || !net.getVertex(vertex).hasLayer() ? null
            : net.getVertex(vertex).getLayer().paramTable().get(key);
        if (p == null) {
            throw new IllegalArgumentException("the network has no parameter " + key + " in layer " + vertex);
        }
        return p;
    }

    /** The parameter's values as the file lays them out (row-major in the file's shape). */
    public float[] read(ComputationGraph net) {
        INDArray p = parameter(net);
        INDArray v = transposed ? p.transpose() : p;
        return v.dup('c').castTo(DataType.FLOAT).data().asFloat();
    }

    /** Assigns values laid out as in the file (row-major in the file's shape) to the parameter. */
    public void assign(ComputationGraph net, float[] values) {
        INDArray p = parameter(net);
        if (values.length != p.length()) {
            throw new IllegalArgumentException(name + ": " + values.length + " values for parameter " + param()
                + " of " + p.length());
        }
        INDArray v = Nd4j.create(values, transposed ? new long[] {p.size(1), p.size(0)} : p.shape(), 'c')
            .castTo(p.dataType());
        p.assign(transposed ? v.transpose() : v);
    }
}
