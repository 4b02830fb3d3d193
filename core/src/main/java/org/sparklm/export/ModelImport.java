package org.sparklm.export;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparklm.checkpoint.Checkpoint;
import org.sparklm.checkpoint.CheckpointStore;
import org.sparklm.UsageException;
import org.sparklm.io.AtomicOutput;
import org.sparklm.io.IOConsumer;
import org.sparklm.io.Json;
import org.sparklm.io.Sha256;
import org.sparklm.model.TransformerConfig;
import org.sparklm.model.TransformerLm;
import org.sparklm.pretrain.PretrainConfig;
import org.sparklm.pretrain.PretrainRun;
import org.sparklm.pretrain.PretrainedModel;
import org.sparklm.tokenizer.bpe.BpeModel;
import org.sparklm.tokenizer.bpe.TokenizerFiles;
import org.sparklm.train.Objective;

/**
 * Reads an export directory (either layout, recognised from {@code config.json}) back into a model, and writes it as
 * a checkpoint that {@link PretrainedModel#load} (generate, evaluate, fill-mask) and {@code pretrain --resume} read.
 *
 * <p>Everything is checked before anything is written: {@code config.json} describes a model we can build, every
 * parameter of that model has its tensor with the right shape and a floating-point dtype, no tensor is left over,
 * and {@code tokenizer.json} parses with the model's vocabulary size. The network is built fresh
 * ({@link TransformerLm#create}) and its parameters assigned, so the optimizer state (Adam's moments) starts at zero.
 * When the file's metadata holds our provenance and it agrees with the directory (same model, objective and tokenizer
 * sha256), the run, the step and DL4J's iteration and epoch counters are restored; otherwise the checkpoint is step 0
 * with a placeholder run ({@link #placeholderRun}).
 */
public final class ModelImport {
    private static final Logger LOG = LoggerFactory.getLogger(ModelImport.class);

    private ModelImport() {
    }

    /** The run, step and counters an export recorded, when they agree with the directory. */
    private record Provenance(PretrainRun run, long step, int iteration, int epoch) {
    }

    /**
     * Reads and checks an export directory.
     *
     * @throws UsageException naming the file and the defect when it is not a complete export of a model we can build
     */
    public static ModelSnapshot read(Configuration conf, String input) throws IOException {
        Path dir = new Path(input);
        FileSystem fs = dir.getFileSystem(conf);
        if (!fs.exists(dir)) {
            throw new UsageException(input + " does not exist");
        }
        if (!fs.getFileStatus(dir).isDirectory()) {
            throw new UsageException(input + " is not a directory (expected an export directory)");
        }
        Path configFile = new Path(dir, ModelExport.CONFIG_FILE);
        if (!fs.exists(configFile)) {
            throw new UsageException(input + " has no " + ModelExport.CONFIG_FILE + " (not an export directory)");
        }
        JsonNode config;
        try (InputStream in = fs.open(configFile)) {
            config = Json.MAPPER.readTree(in);
        } catch (IOException e) {
            throw new UsageException(configFile + " is not valid JSON: " + e.getMessage().lines().findFirst()
                .orElse(""));
        }
        if (config == null || !config.isObject()) {
            throw new UsageException(configFile + " is not a JSON object");
        }
        ModelLayout layout = ModelLayouts.detect(config).orElseThrow(() -> new UsageException(configFile
            + " is in no known layout (HuggingFace GPT-2: \"model_type\": \"gpt2\"; native: \"format\": \""
            + NativeLayout.FORMAT + "\")"));
        ModelLayout.Architecture a;
        try {
            a = layout.architecture(config);
        } catch (UsageException e) {
            throw new UsageException(dir + "/" + e.getMessage());
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
        if (tokenizer.vocabSize() != a.model().vocabSize()) {
            throw new UsageException(tokFile + " has " + tokenizer.vocabSize() + " ids but " + ModelExport.CONFIG_FILE
                + " says vocab_size " + a.model().vocabSize());
        }
        String tokSha = Sha256.of(tokBytes);

        Path modelFile = new Path(dir, ModelExport.MODEL_FILE);
        if (!fs.exists(modelFile)) {
            throw new UsageException(input + " has no " + ModelExport.MODEL_FILE);
        }
        try (SafeTensors.Reader r = openChecked(fs, modelFile)) {
            Provenance p = provenance(r.header().metadata(), a, tokSha, modelFile);
            PretrainRun run = p != null ? p.run() : placeholderRun(input, tokSha, a.objective(), a.model());
            ComputationGraph net = TransformerLm.create(a.model(), run.optimizer(), run.seed());
            List<TensorBinding> bindings = layout.importBindings(net, a);
            check(r, bindings, name -> layout.ignored(name, a), layout.key(), net, modelFile);
            for (TensorBinding b : bindings) {
                b.assign(net, r.floats(b.name()));
            }
            if (p != null) {
                net.getConfiguration().setIterationCount(p.iteration());
                net.getConfiguration().setEpochCount(p.epoch());
                for (Layer l : net.getLayers()) {
                    l.setIterationCount(p.iteration());
                    l.setEpochCount(p.epoch());
                }
            }
            LOG.info("import: {} ({} layout, {}), {}", input, layout.key(), a.objective().key(), p != null
                ? "provenance restored: step " + p.step() : "no provenance: step 0, placeholder run");
            return new ModelSnapshot(a.model(), a.objective(), net, tokBytes, tokenizer, run,
                p != null ? p.step() : 0, input);
        }
    }

    static SafeTensors.Reader openChecked(FileSystem fs, Path file) throws IOException {
        try {
            return SafeTensors.open(fs, file);
        } catch (SafeTensors.FormatException e) {
            throw new UsageException(file + " is not a valid safetensors file: " + e.getMessage());
        }
    }

    /** Every binding's tensor is there with the right shape and a float dtype; no tensor is left over. */
    static void check(SafeTensors.Reader r, List<TensorBinding> bindings, Predicate<String> ignored, String layout,
                      ComputationGraph net, Path file) {
        Set<String> used = new HashSet<>();
        Set<String> missing = new HashSet<>();
        Set<String> params = new HashSet<>();
        for (TensorBinding b : bindings) {
            params.add(b.param());
            SafeTensors.TensorInfo t = r.header().tensors().get(b.name());
            if (t == null) {
                missing.add(b.name());
                continue;
            }
            used.add(b.name());
            if (!t.shape().equals(b.shape())) {
                throw new UsageException(file + ": tensor " + b.name() + " has shape " + t.shape() + ", but the model"
                    + " of " + ModelExport.CONFIG_FILE + " needs " + b.shape());
            }
            if (!t.dtype().floating()) {
                throw new UsageException(file + ": tensor " + b.name() + " is " + t.dtype() + ", not a floating-point"
                    + " type (F32, F16, BF16, F64)");
            }
        }
        if (!missing.isEmpty()) {
            throw new UsageException(file + " lacks tensors the model of " + ModelExport.CONFIG_FILE + " needs: "
                + SafeTensors.firstFew(missing, 5));
        }
        Set<String> extra = new HashSet<>();
        for (String name : r.names()) {
            if (!used.contains(name) && !ignored.test(name)) {
                extra.add(name);
            }
        }
        if (!extra.isEmpty()) {
            throw new UsageException(file + " holds tensors the model of " + ModelExport.CONFIG_FILE
                + " has no place for: " + SafeTensors.firstFew(extra, 5));
        }
        if (params.size() != net.paramTable().size()) {
            throw new IllegalStateException("layout " + layout + " fills " + params.size() + " of the network's "
                + net.paramTable().size() + " parameters");
        }
    }

    /** The recorded provenance, when present, readable and in agreement with the directory; else null. */
    private static Provenance provenance(Map<String, String> meta, ModelLayout.Architecture a, String tokSha,
                                         Path file) {
        if (!meta.containsKey(ModelExport.META_RUN)) {
            return null;
        }
        try {
            PretrainRun run = PretrainRun.fromJson(Json.MAPPER.readTree(meta.get(ModelExport.META_RUN)));
            long step = Long.parseLong(meta.getOrDefault(ModelExport.META_STEP, "0"));
            int iteration = Integer.parseInt(meta.getOrDefault(ModelExport.META_ITERATION, "0"));
            int epoch = Integer.parseInt(meta.getOrDefault(ModelExport.META_EPOCH, "0"));
            String why = !a.model().equals(run.model()) ? "its model differs from " + ModelExport.CONFIG_FILE + "'s"
                : a.objective() != run.objective() ? "its objective differs"
                : !tokSha.equals(run.tokenizerSha256()) ? "it names another tokenizer (sha256 "
                    + run.tokenizerSha256() + ")" : null;
            if (why != null) {
                LOG.warn("import: {}: ignoring the recorded training run: {}", file, why);
                return null;
            }
            if (step < 0 || iteration < 0 || epoch < 0) {
                throw new IllegalArgumentException("negative step or counter");
            }
            return new Provenance(run, step, iteration, epoch);
        } catch (IOException | IllegalArgumentException e) {
            LOG.warn("import: {}: ignoring unreadable provenance metadata: {}", file, e.getMessage());
            return null;
        }
    }

    /**
     * The run recorded for weights without provenance: the model and tokenizer as read, the pretraining defaults for
     * the optimizer and seed, one worker and one round ({@code steps} = {@code averaging_frequency}); {@code data}
     * names the import's input.
     */
    public static PretrainRun placeholderRun(String input, String tokenizerSha256, Objective objective,
                                             TransformerConfig model) {
        PretrainConfig d = PretrainConfig.DEFAULTS;
        int h = d.averagingFrequency();
        return new PretrainRun(input, tokenizerSha256, objective, "import of " + input, model, model.parameterCount(),
            1, d.batchSizePerWorker(), h, h, d.lr(), d.minLr(), 0, d.weightDecay(), d.gradClip(), d.beta1(),
            d.beta2(), d.adamEpsilon(), null, null, null, d.seed(), null);
    }

    /**
     * Writes {@code m} as a run directory holding one checkpoint, {@code output/checkpoints/step-N} (DL4J's model zip
     * with a fresh updater state, the tokenizer bytes, state.json), committed atomically.
     *
     * @return the checkpoint
     */
    public static Checkpoint writeCheckpoint(Configuration conf, ModelSnapshot m, String output, boolean overwrite)
        throws IOException {
        PretrainRun run = m.run();
        ObjectNode state = Json.object();
        state.put("step", m.step());
        state.put("round", run.averagingFrequency() > 0 ? m.step() / run.averagingFrequency() : 0);
        state.put("tokens", m.step() * run.tokensPerStep());
        state.put("elapsed_seconds", 0.0);
        ObjectNode position = state.putObject("data_position");
        position.put("next_step", m.step());
        position.put("seed", run.seed());
        state.set("run", run.toJson());
        state.put("imported_from", m.source());
        Map<String, IOConsumer<OutputStream>> blobs = new LinkedHashMap<>();
        blobs.put(PretrainedModel.MODEL_BLOB, o -> TransformerLm.write(m.net(), o, true));
        blobs.put(PretrainedModel.TOKENIZER_BLOB, o -> o.write(m.tokenizerJson()));
        try (AtomicOutput out = AtomicOutput.begin(conf, output, overwrite)) {
            CheckpointStore.open(conf, out.temp().toString(), 1).write(m.step(), state, blobs);
            out.commit();
            Checkpoint cp = CheckpointStore.open(conf, out.target().toString(), 1).latestIntact(false).latest()
                .orElseThrow(() -> new IOException("the checkpoint written to " + output + " does not verify"));
            LOG.info("import: checkpoint {} written", cp.dir());
            return cp;
        }
    }
}
