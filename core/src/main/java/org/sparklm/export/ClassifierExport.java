package org.sparklm.export;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparklm.finetune.ClassifierModel;
import org.sparklm.finetune.FinetuneRun;
import org.sparklm.finetune.LabelSet;
import org.sparklm.io.AtomicOutput;
import org.sparklm.io.Json;

/**
 * Writes a fine-tuned classifier in the native layout (docs/FORMATS.md, "Exported classifiers"): every parameter of
 * the network as the tensor {@code VERTEX.KEY} (the names come from the layers' {@code ParamSpec}s, as for language
 * models: {@code embed.tok}, {@code block0.wqkv}, {@code block0.loraQA}, {@code classifier.w} ...), the pretrained
 * weights a head, LoRA or prefix classifier keeps frozen included, so the export stands alone; {@code config.json}
 * with the architecture {@value #ARCHITECTURE} and the {@link FinetuneRun}; {@code labels.json}; the tokenizer files.
 * {@link ClassifierImport} reads it back.
 */
public final class ClassifierExport {
    private static final Logger LOG = LoggerFactory.getLogger(ClassifierExport.class);

    /** config.json's {@code architecture} for a classifier ({@code ClassifierModel}). */
    public static final String ARCHITECTURE = "transformer-classifier";

    private ClassifierExport() {
    }

    /** The native config.json of a classifier: format, architecture, the base's objective and sizes, the run. */
    static ObjectNode config(ClassifierSnapshot m) {
        FinetuneRun run = m.run();
        ObjectNode c = Json.object();
        c.put("format", NativeLayout.FORMAT);
        c.put("format_version", NativeLayout.FORMAT_VERSION);
        c.put("architecture", ARCHITECTURE);
        c.put("objective", run.baseObjective().key());
        try {
            c.set("model", Json.MAPPER.readTree(run.model().toJson()));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        c.put("method", run.method().key());
        c.put("pooling", ClassifierModel.resolve(run.pooling()).key());
        c.set("labels", Json.MAPPER.valueToTree(run.labels()));
        c.set("run", run.toJson());
        return c;
    }

    /** The safetensors metadata: {@code format pt}, the layout, the step and DL4J's counters. */
    static Map<String, String> metadata(ClassifierSnapshot m, String layout) {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(ModelExport.META_FORMAT, "pt");
        meta.put(ModelExport.META_LAYOUT, layout);
        meta.put(ModelExport.META_STEP, Long.toString(m.step()));
        meta.put(ModelExport.META_ITERATION, Integer.toString(m.iteration()));
        meta.put(ModelExport.META_EPOCH, Integer.toString(m.epoch()));
        return meta;
    }

    /** Writes {@code labels.json} (the classes in id order) into an output being written. */
    static void writeLabels(AtomicOutput out, LabelSet labels) throws IOException {
        try (OutputStream o = out.create(LabelSet.FILE)) {
            ModelExport.writeJson(o, labels.toJson());
        }
    }

    /**
     * Exports {@code m} in the native layout to {@code output} (any Hadoop FileSystem URI), written aside and renamed
     * into place.
     */
    public static ModelExport.Result export(Configuration conf, ClassifierSnapshot m, String output,
                                            boolean overwrite) throws IOException {
        ObjectNode config = config(m);
        List<SafeTensors.Tensor> tensors = ModelExport.tensors(m.net(), NativeLayout.KEY,
            new NativeLayout().bindings(m.net()));
        Map<String, String> meta = metadata(m, NativeLayout.KEY);
        long bytes;
        try (AtomicOutput out = AtomicOutput.begin(conf, output, overwrite)) {
            try (OutputStream o = out.create(ModelExport.MODEL_FILE)) {
                bytes = SafeTensors.write(o, tensors, meta);
            }
            try (OutputStream o = out.create(ModelExport.CONFIG_FILE)) {
                ModelExport.writeJson(o, config);
            }
            writeLabels(out, m.run().labelSet());
            ModelExport.writeTokenizerFiles(out, m.tokenizerJson(), m.tokenizer(),
                m.run().model().contextLength());
            out.commit();
            LOG.info("export: classifier {} -> {} (native layout, {} tensors, {} parameters, {} bytes)", m.source(),
                out.target(), tensors.size(), m.net().numParams(), bytes);
            return new ModelExport.Result(out.target(), NativeLayout.KEY, tensors.size(), m.net().numParams(), bytes);
        }
    }
}
