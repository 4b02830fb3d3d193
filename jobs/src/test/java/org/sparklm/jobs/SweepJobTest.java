package org.sparklm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparklm.data.DocFormat;
import org.sparklm.io.AtomicOutput;
import org.sparklm.io.Json;
import org.sparklm.scaling.ScalingLaw;
import org.sparklm.scaling.SweepConfig;
import org.sparklm.scaling.SweepReport;
import org.sparklm.scaling.SweepTrainer;
import org.sparklm.tokenizer.bpe.BpeMode;
import org.sparklm.tokenizer.bpe.BpeModel;
import org.sparklm.tokenizer.bpe.TokenizerFiles;

/** A tiny sweep in local[2]: one size cannot be built, its runs are reported, and the fit uses the others. */
class SweepJobTest extends SparkTestBase {
    @TempDir
    static Path tmp;
    private static Path shards;

    @BeforeAll
    static void shards() throws Exception {
        BpeModel model = BpeTrainJobTest.direct(BpeTrainJobTest.brownLines(2000), BpeMode.BYTE, 400);
        Path tok = tmp.resolve("tok");
        TokenizerFiles.save(model, tok);
        Path corpus = tmp.resolve("corpus.txt");
        Files.write(corpus, BpeTrainJobTest.brownLines(2000));
        shards = tmp.resolve("shards");
        ShardJob.run(sc, new ShardJob.Params(List.of(corpus.toString()), tok.toString(), shards.toString(), 0.05,
            1, DocFormat.LINE, "text", 1, "[EOS]", 2, false, false));
    }

    /** 3 buildable sizes x 2 budgets = 6 runs of a few dozen steps, and 1x10x4 (4 heads do not divide 10). */
    private static String[] args(Path out, boolean overwrite) {
        List<String> a = new java.util.ArrayList<>(List.of("--data", shards.toString(), "--output", out.toString(),
            "--sizes", "1x8", "1x16", "2x16", "1x10x4", "--tokens-per-param", "0.05", "0.15", "--context", "16",
            "--batch-size", "4", "--eval-every", "20", "--eval-windows", "16", "--warmup-steps", "2"));
        if (overwrite) {
            a.add("--overwrite");
        }
        return a.toArray(String[]::new);
    }

    @Test
    void aFailedRunIsReportedAndTheFitUsesTheRest() throws Exception {
        Path out = tmp.resolve("sweep");
        SweepReport.Analysis a = SweepJob.run(sc, SweepConfig.commandLine().parse(args(out, false)));
        assertEquals(8, a.runs().size());
        assertEquals(2, a.failed().size());
        for (SweepTrainer.RunResult r : a.failed()) {
            assertEquals("1x10x4", r.size());
            assertTrue(r.error().contains("heads must divide d_model"), r.error());
        }
        // every finished run trained and was validated, its metrics kept under the output
        for (SweepTrainer.RunResult r : a.ok()) {
            Path metrics = out.resolve("runs").resolve(r.name()).resolve("metrics.jsonl");
            assertTrue(Files.isRegularFile(metrics), metrics.toString());
            assertTrue(Files.isRegularFile(metrics.resolveSibling("run.json")));
            assertTrue(r.valLoss() > 0 && r.valLoss() < 10, r.toString());
            assertTrue(r.tokens() >= 0.05 * r.parameters(), r.toString());
        }
        assertFalse(Files.exists(out.resolve("runs").resolve("1x10x4-tpp0.05").resolve("metrics.jsonl")));
        // the fit used the six finished runs; law.json is a law plan reads
        JsonNode law = Json.MAPPER.readTree(out.resolve(SweepReport.LAW_FILE).toFile());
        assertEquals(6, law.at("/fit/runs").asInt());
        assertEquals(6, law.at("/fit/residuals").size());
        ScalingLaw fitted = ScalingLaw.named(new Configuration(), out.resolve(SweepReport.LAW_FILE).toString());
        assertEquals(a.fit().law().alpha(), fitted.alpha());
        JsonNode sweep = Json.MAPPER.readTree(out.resolve(SweepReport.SWEEP_FILE).toFile());
        assertEquals(2, sweep.get("runs_failed").asInt());
        String html = Files.readString(out.resolve(SweepReport.REPORT_FILE));
        assertTrue(html.contains("2 run(s) failed") && html.contains("<svg"), "report");
        // plan reads the fitted law and a run of the sweep
        String run = out.resolve("runs").resolve(a.ok().get(0).name()).toString();
        assertEquals(0, Main.run(new String[] {"plan", "--hours", "1", "--run", run, "--law",
            out.resolve(SweepReport.LAW_FILE).toString(), "--json"}));
        // an existing sweep is not replaced without --overwrite
        assertThrows(AtomicOutput.OutputExistsException.class,
            () -> SweepJob.run(sc, SweepConfig.commandLine().parse(args(out, false))));
    }
}
