package org.sparklm.export;

import java.io.IOException;
import java.io.InputStream;
import org.apache.hadoop.conf.Configuration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.sparklm.checkpoint.Checkpoint;
import org.sparklm.model.TransformerConfig;
import org.sparklm.pretrain.PretrainRun;
import org.sparklm.pretrain.PretrainedModel;
import org.sparklm.tokenizer.bpe.BpeModel;
import org.sparklm.train.Objective;

/**
 * A trained model as {@code export} writes it and {@code import} rebuilds it: the network (its parameters, and its
 * configuration with DL4J's iteration and epoch counters), its sizes and objective, the exact bytes of its
 * {@code tokenizer.json}, and the run and step it came from.
 *
 * @param config        the model's sizes
 * @param objective     what it was trained for
 * @param net           the network (for export read without its updater state)
 * @param tokenizerJson the tokenizer file's bytes, unchanged (its sha256 is the run's {@code tokenizer_sha256})
 * @param tokenizer     the same tokenizer, parsed
 * @param run           the pretraining run that produced the model, or for an import without (valid) provenance a
 *                      placeholder ({@link ModelImport#placeholderRun})
 * @param step          the global step of the checkpoint (0 for an import without provenance)
 * @param source        where it was read, for messages
 */
public record ModelSnapshot(TransformerConfig config, Objective objective, ComputationGraph net, byte[] tokenizerJson,
                            BpeModel tokenizer, PretrainRun run, long step, String source) {

    /**
     * Reads a checkpoint (or a run directory's newest intact checkpoint) for export.
     *
     * @throws org.sparklm.UsageException when {@code dir} is not a checkpoint of a pretrained model
     */
    public static ModelSnapshot fromCheckpoint(Configuration conf, String dir, String command) throws IOException {
        PretrainedModel m = PretrainedModel.load(conf, dir, command, null);
        Checkpoint cp = m.checkpoint();
        byte[] tokenizer;
        try (InputStream in = cp.open(PretrainedModel.TOKENIZER_BLOB)) {
            tokenizer = in.readAllBytes();
        }
        return new ModelSnapshot(m.model().config(), m.objective(), m.model().network(), tokenizer,
            m.tokenizer().model(), m.run(), cp.step(), cp.dir().toString());
    }

    /** DL4J's iteration counter (the learning-rate schedule's position). */
    public int iteration() {
        return net.getConfiguration().getIterationCount();
    }

    /** DL4J's epoch counter. */
    public int epoch() {
        return net.getConfiguration().getEpochCount();
    }
}
