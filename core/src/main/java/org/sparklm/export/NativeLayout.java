package org.sparklm.export;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.sparklm.UsageException;
import org.sparklm.io.Json;
import org.sparklm.model.AttentionMode;
import org.sparklm.model.TransformerConfig;
import org.sparklm.model.dl4j.ParamSpec;
import org.sparklm.model.dl4j.TransformerLayerConf;
import org.sparklm.train.Objective;

/**
 * Our own layout, for every model: each parameter is the tensor {@code VERTEX.KEY} (the graph vertex, then the
 * parameter's key in its layer: {@code embed.tok}, {@code block0.wqkv}, {@code head.head}), in the network's parameter
 * order, shaped as the parameter ({@code [rows, cols]}; a {@code [1, n]} vector as {@code [n]}). The names come from
 * the layers themselves: a {@link TransformerLayerConf} lists its {@link ParamSpec}s, any other DL4J layer its
 * parameter table, so a layer added to a network is exported without changes here. {@code config.json} holds the
 * {@code architecture} ({@value #TRANSFORMER_LM} for the decoder-only and encoder-only models, {@value #ENCODER_DECODER}
 * for the encoder-decoders), the objective and our {@link TransformerConfig}.
 */
public final class NativeLayout implements ModelLayout {

    public static final String KEY = "native";
    /** {@code config.json}'s {@code format}. */
    public static final String FORMAT = "sparklm-native";
    public static final int FORMAT_VERSION = 1;
    /** The architecture of {@code TransformerLm}: embedding, blocks, LM head. */
    public static final String TRANSFORMER_LM = "transformer-lm";
    /** The encoder-decoder (T5-style) architecture: one layer holding both stacks, behind its input vertex. */
    public static final String ENCODER_DECODER = "encoder-decoder";

    @Override
    public String key() {
        return KEY;
    }

    @Override
    public ObjectNode config(ModelSnapshot m) {
        ObjectNode c = Json.object();
        c.put("format", FORMAT);
        c.put("format_version", FORMAT_VERSION);
        c.put("architecture", m.config().isEncoderDecoder() ? ENCODER_DECODER : TRANSFORMER_LM);
        c.put("objective", m.objective().key());
        try {
            c.set("model", Json.MAPPER.readTree(m.config().toJson()));
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
        return c;
    }

    /** The network's layers with parameters, in the order of its flat parameter vector. */
    static List<GraphVertex> layerVertices(ComputationGraph net) {
        List<GraphVertex> out = new ArrayList<>();
        GraphVertex[] vertices = net.getVertices();
        for (int i : net.topologicalSortOrder()) {
            GraphVertex v = vertices[i];
            if (v.hasLayer() && v.getLayer().numParams() > 0) {
                out.add(v);
            }
        }
        return out;
    }

    @Override
    public List<TensorBinding> bindings(ComputationGraph net) {
        List<TensorBinding> out = new ArrayList<>();
        for (GraphVertex v : layerVertices(net)) {
            Layer layer = v.getLayer();
            String vertex = v.getVertexName();
            if (layer.conf().getLayer() instanceof TransformerLayerConf t) {
                for (ParamSpec s : t.paramSpecs()) {
                    out.add(TensorBinding.of(vertex + "." + s.key(), vertex, s.key(), new long[] {s.rows(), s.cols()},
                        false));
                }
            } else {
                for (Map.Entry<String, INDArray> e : layer.paramTable().entrySet()) {
                    out.add(TensorBinding.of(vertex + "." + e.getKey(), vertex, e.getKey(), e.getValue().shape(),
                        false));
                }
            }
        }
        return out;
    }

    @Override
    public boolean recognises(JsonNode config) {
        return FORMAT.equals(config.path("format").asText(null));
    }

    @Override
    public Architecture architecture(JsonNode c) {
        int version = c.path("format_version").asInt(-1);
        if (version < 1 || version > FORMAT_VERSION) {
            throw new UsageException("config.json: format_version " + c.path("format_version")
                + " is not one this version reads (1 to " + FORMAT_VERSION + ")");
        }
        String architecture = c.path("architecture").asText("");
        if (!architecture.equals(TRANSFORMER_LM) && !architecture.equals(ENCODER_DECODER)) {
            throw new UsageException("config.json: unknown architecture '" + architecture + "' (known: "
                + TRANSFORMER_LM + ", " + ENCODER_DECODER + ")");
        }
        Objective objective;
        TransformerConfig model;
        try {
            objective = Objective.parse(c.path("objective").asText(""));
            if (!c.path("model").isObject()) {
                throw new IllegalArgumentException("model (the model config) is missing");
            }
            model = TransformerConfig.fromJson(c.get("model").toString());
        } catch (IllegalArgumentException e) {
            throw new UsageException("config.json: " + e.getMessage());
        }
        if (architecture.equals(ENCODER_DECODER) != model.isEncoderDecoder()) {
            throw new UsageException("config.json: architecture '" + architecture + "' but model.architecture is "
                + (model.isEncoderDecoder() ? "an encoder-decoder" : "decoder-only"));
        }
        if (objective.isSeq2Seq() != model.isEncoderDecoder()) {
            throw new UsageException("config.json: a " + objective.key() + " model cannot be "
                + (model.isEncoderDecoder() ? "an encoder-decoder" : "decoder-only"));
        }
        if (!model.isEncoderDecoder() && model.attention() != AttentionMode.of(objective)) {
            throw new UsageException("config.json: a " + objective.key() + " model needs "
                + AttentionMode.of(objective).key() + " attention, model.attention is " + model.attention().key());
        }
        return new Architecture(model, objective, false);
    }

    @Override
    public List<TensorBinding> importBindings(ComputationGraph net, Architecture a) {
        return bindings(net);
    }
}
