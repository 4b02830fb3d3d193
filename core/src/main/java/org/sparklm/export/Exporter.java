package org.sparklm.export;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.sparklm.UsageException;
import org.sparklm.checkpoint.Checkpoint;
import org.sparklm.finetune.FinetuneRun;
import org.sparklm.finetune.FinetunedModel;
import org.sparklm.io.Json;

/**
 * What {@code export} and {@code import} do, whatever they are given: a pretrained model ({@link ModelExport},
 * {@link ModelImport}: hf or native), or a fine-tuned classifier ({@link ClassifierExport}, {@link ClassifierImport}:
 * native; {@link PeftExport}: peft, for LoRA on a clm base). Each returns the JSON summary the command prints.
 */
public final class Exporter {

    private Exporter() {
    }

    /**
     * Exports the checkpoint {@code c} names in its layout.
     *
     * @throws UsageException for input that is not a checkpoint or a layout that cannot express it (nothing written)
     */
    public static ObjectNode export(Configuration conf, ExportConfig c) throws IOException {
        Checkpoint cp = ClassifierSnapshot.locate(conf, c.checkpoint(), "export");
        ObjectNode o = Json.object();
        ModelExport.Result r;
        if (ClassifierSnapshot.isClassifier(cp)) {
            FinetuneRun run = FinetunedModel.run(cp, "export");
            if (c.layout().equals(Gpt2Layout.KEY)) {
                throw new UsageException("--layout hf: " + cp.dir() + " is a fine-tuned " + run.method().key()
                    + " classifier, not a GPT-2 language model (use --layout native, or --layout peft for a LoRA"
                    + " classifier on a clm base)");
            }
            boolean peft = c.layout().equals(PeftExport.KEY);
            if (peft) {
                PeftExport.check(run, cp.dir().toString());
            }
            ClassifierSnapshot m = ClassifierSnapshot.fromCheckpoint(conf, cp, "export");
            r = peft ? PeftExport.export(conf, m, c.output(), c.overwrite(), c.peftBase())
                : ClassifierExport.export(conf, m, c.output(), c.overwrite());
            o.put("checkpoint", m.source());
            o.put("kind", "classifier");
            o.put("method", run.method().key());
            o.put("step", m.step());
        } else {
            if (c.layout().equals(PeftExport.KEY)) {
                throw new UsageException("--layout peft: " + cp.dir() + " is a pretrained language model, not a LoRA"
                    + " classifier (PEFT's layout holds adapters: fine-tune it with finetune --method lora)");
            }
            ModelSnapshot m = ModelSnapshot.fromCheckpoint(conf, cp.dir().toString(), "export");
            r = ModelExport.export(conf, m, c.modelLayout(), c.output(), c.overwrite());
            o.put("checkpoint", m.source());
            o.put("kind", "language-model");
            o.put("step", m.step());
        }
        o.put("output", r.output().toString());
        o.put("layout", r.layout());
        o.put("tensors", r.tensors());
        o.put("parameters", r.parameters());
        o.put("safetensors_bytes", r.bytes());
        return o;
    }

    /**
     * Imports an export directory (a language model in either layout, or a classifier's native export) as a run
     * directory with one checkpoint.
     *
     * @throws UsageException for input that is not a complete export we can import (nothing written)
     */
    public static ObjectNode importDir(Configuration conf, ImportConfig c) throws IOException {
        JsonNode config = peekConfig(conf, c.input());
        ObjectNode o = Json.object();
        o.put("input", c.input());
        if (config != null && ClassifierImport.recognises(config)) {
            ClassifierSnapshot m = ClassifierImport.read(conf, c.input(), config);
            Checkpoint cp = ClassifierImport.writeCheckpoint(conf, m, c.output(), c.overwrite());
            o.put("checkpoint", cp.dir().toString());
            o.put("step", cp.step());
            o.put("kind", "classifier");
            o.put("method", m.run().method().key());
            o.put("base_objective", m.run().baseObjective().key());
            o.put("parameters", m.net().numParams());
            return o;
        }
        ModelSnapshot m = ModelImport.read(conf, c.input());
        Checkpoint cp = ModelImport.writeCheckpoint(conf, m, c.output(), c.overwrite());
        o.put("checkpoint", cp.dir().toString());
        o.put("step", cp.step());
        o.put("kind", "language-model");
        o.put("objective", m.objective().key());
        o.put("parameters", m.net().numParams());
        return o;
    }

    /**
     * The input's config.json when it parses as a JSON object, else null (ModelImport then names the defect); a PEFT
     * adapter directory is refused here.
     */
    private static JsonNode peekConfig(Configuration conf, String input) throws IOException {
        Path dir = new Path(input);
        FileSystem fs = dir.getFileSystem(conf);
        if (!fs.exists(dir) || !fs.getFileStatus(dir).isDirectory()) {
            return null;
        }
        Path config = new Path(dir, ModelExport.CONFIG_FILE);
        if (!fs.exists(config)) {
            if (fs.exists(new Path(dir, PeftExport.ADAPTER_CONFIG))) {
                throw new UsageException(input + " is a PEFT adapter directory (" + PeftExport.ADAPTER_CONFIG
                    + "); import reads language models and native classifier exports (export the classifier with"
                    + " --layout native)");
            }
            return null;
        }
        try (InputStream in = fs.open(config)) {
            JsonNode n = Json.MAPPER.readTree(in);
            return n != null && n.isObject() ? n : null;
        } catch (IOException e) {
            return null;
        }
    }
}
