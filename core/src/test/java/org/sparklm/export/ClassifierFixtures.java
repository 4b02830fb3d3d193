package org.sparklm.export;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.sparklm.checkpoint.Checkpoint;
import org.sparklm.checkpoint.CheckpointStore;
import org.sparklm.finetune.ClassifierModel;
import org.sparklm.finetune.FinetuneConfig;
import org.sparklm.finetune.FinetuneRun;
import org.sparklm.finetune.FinetunedModel;
import org.sparklm.io.Json;
import org.sparklm.io.Sha256;
import org.sparklm.model.TrainableParams;
import org.sparklm.pretrain.PretrainedModel;
import org.sparklm.train.Objective;

/**
 * Classifier checkpoints as {@code finetune} writes them, on an {@link ExportFixtures} base, with every trainable
 * parameter drawn at random (LoRA's B, the prefixes and the head far from their initialisation), so that exports are
 * checked on values that matter.
 */
final class ClassifierFixtures {
    static final long STEP = 30;
    static final List<String> LABELS = List.of("a", "b", "c");
    /** Texts of the fixture tokenizer's words, one longer than max_length (truncated). */
    static final List<String> TEXTS = List.of("the quick brown fox", "lazy dog", "over the lazy dog jumps",
        "fox", "the the the quick quick brown brown fox fox jumps over");

    private ClassifierFixtures() {
    }

    /** The fine-tuning run of a classifier on {@code base} (rank 4, alpha 6, max length 10). */
    static FinetuneRun run(Checkpoint base, Objective objective, FinetuneConfig.Method method, List<String> targets,
                           FinetuneConfig.Pooling pooling) throws IOException {
        String baseSha = method == FinetuneConfig.Method.FULL ? null
            : base.manifest().blob(PretrainedModel.MODEL_BLOB).orElseThrow().sha256();
        String tokSha;
        try (var in = base.open(PretrainedModel.TOKENIZER_BLOB)) {
            tokSha = Sha256.of(in.readAllBytes());
        }
        boolean lora = method == FinetuneConfig.Method.LORA;
        return new FinetuneRun(base.dir().toString(), baseSha, tokSha, objective, ExportFixtures.config(objective),
            method, lora ? 4 : 8, lora ? 6 : 16, 0.1, lora ? targets : List.of(),
            method == FinetuneConfig.Method.PREFIX ? 3 : 16, 0, pooling, LABELS, 10, FinetuneConfig.Init.PRETRAINED, 1,
            4, 2, 2, 12, 3, 6, 1e-3, 1e-4, 1, 0.01, 1.0, 0.1, 7, "local[1]");
    }

    /** Writes a classifier checkpoint of {@code run} under {@code dir}; returns its directory. */
    static Path classifier(Path dir, Checkpoint base, FinetuneRun run, long seed) throws IOException {
        ComputationGraph pretrained = PretrainedModel.network(base, false);
        Nd4j.getRandom().setSeed(seed);
        ComputationGraph net = ClassifierModel.create(run, pretrained, DataType.FLOAT);
        TrainableParams t = TrainableParams.of(net);
        INDArray v = t.extract(net.params());
        v.addi(Nd4j.randn(DataType.FLOAT, v.shape()).muli(0.3));
        t.insert(v, net.params());
        net.getConfiguration().setIterationCount((int) STEP);
        byte[] tok;
        try (var in = base.open(PretrainedModel.TOKENIZER_BLOB)) {
            tok = in.readAllBytes();
        }
        ObjectNode state = Json.object();
        state.put("step", STEP);
        state.set("run", run.toJson());
        return Path.of(CheckpointStore.open(new Configuration(), dir.toString(), 1).write(STEP, state,
            FinetunedModel.blobs(net, run.labelSet(), tok)).dir().toUri());
    }

    /** A base checkpoint of {@code objective} under {@code dir}. */
    static Checkpoint base(Path dir, Objective objective, long seed) throws IOException {
        Path cp = ExportFixtures.checkpoint(dir, objective, seed);
        return CheckpointStore.load(new Configuration(), cp.toString(), false);
    }
}
