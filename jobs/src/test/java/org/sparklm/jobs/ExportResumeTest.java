package org.sparklm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparklm.data.DocFormat;
import org.sparklm.export.ModelExport;
import org.sparklm.export.ModelImport;
import org.sparklm.export.ModelLayouts;
import org.sparklm.export.ModelSnapshot;
import org.sparklm.pretrain.PretrainConfig;
import org.sparklm.tokenizer.bpe.BpeMode;
import org.sparklm.tokenizer.bpe.BpeModel;
import org.sparklm.tokenizer.bpe.TokenizerFiles;

/**
 * Continued pretraining from exported weights: a run stopped half way is exported (both layouts) and imported into a
 * new run directory, {@code evaluate} gives the original's loss on it, and {@code pretrain --resume} with the
 * original options continues it to the end (Spark local mode).
 */
class ExportResumeTest extends SparkTestBase {
    @TempDir
    static Path tmp;
    private static Path tokDir;
    private static Path shards;
    private static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void shards() throws Exception {
        BpeModel model = BpeTrainJobTest.direct(BpeTrainJobTest.brownLines(2000), BpeMode.BYTE, 500);
        tokDir = tmp.resolve("tok");
        TokenizerFiles.save(model, tokDir);
        Path corpus = tmp.resolve("corpus.txt");
        Files.write(corpus, BpeTrainJobTest.brownLines(2000));
        shards = tmp.resolve("shards");
        ShardJob.run(sc, new ShardJob.Params(List.of(corpus.toString()), tokDir.toString(), shards.toString(), 0.05,
            2, DocFormat.LINE, "text", 1, "[EOS]", 2, false, false));
    }

    private static PretrainConfig config(Path out, boolean resume, long stopAt) {
        List<String> a = new java.util.ArrayList<>(List.of("--data", shards.toString(), "--tokenizer",
            tokDir.toString(), "--output", out.toString(), "--model", "tiny", "--model-set",
            "layers=1,d_model=32,heads=2,d_ff=64,context_length=16,dropout=0", "--steps", "8",
            "--batch-size-per-worker", "4", "--averaging-frequency", "2", "--workers", "2", "--eval-every", "1",
            "--eval-windows", "32", "--checkpoint-every", "1", "--seed", "3", "--stop-at-step", "" + stopAt));
        if (resume) {
            a.add("--resume");
        }
        return PretrainJob.commandLine().parse(a.toArray(String[]::new));
    }

    private static JsonNode evaluate(Path checkpoint) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = ModelCommands.evaluate(new String[] {"--checkpoint", checkpoint.toString(), "--data",
            shards.toString(), "--eval-windows", "32"}, new PrintStream(out, true, StandardCharsets.UTF_8));
        assertEquals(0, code);
        return JSON.readTree(out.toString(StandardCharsets.UTF_8));
    }

    @Test
    void importedExportResumesToTheEndAndEvaluatesAsTheOriginal() throws IOException {
        Path original = tmp.resolve("original");
        PretrainJob.run(sc, config(original, false, 4));
        Configuration conf = new Configuration();
        double originalLoss = evaluate(original).get("loss").asDouble();
        for (String layout : List.of("hf", "native")) {
            Path exported = tmp.resolve("exported-" + layout);
            ModelExport.export(conf, ModelSnapshot.fromCheckpoint(conf, original.toString(), "export"),
                ModelLayouts.byKey(layout).orElseThrow(), exported.toString(), false);
            Path imported = tmp.resolve("imported-" + layout);
            ModelImport.writeCheckpoint(conf, ModelImport.read(conf, exported.toString()), imported.toString(), false);

            JsonNode e = evaluate(imported);
            assertEquals(4, e.get("step").asInt(), layout);
            assertEquals(originalLoss, e.get("loss").asDouble(), 0.0, layout + ": evaluate on the imported checkpoint");

            PretrainJob.Result rest = PretrainJob.run(sc, config(imported, true, 0));
            assertEquals(List.of(6L, 8L), rest.metrics().stream().map(m -> m.step()).toList(), layout
                + ": the resumed run trains rounds 3 and 4 only");
            double last = rest.metrics().get(rest.metrics().size() - 1).valLoss();
            assertTrue(Double.isFinite(last) && last < originalLoss + 0.5, layout + ": validation loss " + last
                + " after resuming from " + originalLoss);
            assertTrue(Files.exists(imported.resolve("checkpoints/step-00000008/checkpoint.json")), layout);
        }
    }
}
