package org.sparklm.export;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.sparklm.checkpoint.CheckpointStore;
import org.sparklm.io.IOConsumer;
import org.sparklm.io.Json;
import org.sparklm.io.Sha256;
import org.sparklm.model.AttentionMode;
import org.sparklm.model.TransformerConfig;
import org.sparklm.model.TransformerLm;
import org.sparklm.pretrain.PretrainRun;
import org.sparklm.pretrain.PretrainedModel;
import org.sparklm.tokenizer.SpecialTokens;
import org.sparklm.tokenizer.bpe.BpeMode;
import org.sparklm.tokenizer.bpe.BpeModel;
import org.sparklm.tokenizer.bpe.BpeTrainer;
import org.sparklm.tokenizer.bpe.TokenizerFiles;
import org.sparklm.train.Objective;
import org.sparklm.train.OptimizerConfig;

/** Small checkpoints with every parameter random (gains, biases and all), written as pretrain writes them. */
final class ExportFixtures {

    /** The fixture tokenizer's vocabulary: 107 special tokens, 256 bytes and the merges of a few words. */
    static final int VOCAB = tokenizer().vocabSize();
    static final long STEP = 24;
    static final int ITERATION = 24;

    private ExportFixtures() {
    }

    /** Two blocks, d 16, 2 heads, d_ff 40 (not 4 d, so n_inner matters), context 12, dropout 0.1. */
    static TransformerConfig config(Objective objective) {
        return new TransformerConfig(VOCAB, 2, 16, 2, 40, 12, 0.1, AttentionMode.of(objective));
    }

    static BpeModel tokenizer() {
        BpeTrainer t = new BpeTrainer(new BpeTrainer.Config(BpeMode.BYTE, 107 + 256 + 40, 1, SpecialTokens.DEFAULT));
        for (String w : List.of("the", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog")) {
            t.addWord(w, 5);
        }
        return t.train().model();
    }

    static byte[] tokenizerJson(BpeModel m) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        TokenizerFiles.writeTokenizerJson(m, b);
        return b.toByteArray();
    }

    /** A network whose parameters are all drawn at random (LayerNorm gains around 1, the rest around 0). */
    static ComputationGraph randomNetwork(TransformerConfig c, OptimizerConfig opt, long seed) {
        ComputationGraph net = TransformerLm.create(c, opt, seed);
        Nd4j.getRandom().setSeed(seed);
        for (Map.Entry<String, INDArray> e : net.paramTable().entrySet()) {
            INDArray p = e.getValue();
            INDArray noise = Nd4j.randn(DataType.FLOAT, p.shape()).muli(e.getKey().endsWith("g") ? 0.3 : 0.25);
            p.addi(noise);
        }
        net.getConfiguration().setIterationCount(ITERATION);
        net.getConfiguration().setEpochCount(1);
        return net;
    }

    static PretrainRun run(TransformerConfig c, Objective objective, String tokenizerSha) {
        return new PretrainRun("shards/", tokenizerSha, objective, "tiny", c, c.parameterCount(), 2, 4, 8, 48, 3e-3,
            3e-4, 4, 0.1, 1.0, 0.9, 0.95, 1e-8, null, null, null, 7, "local[2]");
    }

    /** A small encoder-decoder (t5-tiny's shape, narrower): 2 + 1 blocks, d 16, contexts 12 and 8, 8 buckets. */
    static TransformerConfig encoderDecoderConfig() {
        return TransformerConfig.load("t5-tiny", Map.of("vocab_size", Integer.toString(VOCAB), "encoder_layers", "2",
            "decoder_layers", "1", "d_model", "16", "heads", "2", "d_ff", "40", "encoder_context_length", "12",
            "decoder_context_length", "8", "relative_buckets", "8", "relative_max_distance", "16"));
    }

    /** Writes a run directory {@code dir} with one checkpoint at {@link #STEP}; returns the checkpoint directory. */
    static Path checkpoint(Path dir, Objective objective, long seed) throws IOException {
        return checkpoint(dir, objective.isSeq2Seq() ? encoderDecoderConfig() : config(objective), objective, seed);
    }

    /** As {@link #checkpoint(Path, Objective, long)}, of the given model config. */
    static Path checkpoint(Path dir, TransformerConfig c, Objective objective, long seed) throws IOException {
        BpeModel tok = tokenizer();
        byte[] tokBytes = tokenizerJson(tok);
        PretrainRun run = run(c, objective, Sha256.of(tokBytes));
        ComputationGraph net = randomNetwork(c, run.optimizer(), seed);
        ObjectNode state = Json.object();
        state.put("step", STEP);
        state.put("round", STEP / 8);
        state.put("tokens", STEP * run.tokensPerStep());
        state.put("elapsed_seconds", 12.5);
        state.putObject("data_position").put("next_step", STEP).put("seed", 7);
        state.set("run", run.toJson());
        Map<String, IOConsumer<OutputStream>> blobs = new LinkedHashMap<>();
        blobs.put(PretrainedModel.MODEL_BLOB, o -> TransformerLm.write(net, o, true));
        blobs.put(PretrainedModel.TOKENIZER_BLOB, o -> o.write(tokBytes));
        return Path.of(CheckpointStore.open(new Configuration(), dir.toString(), 3).write(STEP, state, blobs).dir()
            .toUri());
    }

    /** A few token sequences: the full context, a short one, a single token. */
    static List<int[]> sequences(int context, long seed) {
        Random r = new Random(seed);
        List<int[]> out = new ArrayList<>();
        for (int len : new int[] {context, 5, 1}) {
            int[] s = new int[len];
            for (int i = 0; i < len; i++) {
                s[i] = r.nextInt(VOCAB);
            }
            out.add(s);
        }
        return out;
    }
}
