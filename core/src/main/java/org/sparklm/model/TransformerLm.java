package org.sparklm.model;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.conf.CacheMode;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.sparklm.train.DecoupledWeightDecay;
import org.sparklm.model.dl4j.EncoderDecoder;
import org.sparklm.model.dl4j.LmHead;
import org.sparklm.model.dl4j.OutputLayers;
import org.sparklm.model.dl4j.Seq2SeqInputs;
import org.sparklm.model.dl4j.TokenPositionEmbedding;
import org.sparklm.model.dl4j.TransformerBlock;
import org.sparklm.model.dl4j.TransformerLayerConf;
import org.sparklm.train.OptimizerConfig;

/**
 * Builds the Transformer language model of a {@link TransformerConfig} as a DL4J {@link ComputationGraph}, a plain
 * graph of custom layers (so dl4j-spark's {@code SparkComputationGraph} trains it like any other):
 *
 * <pre>
 *   tokens [batch, time] (ids as floats)
 *     -> embed   token + learned position embeddings, dropout             [batch, time, d]
 *     -> block0 .. block{L-1}   pre-LayerNorm self-attention + GELU MLP    [batch, time, d]
 *     -> head    final LayerNorm, LM head, softmax cross-entropy           labels [batch, 1, time]
 * </pre>
 *
 * The architecture is GPT-2's (Radford et al. 2019) with an untied LM head; with bidirectional attention and the
 * masked-LM objective it is a BERT-style encoder (Devlin et al. 2019) without next-sentence prediction. The loss is the
 * mean cross-entropy over the counted positions ({@code miniBatch(false)}: DL4J does not divide the gradient again).
 * Training is AdamW ({@link OptimizerConfig}). Forward and backward passes are hand-written layers of
 * {@code org.sparklm.model.dl4j}; see docs/DESIGN.md, "Model and training".
 */
public final class TransformerLm {

    public static final String INPUT = "tokens";
    /** Encoder-decoder inputs: the network's features 0 and 1, and the vertex that packs them for the model. */
    public static final String ENCODER_INPUT = "encoder";
    public static final String DECODER_INPUT = "decoder";
    public static final String PACK = "inputs";
    public static final String EMBEDDING = "embed";
    public static final String HEAD = "head";

    private TransformerLm() {
    }

    /** Vertex name of block {@code i}. */
    public static String block(int i) {
        return "block" + i;
    }

    /** A single-precision model trained with {@code opt}, initialised from {@code seed}. */
    public static ComputationGraph create(TransformerConfig model, OptimizerConfig opt, long seed) {
        ComputationGraph net = new ComputationGraph(configuration(model, opt.updater(), opt.weightDecay(),
            opt.gradientNormalization(), opt.gradClip(), seed, DataType.FLOAT));
        net.init();
        return net;
    }

    /**
     * The graph configuration.
     *
     * @param updater the optimizer (each layer gets a clone)
     * @param weightDecay decoupled weight decay on the linear maps' matrices (0: none)
     * @param clipping how gradients are normalised ({@link OptimizerConfig#gradientNormalization()})
     * @param clipThreshold the normalisation threshold
     * @param dataType FLOAT for training, DOUBLE for gradient checks
     */
    public static ComputationGraphConfiguration configuration(TransformerConfig model, IUpdater updater,
                                                              double weightDecay, GradientNormalization clipping,
                                                              double clipThreshold, long seed, DataType dataType) {
        if (model.isEncoderDecoder()) {
            return encoderDecoder(model, updater, weightDecay, clipping, clipThreshold, seed, dataType);
        }
        List<TransformerLayerConf> layers = new ArrayList<>();
        List<String> names = new ArrayList<>();
        layers.add(new TokenPositionEmbedding(model.vocabSize(), model.contextLength(), model.dModel(),
            model.dropout()));
        names.add(EMBEDDING);
        for (int i = 0; i < model.layers(); i++) {
            layers.add(new TransformerBlock(model.dModel(), model.heads(), model.dFf(),
                model.attention() == AttentionMode.CAUSAL, model.dropout(), model.layers()));
            names.add(block(i));
        }
        layers.add(new LmHead(model.dModel(), model.vocabSize()));
        names.add(HEAD);
        return chain(layers, names, updater, weightDecay, clipping, clipThreshold, seed, dataType);
    }

    /**
     * The encoder-decoder graph (T5): inputs {@link #ENCODER_INPUT} (features 0, {@code [B, Te]}) and
     * {@link #DECODER_INPUT} (features 1, {@code [B, Td]}), their masks, packed by a {@link Seq2SeqInputs} vertex
     * into the one input of the {@link EncoderDecoder} output layer {@link #HEAD}, which holds the whole model.
     */
    private static ComputationGraphConfiguration encoderDecoder(TransformerConfig model, IUpdater updater,
                                                                double weightDecay, GradientNormalization clipping,
                                                                double clipThreshold, long seed, DataType dataType) {
        EncoderDecoder layer = new EncoderDecoder(model.vocabSize(), model.dModel(), model.heads(), model.dFf(),
            model.encoderLayers(), model.decoderLayers(), model.encoderContext(), model.decoderContext(),
            model.tiedEmbeddings(), model.relativeBuckets(), model.relativeMaxDistance());
        configure(layer, updater, weightDecay, clipping, clipThreshold);
        return builder(updater, seed, dataType)
            .addInputs(ENCODER_INPUT, DECODER_INPUT)
            .addVertex(PACK, new Seq2SeqInputs(), ENCODER_INPUT, DECODER_INPUT)
            .addLayer(HEAD, layer, PACK)
            .setOutputs(HEAD)
            .validateOutputLayerConfig(false)
            .build();
    }

    private static void configure(TransformerLayerConf l, IUpdater updater, double weightDecay,
                                  GradientNormalization clipping, double clipThreshold) {
        l.setIUpdater(updater.clone());
        List<Regularization> reg = new ArrayList<>();
        if (weightDecay > 0) {
            reg.add(new DecoupledWeightDecay(weightDecay));
        }
        l.setRegularization(reg);
        l.setRegularizationBias(new ArrayList<>());
        l.setGradientNormalization(clipping);
        l.setGradientNormalizationThreshold(clipThreshold);
    }

    private static ComputationGraphConfiguration.GraphBuilder builder(IUpdater updater, long seed, DataType type) {
        return new NeuralNetConfiguration.Builder()
            .seed(seed)
            .dataType(type)
            .updater(updater)
            .miniBatch(false)
            .cacheMode(CacheMode.NONE)
            .trainingWorkspaceMode(WorkspaceMode.ENABLED)
            .inferenceWorkspaceMode(WorkspaceMode.ENABLED)
            .graphBuilder();
    }

    /**
     * A chain of this package's layers from the {@link #INPUT} token ids to the last layer (the output), each with
     * the optimizer, decoupled weight decay on its decayed parameters, and gradient normalisation: the graph of the
     * language model, and of the models built on it (classifiers).
     */
    public static ComputationGraphConfiguration chain(List<TransformerLayerConf> layers, List<String> names,
                                                      IUpdater updater, double weightDecay,
                                                      GradientNormalization clipping, double clipThreshold,
                                                      long seed, DataType dataType) {
        for (TransformerLayerConf l : layers) {
            configure(l, updater, weightDecay, clipping, clipThreshold);
        }

        ComputationGraphConfiguration.GraphBuilder g = builder(updater, seed, dataType).addInputs(INPUT);
        String previous = INPUT;
        for (int i = 0; i < layers.size(); i++) {
            g.addLayer(names.get(i), layers.get(i), previous);
            previous = names.get(i);
        }
        return g.setOutputs(previous).validateOutputLayerConfig(false).build();
    }

    /**
     * The mean cross-entropy (nats per counted token) of the network's last {@code fit} or score computation, without
     * any regularization term; NaN before the first.
     */
    public static double lastLoss(ComputationGraph net) {
        return OutputLayers.lastLoss(net.getLayer(HEAD));
    }

    /** Number of parameters of a built network. */
    public static long parameterCount(ComputationGraph net) {
        return net.numParams();
    }

    /**
     * Writes parameters, configuration (with DL4J's iteration and epoch counters) and, if asked, the updater state
     * (Adam's moments) as DL4J's model zip ({@link ModelSerializer}); the stream is left open.
     */
    public static void write(ComputationGraph net, OutputStream out, boolean saveUpdater) throws IOException {
        ModelSerializer.writeModel(net, out, saveUpdater);
    }

    /** Reads what {@link #write} wrote. */
    public static ComputationGraph read(InputStream in, boolean loadUpdater) throws IOException {
        return ModelSerializer.restoreComputationGraph(in, loadUpdater);
    }
}
