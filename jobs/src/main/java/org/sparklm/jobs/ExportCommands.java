package org.sparklm.jobs;

import java.io.IOException;
import java.io.PrintStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.sparklm.export.ExportConfig;
import org.sparklm.export.Exporter;
import org.sparklm.export.ImportConfig;
import org.sparklm.io.AtomicOutput;
import org.sparklm.io.Json;

/**
 * {@code export} and {@code import} (plain JVM, no Spark): a checkpoint (pretrained model or fine-tuned
 * classifier) to safetensors + config.json + tokenizer files, or a LoRA classifier to a PEFT adapter directory, and
 * back. The work is in {@code org.sparklm.export} ({@code Exporter}); see docs/FORMATS.md, "Exported models".
 *
 * <pre>
 *   deploy/bin/export --checkpoint runs/x --output exported/x [--layout hf|native|peft] [--peft-base DIR]
 *   deploy/bin/import --input exported/x --output runs/x-imported [--overwrite]
 * </pre>
 */
final class ExportCommands {
    private ExportCommands() {
    }

    /** An existing output without --overwrite is refused before the input is read. */
    private static void checkOutput(Configuration conf, String output, boolean overwrite) throws IOException {
        Path p = new Path(output);
        FileSystem fs = p.getFileSystem(conf);
        AtomicOutput.checkWritable(fs, fs.makeQualified(p), overwrite);
    }

    static int export(String[] args, PrintStream out) throws IOException {
        ExportConfig c = ExportConfig.commandLine().parseOrHelp(args, out);
        if (c == null) {
            return 0;
        }
        Configuration conf = new Configuration();
        checkOutput(conf, c.output(), c.overwrite());
        out.println(Json.pretty().writeValueAsString(Exporter.export(conf, c)));
        return 0;
    }

    static int importModel(String[] args, PrintStream out) throws IOException {
        ImportConfig c = ImportConfig.commandLine().parseOrHelp(args, out);
        if (c == null) {
            return 0;
        }
        Configuration conf = new Configuration();
        checkOutput(conf, c.output(), c.overwrite());
        out.println(Json.pretty().writeValueAsString(Exporter.importDir(conf, c)));
        return 0;
    }
}
