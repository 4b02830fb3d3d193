package org.sparklm.export;

import java.util.ArrayList;
import java.util.List;
import org.sparklm.config.CommandLine;
import org.sparklm.config.Opt;

/** Everything {@code export} is told; {@link #DEFAULTS} holds the defaults. */
public record ExportConfig(
    @Opt(metavar = "DIR", help = "a checkpoint directory (pretrained model or classifier), or a pretrain or finetune"
        + " run directory (a finetune run's best classifier, else the newest intact checkpoint)", required = true)
    String checkpoint,
    @Opt(metavar = "DIR", help = "the export directory: model.safetensors (adapter_model.safetensors for peft),"
        + " config.json and the tokenizer files (must not exist unless --overwrite)", required = true)
    String output,
    @Opt(metavar = "hf|native|peft", help = "hf: HuggingFace GPT-2 names, shapes and config.json (clm models only);"
        + " native: our parameter names and config (any model or classifier); peft: a LoRA classifier on a clm base"
        + " as HuggingFace PEFT's adapter directory (adapter_config.json, adapter_model.safetensors)")
    String layout,
    @Opt(metavar = "PATH", help = "peft: adapter_config.json's base_model_name_or_path, e.g. the base checkpoint"
        + " exported with --layout hf (default: the base checkpoint the classifier was trained on)")
    String peftBase,
    @Opt(help = "replace an existing output directory")
    boolean overwrite) implements CommandLine.Checked {

    public static final ExportConfig DEFAULTS = new ExportConfig(null, null, Gpt2Layout.KEY, null, false);

    /** The command line of {@code export}. */
    public static CommandLine<ExportConfig> commandLine() {
        return CommandLine.of(ExportConfig.class, DEFAULTS, "export",
            "Writes a checkpoint as safetensors weights, config.json and tokenizer files that PyTorch and"
                + " HuggingFace users load; a LoRA classifier also as a PEFT adapter. Runs in a plain JVM.");
    }

    /** Every --layout value: the model layouts, then peft. */
    public static List<String> layouts() {
        List<String> k = new ArrayList<>(ModelLayouts.ALL.stream().map(ModelLayout::key).toList());
        k.add(PeftExport.KEY);
        return k;
    }

    @Override
    public void check() {
        if (!layouts().contains(layout)) {
            throw new IllegalArgumentException("--layout must be one of " + String.join(", ", layouts()) + ", got '"
                + layout + "'");
        }
        if (peftBase != null && !layout.equals(PeftExport.KEY)) {
            throw new IllegalArgumentException("--peft-base is for --layout peft");
        }
    }

    /** The model layout of --layout (not for peft, which is not a model layout). */
    public ModelLayout modelLayout() {
        return ModelLayouts.byKey(layout).orElseThrow(() -> new IllegalStateException("--layout " + layout
            + " is not a model layout"));
    }
}
