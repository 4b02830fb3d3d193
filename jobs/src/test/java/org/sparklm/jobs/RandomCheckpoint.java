package org.sparklm.jobs;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.sparklm.checkpoint.Checkpoint;
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

/** Test fixture: a run directory holding one pretrained checkpoint (step 8) whose parameters are all random. */
final class RandomCheckpoint {
    private RandomCheckpoint() {
    }

    /**
     * Writes a small model (d 16, 2 blocks, 2 heads, context 16, feed-forward width {@code dFf}) with a byte-level
     * BPE tokenizer trained on a few words into run directory {@code dir}.
     */
    static Checkpoint write(Path dir, Objective objective, long seed, int dFf) throws IOException {
        BpeTrainer t = new BpeTrainer(new BpeTrainer.Config(BpeMode.BYTE, 107 + 256 + 30, 1, SpecialTokens.DEFAULT));
        for (String w : List.of("the", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog")) {
            t.addWord(w, 5);
        }
        BpeModel tok = t.train().model();
        ByteArrayOutputStream tb = new ByteArrayOutputStream();
        TokenizerFiles.writeTokenizerJson(tok, tb);
        byte[] tokBytes = tb.toByteArray();
        TransformerConfig c = new TransformerConfig(tok.vocabSize(), 2, 16, 2, dFf, 16, 0.0,
            AttentionMode.of(objective));
        PretrainRun run = new PretrainRun("shards/", Sha256.of(tokBytes), objective, "tiny", c, c.parameterCount(), 1,
            4, 2, 8, 3e-3, 3e-4, 2, 0.1, 1.0, 0.9, 0.95, 1e-8, null, null, null, 7, "local[1]");
        ComputationGraph net = TransformerLm.create(c, run.optimizer(), seed);
        Nd4j.getRandom().setSeed(seed);
        for (INDArray p : net.paramTable().values()) {
            p.addi(Nd4j.randn(DataType.FLOAT, p.shape()).muli(0.3));
        }
        ObjectNode state = Json.object();
        state.put("step", 8);
        state.set("run", run.toJson());
        Map<String, IOConsumer<OutputStream>> blobs = new LinkedHashMap<>();
        blobs.put(PretrainedModel.MODEL_BLOB, o -> TransformerLm.write(net, o, true));
        blobs.put(PretrainedModel.TOKENIZER_BLOB, o -> o.write(tokBytes));
        return CheckpointStore.open(new Configuration(), dir.toString(), 1).write(8, state, blobs);
    }
}
