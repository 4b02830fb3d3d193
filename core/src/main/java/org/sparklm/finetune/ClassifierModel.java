package org.sparklm.finetune;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.IUpdater;
import org.sparklm.model.AttentionMode;
import org.sparklm.model.TransformerConfig;
import org.sparklm.model.TransformerLm;
import org.sparklm.model.dl4j.ClassifierHead;
import org.sparklm.model.dl4j.LmHead;
import org.sparklm.model.dl4j.TokenPositionEmbedding;
import org.sparklm.model.dl4j.TransformerBlock;
import org.sparklm.model.dl4j.TransformerLayerConf;
import org.sparklm.train.Objective;
import org.sparklm.train.OptimizerConfig;

/**
 * The classifier of a fine-tuning run: the pretrained model's embedding and blocks (with the method's adapters), then
 * a {@link ClassifierHead} (the pretrained final LayerNorm, pooling, dropout, a linear map to the classes) in place of
 * the LM head.
 *
 * <pre>
 *   tokens -> embed -> block0 .. block{L-1} -> classifier            [batch, classes]
 *   full:   everything trains
 *   head:   only the classifier's linear map trains (a linear probe); the backward pass stops at the classifier
 *   lora:   adapters on the chosen projections of every block + the classifier's linear map
 *   prefix: a key/value prefix in every block + the classifier's linear map
 * </pre>
 *
 * Frozen parameters keep the pretrained values bitwise: they get no gradient and no optimizer state
 * ({@link TransformerLayerConf#isFrozen}).
 */
public final class ClassifierModel {

    /** The output layer's vertex name. */
    public static final String HEAD = "classifier";

    private ClassifierModel() {
    }

    /** The pooling a run uses: auto is mean (see docs/DESIGN.md). */
    public static FinetuneConfig.Pooling resolve(FinetuneConfig.Pooling p) {
        return p == FinetuneConfig.Pooling.AUTO ? FinetuneConfig.Pooling.MEAN : p;
    }

    /** The layers of the run's classifier, with their frozen parameters, in graph order (names from {@link #names}). */
    public static List<TransformerLayerConf> layers(FinetuneRun run) {
        TransformerConfig m = run.model().withAttention(run.baseObjective() == Objective.MLM
            ? AttentionMode.BIDIRECTIONAL : AttentionMode.CAUSAL);
        FinetuneConfig.Method method = run.method();
        boolean keep = run.keepsBase();
        List<TransformerLayerConf> layers = new ArrayList<>();
        TokenPositionEmbedding embed = new TokenPositionEmbedding(m.vocabSize(), m.contextLength(), m.dModel(),
            m.dropout());
        if (keep) {
            embed.setFrozen(List.of(TokenPositionEmbedding.TOKENS, TokenPositionEmbedding.POSITIONS));
        }
        layers.add(embed);
        for (int i = 0; i < m.layers(); i++) {
            TransformerBlock base = new TransformerBlock(m.dModel(), m.heads(), m.dFf(),
                m.attention() == AttentionMode.CAUSAL, m.dropout(), m.layers());
            int rank = method == FinetuneConfig.Method.LORA ? run.loraRank() : 0;
            int prefix = method == FinetuneConfig.Method.PREFIX ? run.prefixLength() : 0;
            // below block i something trains only with full fine-tuning (the embedding) or with adapters in the
            // blocks before it
            boolean below = !keep || (i > 0 && method != FinetuneConfig.Method.HEAD);
            layers.add(base.withAdapters(rank, run.loraAlpha(), run.loraDropout(), run.loraTargets(), prefix,
                run.prefixProjection(), keep ? base.baseKeys() : List.of(), below));
        }
        ClassifierHead head = new ClassifierHead(m.dModel(), run.labels().size(), resolve(run.pooling()).key(),
            run.headDropout(), method != FinetuneConfig.Method.HEAD);
        if (keep) {
            head.setFrozen(List.of(ClassifierHead.LN_GAIN, ClassifierHead.LN_BIAS));
        }
        layers.add(head);
        return layers;
    }

    /** Vertex names: {@code embed}, {@code block0} ..., {@code classifier}. */
    public static List<String> names(FinetuneRun run) {
        List<String> names = new ArrayList<>();
        names.add(TransformerLm.EMBEDDING);
        for (int i = 0; i < run.model().layers(); i++) {
            names.add(TransformerLm.block(i));
        }
        names.add(HEAD);
        return names;
    }

    /**
     * A new classifier for the run, initialised from the run's seed; with a pretrained network, every parameter the
     * two share (same layer and key) is copied from it, and the classifier's LayerNorm from the LM head's.
     */
    public static ComputationGraph create(FinetuneRun run, ComputationGraph pretrained, DataType dataType) {
        OptimizerConfig opt = run.optimizer();
        ComputationGraph net = new ComputationGraph(configuration(run, opt.updater(), dataType));
        net.init();
        if (pretrained != null) {
            transfer(pretrained, net);
        }
        return net;
    }

    /** The graph configuration with the given optimizer (tests use plain SGD or none). */
    public static org.deeplearning4j.nn.conf.ComputationGraphConfiguration configuration(FinetuneRun run,
                                                                                     IUpdater updater,
                                                                                     DataType dataType) {
        OptimizerConfig opt = run.optimizer();
        return TransformerLm.chain(layers(run), names(run), updater, opt.weightDecay(), opt.gradientNormalization(),
            opt.gradClip(), run.seed(), dataType);
    }

    /** Copies the pretrained parameters: same vertex and key; the classifier's LayerNorm from the LM head's. */
    public static void transfer(ComputationGraph from, ComputationGraph to) {
        for (Layer target : to.getLayers()) {
            String name = target.conf().getLayer().getLayerName();
            String sourceName = name.equals(HEAD) ? TransformerLm.HEAD : name;
            Layer source;
            try {
                source = from.getLayer(sourceName);
            } catch (RuntimeException e) {
                continue;
            }
            if (source == null) {
                continue;
            }
            Map<String, INDArray> src = source.paramTable();
            for (Map.Entry<String, INDArray> e : target.paramTable().entrySet()) {
                String key = e.getKey();
                if (name.equals(HEAD) && !(key.equals(LmHead.LN_GAIN) || key.equals(LmHead.LN_BIAS))) {
                    continue;   // the classification layer is new
                }
                INDArray s = src.get(key);
                if (s == null) {
                    continue;   // an adapter or prefix: not in the pretrained model
                }
                if (!java.util.Arrays.equals(s.shape(), e.getValue().shape())) {
                    throw new IllegalArgumentException("pretrained " + sourceName + "." + key + " has shape "
                        + java.util.Arrays.toString(s.shape()) + ", the classifier's " + name + "." + key + " "
                        + java.util.Arrays.toString(e.getValue().shape()));
                }
                e.getValue().assign(s.castTo(e.getValue().dataType()));
            }
        }
    }

    /**
     * LoRA folded into the weights: a run of the same classifier without adapters (method full) and its network,
     * where every adapted matrix is {@code W + (alpha / r) A B} and every other parameter is copied. It predicts what
     * the adapter model predicts at the cost of the base model.
     */
    public static Merged mergeLora(FinetuneRun run, ComputationGraph net) {
        if (run.method() != FinetuneConfig.Method.LORA) {
            throw new IllegalArgumentException("only a LoRA classifier can be merged, this one is "
                + run.method().key());
        }
        FinetuneRun merged = new FinetuneRun(run.checkpoint(), null, run.tokenizerSha256(), run.baseObjective(),
            run.model(), FinetuneConfig.Method.FULL, 0, run.loraAlpha(), 0, List.of(), 0, 0, run.pooling(),
            run.labels(), run.maxLength(), run.init(), run.workers(), run.batchSizePerWorker(),
            run.averagingFrequency(), run.epochs(), run.trainExamples(), run.stepsPerEpoch(), run.steps(), run.lr(),
            run.minLr(), run.warmupSteps(), run.weightDecay(), run.gradClip(), run.headDropout(), run.seed(),
            run.sparkMaster());
        ComputationGraph out = new ComputationGraph(configuration(merged, run.optimizer().updater(),
            net.params().dataType()));
        out.init();
        long d = run.model().dModel();
        double scale = run.loraAlpha() / run.loraRank();
        for (Layer target : out.getLayers()) {
            String name = target.conf().getLayer().getLayerName();
            Layer source = net.getLayer(name);
            Map<String, INDArray> src = source.paramTable();
            for (Map.Entry<String, INDArray> e : target.paramTable().entrySet()) {
                e.getValue().assign(src.get(e.getKey()));
            }
            if (!(source.conf().getLayer() instanceof TransformerBlock b)) {
                continue;
            }
            Map<String, INDArray> p = target.paramTable();
            String[] qkv = {"q", "k", "v"};
            for (int i = 0; i < 3; i++) {
                if (b.hasLora(qkv[i])) {
                    String[] k = TransformerBlock.loraKeys(qkv[i]).get(0);
                    p.get(TransformerBlock.W_QKV).get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                        org.nd4j.linalg.indexing.NDArrayIndex.interval(i * d, (i + 1) * d))
                        .addi(src.get(k[0]).mmul(src.get(k[1])).muli(scale));
                }
            }
            if (b.hasLora("o")) {
                p.get(TransformerBlock.W_OUT).addi(src.get("loraOA").mmul(src.get("loraOB")).muli(scale));
            }
            if (b.hasLora("mlp")) {
                p.get(TransformerBlock.W_FC).addi(src.get("loraFcA").mmul(src.get("loraFcB")).muli(scale));
                p.get(TransformerBlock.W_PROJ).addi(src.get("loraProjA").mmul(src.get("loraProjB")).muli(scale));
            }
        }
        return new Merged(merged, out);
    }

    /**
     * A prefix classifier trained through the reparameterisation MLP, with the MLP dropped: the same classifier whose
     * prefixes are the MLP's outputs, stored directly ({@code prefix_projection} 0). Other classifiers are returned
     * as they are.
     */
    public static Merged dropPrefixProjection(FinetuneRun run, ComputationGraph net) {
        if (run.method() != FinetuneConfig.Method.PREFIX || run.prefixProjection() == 0) {
            return new Merged(run, net);
        }
        FinetuneRun direct = new FinetuneRun(run.checkpoint(), run.baseSha256(), run.tokenizerSha256(),
            run.baseObjective(), run.model(), run.method(), run.loraRank(), run.loraAlpha(), run.loraDropout(),
            run.loraTargets(), run.prefixLength(), 0, run.pooling(), run.labels(), run.maxLength(), run.init(),
            run.workers(), run.batchSizePerWorker(), run.averagingFrequency(), run.epochs(), run.trainExamples(),
            run.stepsPerEpoch(), run.steps(), run.lr(), run.minLr(), run.warmupSteps(), run.weightDecay(),
            run.gradClip(), run.headDropout(), run.seed(), run.sparkMaster());
        ComputationGraph out = new ComputationGraph(configuration(direct, run.optimizer().updater(),
            net.params().dataType()));
        out.init();
        for (Layer target : out.getLayers()) {
            Map<String, INDArray> src = net.getLayer(target.conf().getLayer().getLayerName()).paramTable();
            for (Map.Entry<String, INDArray> e : target.paramTable().entrySet()) {
                if (e.getKey().equals(TransformerBlock.PREFIX)) {
                    INDArray hidden = org.nd4j.linalg.ops.transforms.Transforms.tanh(
                        src.get(TransformerBlock.PREFIX_E).mmul(src.get(TransformerBlock.PREFIX_W1))
                            .addiRowVector(src.get(TransformerBlock.PREFIX_B1)), false);
                    e.getValue().assign(hidden.mmul(src.get(TransformerBlock.PREFIX_W2))
                        .addiRowVector(src.get(TransformerBlock.PREFIX_B2)));
                } else {
                    e.getValue().assign(src.get(e.getKey()));
                }
            }
        }
        return new Merged(direct, out);
    }

    /** A merged classifier: its run and network. */
    public record Merged(FinetuneRun run, ComputationGraph net) {
    }
}
