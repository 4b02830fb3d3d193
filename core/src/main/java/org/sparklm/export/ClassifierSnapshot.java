package org.sparklm.export;

import java.io.IOException;
import java.io.InputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.sparklm.UsageException;
import org.sparklm.checkpoint.Checkpoint;
import org.sparklm.finetune.FinetuneRun;
import org.sparklm.finetune.FinetunedModel;
import org.sparklm.pretrain.PretrainedModel;
import org.sparklm.tokenizer.bpe.BpeModel;

/**
 * A fine-tuned classifier as {@code export} writes it and {@code import} rebuilds it: the network with every
 * parameter (the pretrained ones a head, LoRA or prefix classifier keeps frozen included), its fine-tuning run, the
 * exact bytes of its {@code tokenizer.json}, and the step it came from.
 *
 * @param run           the fine-tuning run (method, adapters, pooling, labels, base reference)
 * @param net           the classifier network ({@code ClassifierModel}: embed, block0.., classifier)
 * @param tokenizerJson the tokenizer file's bytes, unchanged
 * @param tokenizer     the same tokenizer, parsed
 * @param step          the checkpoint's global step
 * @param source        where it was read, for messages
 */
public record ClassifierSnapshot(FinetuneRun run, ComputationGraph net, byte[] tokenizerJson, BpeModel tokenizer,
                                 long step, String source) {

    /**
     * The checkpoint {@code dir} names for export: a checkpoint directory (of a pretrained model or a classifier), or
     * a pretraining or fine-tuning run directory ({@link FinetunedModel#locate}: a fine-tuning run's best classifier
     * when it has one, else the newest intact checkpoint).
     *
     * @throws UsageException when {@code dir} does not exist or holds no intact checkpoint
     */
    public static Checkpoint locate(Configuration conf, String dir, String command) throws IOException {
        Path p = new Path(dir);
        FileSystem fs = p.getFileSystem(conf);
        if (!fs.exists(p)) {
            throw new UsageException(command + ": " + dir + " does not exist");
        }
        try {
            return FinetunedModel.locate(conf, dir, command);
        } catch (UsageException e) {
            throw new UsageException(command + ": " + dir + " is neither a checkpoint nor a run directory with an"
                + " intact checkpoint (a pretrain or finetune output)");
        }
    }

    /** Whether a checkpoint holds a fine-tuned classifier (its run has a fine-tuning method). */
    public static boolean isClassifier(Checkpoint cp) throws IOException {
        return cp.readState().path("run").has("method");
    }

    /** Reads a classifier checkpoint for export (a keeping classifier is loaded onto its checked base). */
    public static ClassifierSnapshot fromCheckpoint(Configuration conf, Checkpoint cp, String command)
        throws IOException {
        FinetunedModel m = FinetunedModel.load(conf, cp.dir().toString(), command, false);
        byte[] tokenizer;
        try (InputStream in = cp.open(PretrainedModel.TOKENIZER_BLOB)) {
            tokenizer = in.readAllBytes();
        }
        return new ClassifierSnapshot(m.run(), m.net(), tokenizer, m.tokenizer().model(), cp.step(),
            cp.dir().toString());
    }

    public int iteration() {
        return net.getConfiguration().getIterationCount();
    }

    public int epoch() {
        return net.getConfiguration().getEpochCount();
    }
}
