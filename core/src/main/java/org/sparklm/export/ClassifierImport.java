package org.sparklm.export;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparklm.UsageException;
import org.sparklm.checkpoint.Checkpoint;
import org.sparklm.checkpoint.CheckpointStore;
import org.sparklm.finetune.ClassifierModel;
import org.sparklm.finetune.FinetuneRun;
import org.sparklm.finetune.FinetunedModel;
import org.sparklm.finetune.LabelSet;
import org.sparklm.io.AtomicOutput;
import org.sparklm.io.IOConsumer;
import org.sparklm.io.Json;
import org.sparklm.io.Sha256;
import org.sparklm.tokenizer.bpe.BpeModel;
import org.sparklm.tokenizer.bpe.TokenizerFiles;

/**
 * Reads a classifier's native export ({@link ClassifierExport}) back and writes it as a classifier checkpoint that
 * {@code classify} and {@code finetune-merge} load ({@link FinetunedModel#load}).
 *
 * <p>The import is standalone: the run is kept as it was (method, adapters, pooling, labels, and the base it was
 * trained on, as provenance), and the pretrained weights a head, LoRA or prefix classifier keeps frozen are written
 * into the checkpoint ({@value FinetunedModel#FROZEN_BLOB}) beside its own ({@value FinetunedModel#TRAINABLE_BLOB}),
 * so loading it never reads the base checkpoint. Everything is checked before anything is written (config.json's
 * run, every tensor present with its shape and a float dtype, no tensor left over, labels.json agreeing with the run,
 * a tokenizer of the model's vocabulary size). Adam's state is not exported: the checkpoint's starts at zero.
 */
public final class ClassifierImport {
    private static final Logger LOG = LoggerFactory.getLogger(ClassifierImport.class);

    private ClassifierImport() {
    }

    /** Whether an export's config.json is a classifier's native one. */
    public static boolean recognises(JsonNode config) {
        return NativeLayout.FORMAT.equals(config.path("format").asText(null))
            && ClassifierExport.ARCHITECTURE.equals(config.path("architecture").asText(null));
    }

    /**
     * Reads and checks a classifier export directory whose {@code config.json} is {@code config} (already parsed).
     *
     * @throws UsageException naming the file and the defect when it is not a complete classifier export
     */
    public static ClassifierSnapshot read(Configuration conf, String input, JsonNode config) throws IOException {
        Path dir = new Path(input);
        FileSystem fs = dir.getFileSystem(conf);
        Path configFile = new Path(dir, ModelExport.CONFIG_FILE);
        int version = config.path("format_version").asInt(-1);
        if (version < 1 || version > NativeLayout.FORMAT_VERSION) {
            throw new UsageException(configFile + ": format_version " + config.path("format_version")
                + " is not one this version reads (1 to " + NativeLayout.FORMAT_VERSION + ")");
        }
        FinetuneRun run;
        try {
            if (!config.path("run").isObject()) {
                throw new IllegalArgumentException("run (the fine-tuning run) is missing");
            }
            run = FinetuneRun.fromJson(config.get("run"));
        } catch (IllegalArgumentException e) {
            throw new UsageException(configFile + ": " + e.getMessage());
        }

        Path labelsFile = new Path(dir, LabelSet.FILE);
        if (!fs.exists(labelsFile)) {
            throw new UsageException(input + " has no " + LabelSet.FILE);
        }
        LabelSet labels;
        try (InputStream in = fs.open(labelsFile)) {
            labels = LabelSet.fromJson(Json.MAPPER.readTree(in));
        } catch (IOException | IllegalArgumentException e) {
            throw new UsageException(labelsFile + ": " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (!labels.labels().equals(run.labels())) {
            throw new UsageException(labelsFile + " lists " + labels.labels() + " but the run in "
                + ModelExport.CONFIG_FILE + " has the labels " + run.labels());
        }

        Path tokFile = new Path(dir, TokenizerFiles.TOKENIZER_JSON);
        if (!fs.exists(tokFile)) {
            throw new UsageException(input + " has no " + TokenizerFiles.TOKENIZER_JSON);
        }
        byte[] tokBytes;
        try (InputStream in = fs.open(tokFile)) {
            tokBytes = in.readAllBytes();
        }
        BpeModel tokenizer;
        try {
            tokenizer = TokenizerFiles.readTokenizerJson(new ByteArrayInputStream(tokBytes));
        } catch (IOException e) {
            throw new UsageException(tokFile + ": " + e.getMessage());
        }
        if (tokenizer.vocabSize() != run.model().vocabSize()) {
            throw new UsageException(tokFile + " has " + tokenizer.vocabSize() + " ids but the run in "
                + ModelExport.CONFIG_FILE + " has vocab_size " + run.model().vocabSize());
        }
        if (!Sha256.of(tokBytes).equals(run.tokenizerSha256())) {
            LOG.warn("import: {} is not the tokenizer the classifier was trained with (sha256 {}); using it",
                tokFile, run.tokenizerSha256());
        }

        Path modelFile = new Path(dir, ModelExport.MODEL_FILE);
        if (!fs.exists(modelFile)) {
            throw new UsageException(input + " has no " + ModelExport.MODEL_FILE);
        }
        ComputationGraph net;
        try {
            net = ClassifierModel.create(run, null, DataType.FLOAT);
        } catch (IllegalArgumentException e) {
            throw new UsageException(configFile + ": the run describes no classifier we can build: " + e.getMessage());
        }
        try (SafeTensors.Reader r = ModelImport.openChecked(fs, modelFile)) {
            List<TensorBinding> bindings = new NativeLayout().bindings(net);
            ModelImport.check(r, bindings, name -> false, NativeLayout.KEY, net, modelFile);
            for (TensorBinding b : bindings) {
                b.assign(net, r.floats(b.name()));
            }
            Map<String, String> meta = r.header().metadata();
            long step = counter(meta, ModelExport.META_STEP);
            int iteration = (int) Math.min(Integer.MAX_VALUE, counter(meta, ModelExport.META_ITERATION));
            int epoch = (int) Math.min(Integer.MAX_VALUE, counter(meta, ModelExport.META_EPOCH));
            net.getConfiguration().setIterationCount(iteration);
            net.getConfiguration().setEpochCount(epoch);
            for (Layer l : net.getLayers()) {
                l.setIterationCount(iteration);
                l.setEpochCount(epoch);
            }
            LOG.info("import: classifier {} ({}, {} labels, step {})", input, run.method().key(), labels.size(),
                step);
            return new ClassifierSnapshot(run, net, tokBytes, tokenizer, step, input);
        }
    }

    /** A non-negative counter of the metadata, 0 when absent or unreadable (weights rewritten elsewhere). */
    private static long counter(Map<String, String> meta, String key) {
        try {
            return Math.max(0, Long.parseLong(meta.getOrDefault(key, "0")));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /**
     * Writes {@code m} as a run directory holding one classifier checkpoint, {@code output/checkpoints/step-N}
     * (trainable and frozen parameters, labels, tokenizer, state.json with the run), committed atomically.
     */
    public static Checkpoint writeCheckpoint(Configuration conf, ClassifierSnapshot m, String output,
                                             boolean overwrite) throws IOException {
        ObjectNode state = Json.object();
        state.put("step", m.step());
        state.set("run", m.run().toJson());
        state.put("imported_from", m.source());
        Map<String, IOConsumer<OutputStream>> blobs = FinetunedModel.blobs(m.net(), m.run().labelSet(),
            m.tokenizerJson());
        if (!FinetunedModel.frozenParams(m.net()).isEmpty()) {
            blobs.put(FinetunedModel.FROZEN_BLOB, FinetunedModel.frozenBlob(m.net()));
        }
        try (AtomicOutput out = AtomicOutput.begin(conf, output, overwrite)) {
            CheckpointStore.open(conf, out.temp().toString(), 1).write(m.step(), state, blobs);
            out.commit();
            Checkpoint cp = CheckpointStore.open(conf, out.target().toString(), 1).latestIntact(false).latest()
                .orElseThrow(() -> new IOException("the checkpoint written to " + output + " does not verify"));
            LOG.info("import: classifier checkpoint {} written", cp.dir());
            return cp;
        }
    }
}
