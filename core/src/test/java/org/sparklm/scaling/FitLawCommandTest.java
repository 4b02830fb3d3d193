package org.sparklm.scaling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparklm.UsageException;
import org.sparklm.io.AtomicOutput;
import org.sparklm.io.Json;

class FitLawCommandTest {
    @TempDir
    Path tmp;

    private static SweepTrainer.RunResult run(ScalingLaw law, long n, double k) {
        long d = Math.round(k * n);
        return new SweepTrainer.RunResult(n + "-tpp" + k, "s", k, 1, 8, 1, 16, n, n + 100, d, 1, law.loss(n, d),
            null, 1, 1, null);
    }

    private Path sweep(String name, List<SweepTrainer.RunResult> runs) throws Exception {
        Path dir = tmp.resolve(name);
        Files.createDirectories(dir);
        SweepReport.Analysis a = new SweepReport.Analysis(runs, null, IsoFlop.analyse(List.of(), 1.5), "none");
        Files.write(dir.resolve(SweepReport.SWEEP_FILE),
            Json.MAPPER.writeValueAsBytes(SweepReport.sweepJson(Json.object(), a)));
        return dir;
    }

    @Test
    void fitsTheRunsOfSeveralSweepsOnce() throws Exception {
        ScalingLaw truth = ScalingLaw.EPOCH;
        List<SweepTrainer.RunResult> first = new ArrayList<>();
        List<SweepTrainer.RunResult> second = new ArrayList<>();
        for (long n : new long[] {10_000_000, 40_000_000, 160_000_000}) {
            first.add(run(truth, n, 5));
            first.add(run(truth, n, 20));
            second.add(run(truth, n, 20));   // the same runs again: counted once
            second.add(run(truth, n, 80));
        }
        second.add(new SweepTrainer.RunResult("broken", "1x10x4", 5, 0, 0, 0, 16, 0, 0, 0, 0, null, null, 0, 0,
            "heads must divide d_model"));
        Path out = tmp.resolve("both");
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        assertEquals(0, FitLawCommand.run(new String[] {"--sweep", sweep("a", first).toString(),
            sweep("b", second).toString(), "--output", out.toString()}, new PrintStream(b, true,
            StandardCharsets.UTF_8)));
        assertTrue(b.toString(StandardCharsets.UTF_8).contains("3 duplicates skipped"), b.toString());
        JsonNode law = Json.MAPPER.readTree(out.resolve(SweepReport.LAW_FILE).toFile());
        assertEquals(9, law.at("/fit/runs").asInt());
        // 9 exact losses of a known law: its exponents come back
        assertEquals(truth.alpha(), law.get("alpha").asDouble(), 0.01);
        assertEquals(truth.beta(), law.get("beta").asDouble(), 0.01);
        JsonNode sweep = Json.MAPPER.readTree(out.resolve(SweepReport.SWEEP_FILE).toFile());
        assertEquals(1, sweep.get("runs_failed").asInt());
        assertTrue(Files.readString(out.resolve(SweepReport.REPORT_FILE)).contains("broken"));
        // no clobbering; a directory that is not a sweep is one usage error
        assertThrows(AtomicOutput.OutputExistsException.class, () -> FitLawCommand.run(new String[] {"--sweep",
            tmp.resolve("a").toString(), "--output", out.toString()}, new PrintStream(new ByteArrayOutputStream())));
        assertThrows(UsageException.class, () -> FitLawCommand.run(new String[] {"--sweep", tmp.toString(),
            "--output", tmp.resolve("x").toString()}, new PrintStream(new ByteArrayOutputStream())));
    }
}
