package org.sparklm.pretrain;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.sparklm.checkpoint.Checkpoint;
import org.sparklm.checkpoint.CheckpointManifest;
import org.sparklm.checkpoint.CheckpointStore;
import org.sparklm.UsageException;
import org.sparklm.model.LanguageModel;
import org.sparklm.model.TransformerLm;
import org.sparklm.tokenizer.bpe.BpeTokenizer;
import org.sparklm.tokenizer.bpe.TokenizerFiles;
import org.sparklm.train.Objective;

/**
 * A pretrained model read back from a checkpoint: the network, its tokenizer and its run. A checkpoint directory
 * holds {@value #MODEL_BLOB} (DL4J's model zip: parameters, configuration with the iteration counter, Adam's state),
 * {@value #TOKENIZER_BLOB} and {@code state.json} (with the {@link PretrainRun}); a run directory stands for its
 * newest intact checkpoint.
 *
 * @param checkpoint where it was read
 * @param model      the model (inference)
 * @param tokenizer  the tokenizer it was trained with
 * @param run        the run that trained it
 */
public record PretrainedModel(Checkpoint checkpoint, LanguageModel model, BpeTokenizer tokenizer, PretrainRun run) {

    /** The model zip of a checkpoint. */
    public static final String MODEL_BLOB = "model.zip";
    /** The tokenizer.json of a checkpoint. */
    public static final String TOKENIZER_BLOB = "tokenizer.json";

    public Objective objective() {
        return run.objective();
    }

    /**
     * The checkpoint {@code dir} names: a checkpoint directory, or a run directory's newest intact checkpoint.
     *
     * @param command named in error messages
     */
    public static Checkpoint locate(Configuration conf, String dir, String command) throws IOException {
        Path p = new Path(dir);
        FileSystem fs = p.getFileSystem(conf);
        if (!fs.exists(p)) {
            throw new UsageException(command + ": " + dir + " does not exist");
        }
        if (fs.exists(new Path(p, CheckpointManifest.FILE))) {
            return CheckpointStore.load(conf, dir, false);
        }
        return CheckpointStore.open(conf, dir, 1).latestIntact(false).latest().orElseThrow(() ->
            new UsageException(command + ": " + dir + " is neither a checkpoint nor a run directory with an"
                + " intact checkpoint"));
    }

    /** Loads a model for inference; a model of another objective than {@code required} (when set) is an error. */
    public static PretrainedModel load(Configuration conf, String dir, String command, Objective required)
        throws IOException {
        return load(conf, dir, command, required == null ? null : java.util.Set.of(required),
            required == null ? null : required == Objective.CLM ? "a causal (clm) one (use fill-mask)"
                : required == Objective.MLM ? "a masked-LM (mlm) one (use generate)"
                : "a " + required.key() + " one");
    }

    /**
     * Loads a model for inference; a model of an objective outside {@code allowed} (when set) is an error saying
     * that {@code command} needs {@code what}.
     */
    public static PretrainedModel load(Configuration conf, String dir, String command, java.util.Set<Objective> allowed,
                                       String what) throws IOException {
        // a checkpoint that cannot be read (damaged, truncated model or tokenizer file) is bad input, like a missing one
        try {
            Checkpoint cp = locate(conf, dir, command);
            PretrainRun run;
            try {
                run = PretrainRun.fromJson(cp.readState().path("run"));
            } catch (IllegalArgumentException e) {
                throw new UsageException(command + ": " + cp.dir() + " is not a pretrained model: " + e.getMessage());
            }
            if (allowed != null && !allowed.contains(run.objective())) {
                throw new UsageException(command + ": the checkpoint is a " + run.objective().key() + " model; "
                    + command + " needs " + what);
            }
            try (InputStream in = cp.open(MODEL_BLOB)) {
                LanguageModel model = new LanguageModel(run.model(), TransformerLm.read(in, false));
                return new PretrainedModel(cp, model, tokenizer(cp), run);
            }
        } catch (UsageException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new UsageException(command + ": cannot read the checkpoint " + dir + ": " + e);
        }
    }

    /** The network with its updater state, to continue training it. */
    public static ComputationGraph network(Checkpoint cp, boolean withUpdater) throws IOException {
        try (InputStream in = cp.open(MODEL_BLOB)) {
            return TransformerLm.read(in, withUpdater);
        }
    }

    /** The tokenizer stored in a checkpoint. */
    public static BpeTokenizer tokenizer(Checkpoint cp) throws IOException {
        try (InputStream in = cp.open(TOKENIZER_BLOB)) {
            return new BpeTokenizer(TokenizerFiles.readTokenizerJson(new ByteArrayInputStream(in.readAllBytes())));
        }
    }
}
