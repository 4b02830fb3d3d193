package org.sparklm.export;

import org.sparklm.config.CommandLine;
import org.sparklm.config.Opt;

/** Everything {@code export} is told; {@link #DEFAULTS} holds the defaults. */
public record ExportConfig(
    @Opt(metavar = "DIR", help = "a checkpoint directory, or a run directory (its newest intact checkpoint)",
        required = true)
    String checkpoint,
    @Opt(metavar = "DIR", help = "the export directory: model.safetensors, config.json and the tokenizer files (must"
        + " not exist unless --overwrite)", required = true)
    String output,
    @Opt(metavar = "hf|native", help = "hf: HuggingFace GPT-2 names, shapes and config.json (clm models only);"
        + " native: our parameter names and model config (any model)")
    String layout,
    @Opt(help = "replace an existing output directory")
    boolean overwrite) implements CommandLine.Checked {

    public static final ExportConfig DEFAULTS = new ExportConfig(null, null, Gpt2Layout.KEY, false);

    /** The command line of {@code export}. */
    public static CommandLine<ExportConfig> commandLine() {
        return CommandLine.of(ExportConfig.class, DEFAULTS, "export",
            "Writes a checkpoint as safetensors weights, config.json and tokenizer files that PyTorch and"
                + " HuggingFace users load. Runs in a plain JVM.");
    }

    @Override
    public void check() {
        if (ModelLayouts.byKey(layout).isEmpty()) {
            throw new IllegalArgumentException("--layout must be one of " + ModelLayouts.keys() + ", got '" + layout
                + "'");
        }
    }

    public ModelLayout modelLayout() {
        return ModelLayouts.byKey(layout).orElseThrow();
    }
}
