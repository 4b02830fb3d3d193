package org.sparklm.model;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.sparklm.model.dl4j.TransformerLayerConf;

/**
 * Where the trainable parameters sit in a network's flat parameter vector: the ranges of every parameter that its
 * layer does not freeze ({@link TransformerLayerConf#isFrozen}), merged where adjacent. With fine-tuning methods that
 * freeze the pretrained weights (a linear probe, LoRA, prefix tuning), only these ranges change, carry optimizer
 * state, and need to travel between the driver and the workers each round.
 */
public final class TrainableParams implements Serializable {
    private static final long serialVersionUID = 1L;

    private final long[] starts;
    private final long[] ends;
    private final long total;
    private final long count;

    private TrainableParams(List<long[]> ranges, long total) {
        starts = new long[ranges.size()];
        ends = new long[ranges.size()];
        long n = 0;
        for (int i = 0; i < ranges.size(); i++) {
            starts[i] = ranges.get(i)[0];
            ends[i] = ranges.get(i)[1];
            n += ends[i] - starts[i];
        }
        this.total = total;
        this.count = n;
    }

    /** The trainable ranges of a network (in the order of its flat parameter vector). */
    public static TrainableParams of(ComputationGraph net) {
        List<long[]> ranges = new ArrayList<>();
        INDArray flat = net.params();
        long base = flat.offset();
        for (int idx : net.topologicalSortOrder()) {
            var v = net.getVertices()[idx];
            if (!v.hasLayer() || v.numParams() == 0) {
                continue;
            }
            Layer layer = v.getLayer();
            var conf = layer.conf().getLayer();
            for (var e : layer.paramTable().entrySet()) {
                boolean frozen = conf instanceof TransformerLayerConf t && t.isFrozen(e.getKey());
                if (frozen) {
                    continue;
                }
                long start = e.getValue().offset() - base;
                long end = start + e.getValue().length();
                if (!ranges.isEmpty() && ranges.get(ranges.size() - 1)[1] == start) {
                    ranges.get(ranges.size() - 1)[1] = end;
                } else {
                    ranges.add(new long[] {start, end});
                }
            }
        }
        return new TrainableParams(ranges, flat.length());
    }

    /** Number of trainable parameters. */
    public long count() {
        return count;
    }

    /** Number of parameters of the whole network. */
    public long total() {
        return total;
    }

    /** Whether every parameter is trainable. */
    public boolean all() {
        return count == total;
    }

    /** The trainable values of a flat parameter vector, concatenated: {@code [1, count]}. */
    public INDArray extract(INDArray flat) {
        checkLength(flat);
        INDArray out = Nd4j.create(flat.dataType(), 1, count);
        INDArray row = flat.reshape(1, total);
        long o = 0;
        for (int i = 0; i < starts.length; i++) {
            long n = ends[i] - starts[i];
            out.get(NDArrayIndex.point(0), NDArrayIndex.interval(o, o + n))
                .assign(row.get(NDArrayIndex.point(0), NDArrayIndex.interval(starts[i], ends[i])));
            o += n;
        }
        return out;
    }

    /** Writes {@link #extract}'s output back into a flat parameter vector (in place). */
    public void insert(INDArray values, INDArray flat) {
        checkLength(flat);
        if (values.length() != count) {
            throw new IllegalArgumentException("expected " + count + " trainable values, got " + values.length());
        }
        INDArray row = flat.reshape(1, total);
        INDArray v = values.reshape(1, count);
        long o = 0;
        for (int i = 0; i < starts.length; i++) {
            long n = ends[i] - starts[i];
            row.get(NDArrayIndex.point(0), NDArrayIndex.interval(starts[i], ends[i]))
                .assign(v.get(NDArrayIndex.point(0), NDArrayIndex.interval(o, o + n)));
            o += n;
        }
    }

    private void checkLength(INDArray flat) {
        if (flat.length() != total) {
            throw new IllegalArgumentException("expected a flat vector of " + total + " parameters, got "
                + flat.length());
        }
    }
}
