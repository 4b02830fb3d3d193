package org.sparklm.jobs;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.sparklm.checkpoint.Checkpoint;
import org.sparklm.export.ExportConfig;
import org.sparklm.export.ImportConfig;
import org.sparklm.export.ModelExport;
import org.sparklm.export.ModelImport;
import org.sparklm.export.ModelSnapshot;
import org.sparklm.io.AtomicOutput;
import org.sparklm.io.Json;

/**
 * {@code export} and {@code import} (plain JVM, no Spark): a checkpoint to safetensors + config.json + tokenizer files
 * and back. The work is in {@code org.sparklm.export}; see docs/FORMATS.md, "Exported models".
 *
 * <pre>
 *   deploy/bin/export --checkpoint runs/x --output exported/x [--layout hf|native] [--overwrite]
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
        ModelSnapshot m = ModelSnapshot.fromCheckpoint(conf, c.checkpoint(), "export");
        ModelExport.Result r = ModelExport.export(conf, m, c.modelLayout(), c.output(), c.overwrite());
        ObjectNode o = Json.object();
        o.put("checkpoint", m.source());
        o.put("step", m.step());
        o.put("output", r.output().toString());
        o.put("layout", r.layout());
        o.put("tensors", r.tensors());
        o.put("parameters", r.parameters());
        o.put("safetensors_bytes", r.bytes());
        out.println(Json.pretty().writeValueAsString(o));
        return 0;
    }

    static int importModel(String[] args, PrintStream out) throws IOException {
        ImportConfig c = ImportConfig.commandLine().parseOrHelp(args, out);
        if (c == null) {
            return 0;
        }
        Configuration conf = new Configuration();
        checkOutput(conf, c.output(), c.overwrite());
        ModelSnapshot m = ModelImport.read(conf, c.input());
        Checkpoint cp = ModelImport.writeCheckpoint(conf, m, c.output(), c.overwrite());
        ObjectNode o = Json.object();
        o.put("input", c.input());
        o.put("checkpoint", cp.dir().toString());
        o.put("step", cp.step());
        o.put("objective", m.objective().key());
        o.put("parameters", m.net().numParams());
        out.println(Json.pretty().writeValueAsString(o));
        return 0;
    }
}
