package org.sparklm.export;

import org.sparklm.config.CommandLine;
import org.sparklm.config.Opt;

/** Everything {@code import} is told; {@link #DEFAULTS} holds the defaults. */
public record ImportConfig(
    @Opt(metavar = "DIR", help = "an export directory (either layout): config.json, model.safetensors,"
        + " tokenizer.json", required = true)
    String input,
    @Opt(metavar = "DIR", help = "the run directory to write, holding one checkpoint (checkpoints/step-N); must not"
        + " exist unless --overwrite", required = true)
    String output,
    @Opt(help = "replace an existing output directory")
    boolean overwrite) {

    public static final ImportConfig DEFAULTS = new ImportConfig(null, null, false);

    /** The command line of {@code import}. */
    public static CommandLine<ImportConfig> commandLine() {
        return CommandLine.of(ImportConfig.class, DEFAULTS, "import",
            "Turns an export directory (hf or native layout) back into a checkpoint that generate, evaluate,"
                + " fill-mask and pretrain --resume read; the optimizer state starts fresh. Runs in a plain JVM.");
    }
}
