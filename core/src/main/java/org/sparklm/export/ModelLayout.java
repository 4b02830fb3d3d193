package org.sparklm.export;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.sparklm.model.TransformerConfig;
import org.sparklm.train.Objective;

/**
 * How a model's parameters and configuration are laid out in an export directory: which tensor of
 * {@code model.safetensors} holds which parameter ({@link TensorBinding}s) and what {@code config.json} says. The
 * layouts are {@link NativeLayout} (every model, our names) and {@link Gpt2Layout} (HuggingFace GPT-2, causal LMs);
 * {@link ModelLayouts} lists them. A new layout is a new implementation added there; new layers reach the native
 * layout without code through their {@code ParamSpec}s.
 */
public interface ModelLayout {

    /** The {@code --layout} value and the {@code sparklm.layout} metadata value. */
    String key();

    /**
     * The export's {@code config.json}.
     *
     * @throws org.sparklm.UsageException when the model has no equivalent in this layout
     */
    ObjectNode config(ModelSnapshot model);

    /**
     * The tensors of an export of {@code net}, in file order: every parameter of the network exactly once.
     *
     * @throws org.sparklm.UsageException when a parameter has no place in this layout
     */
    List<TensorBinding> bindings(ComputationGraph net);

    /** Whether an export's {@code config.json} is in this layout. */
    boolean recognises(JsonNode config);

    /**
     * The model an export's {@code config.json} describes.
     *
     * @throws org.sparklm.UsageException when it is incomplete or describes a model we cannot build
     */
    Architecture architecture(JsonNode config);

    /**
     * The bindings that fill a network built for {@code a} from a file of this layout: every parameter of the network
     * exactly once (one file tensor may feed several parameters, as a tied embedding does).
     */
    List<TensorBinding> importBindings(ComputationGraph net, Architecture a);

    /** File tensors that hold no parameter and are skipped on import (e.g. a saved attention-mask buffer). */
    default boolean ignored(String tensor, Architecture a) {
        return false;
    }

    /**
     * What {@code config.json} describes: a Transformer LM of our architecture.
     *
     * @param model     the sizes
     * @param objective what it was trained for (decides the attention)
     * @param tiedHead  the LM head is the token embedding's transpose (HF's {@code tie_word_embeddings})
     */
    record Architecture(TransformerConfig model, Objective objective, boolean tiedHead) {
    }
}
