package org.sparklm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparklm.jobs.MainRun.Outcome;
import org.sparklm.train.Objective;

/**
 * {@code export} and {@code import} through the entry point, as deploy/bin runs them: the model commands give the
 * same output on the imported checkpoint as on the original; bad input is one error line, exit code 2, nothing
 * written. No Spark context is started.
 */
class ExportCommandsTest {
    @TempDir
    static Path tmp;
    private static Path clm;
    private static Path mlm;
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Outcome run(String... args) {
        return MainRun.run(args);
    }

    /** A run directory with one checkpoint of a small model whose parameters are all random. */
    private static Path checkpoint(String name, Objective objective, long seed) throws IOException {
        Path dir = tmp.resolve(name);
        RandomCheckpoint.write(dir, objective, seed, 64);
        return dir;
    }

    @BeforeAll
    static void checkpoints() throws IOException {
        clm = checkpoint("clm", Objective.CLM, 1);
        mlm = checkpoint("mlm", Objective.MLM, 2);
    }

    private static String path(String name) {
        return tmp.resolve(name).toString();
    }

    @Test
    void helpListsTheCommandsAndTheirOptions() {
        assertTrue(run("--help").out().contains("export") && run("--help").out().contains("import"));
        Outcome e = run("export", "--help");
        assertEquals(0, e.code());
        for (String opt : List.of("--checkpoint", "--output", "--layout", "--overwrite")) {
            assertTrue(e.out().contains(opt), opt + " missing from " + e.out());
        }
        Outcome i = run("import", "--help");
        assertEquals(0, i.code());
        for (String opt : List.of("--input", "--output", "--overwrite")) {
            assertTrue(i.out().contains(opt), opt + " missing from " + i.out());
        }
    }

    @Test
    void modelCommandsGiveTheSameOutputOnTheImportedCheckpoint() throws IOException {
        for (String layout : List.of("hf", "native")) {
            Outcome ex = run("export", "--checkpoint", clm.toString(), "--output", path("clm-" + layout),
                "--layout", layout);
            assertEquals(0, ex.code(), ex.err());
            JsonNode summary = JSON.readTree(ex.out());
            assertEquals(layout, summary.get("layout").asText());
            assertEquals(8, summary.get("step").asInt());
            Outcome im = run("import", "--input", path("clm-" + layout), "--output", path("clm-" + layout + "-run"));
            assertEquals(0, im.code(), im.err());
            assertEquals(8, JSON.readTree(im.out()).get("step").asInt());
            for (String temperature : List.of("0", "0.9")) {
                Outcome a = run("generate", "--checkpoint", clm.toString(), "--prompt", "the quick", "--temperature",
                    temperature, "--max-new-tokens", "12", "--seed", "5");
                Outcome b = run("generate", "--checkpoint", path("clm-" + layout + "-run"), "--prompt", "the quick",
                    "--temperature", temperature, "--max-new-tokens", "12", "--seed", "5");
                assertEquals(0, a.code(), a.err());
                assertEquals(a.out(), b.out());
            }
        }
        assertEquals(0, run("export", "--checkpoint", mlm.toString(), "--output", path("mlm-native"), "--layout",
            "native").code());
        assertEquals(0, run("import", "--input", path("mlm-native"), "--output", path("mlm-run")).code());
        Outcome a = run("fill-mask", "--checkpoint", mlm.toString(), "--text", "the [MASK] fox", "--top-k", "5");
        Outcome b = run("fill-mask", "--checkpoint", path("mlm-run"), "--text", "the [MASK] fox", "--top-k", "5");
        assertEquals(0, a.code(), a.err());
        assertEquals(a.out(), b.out());
    }

    @Test
    void overwriteReplacesAnExistingExport() throws IOException {
        assertEquals(0, run("export", "--checkpoint", clm.toString(), "--output", path("again")).code());
        Files.writeString(tmp.resolve("again/stale.txt"), "old");
        assertEquals(0, run("export", "--checkpoint", clm.toString(), "--output", path("again"), "--overwrite")
            .code());
        assertFalse(Files.exists(tmp.resolve("again/stale.txt")));
    }

    /** One error line naming the command, exit code 2, and {@code output} not created. */
    private static void badInput(String expected, String output, String... args) {
        Outcome o = run(args);
        assertEquals(2, o.code(), o.err());
        assertEquals(1, o.err().strip().lines().count(), o.err());
        assertTrue(o.err().startsWith("sparklm " + args[0] + ": error: "), o.err());
        assertTrue(o.err().contains(expected), "expected '" + expected + "' in " + o.err());
        if (output != null) {
            assertFalse(Files.exists(Path.of(output)), output + " was written");
            String prefix = "." + Path.of(output).getFileName() + "._tmp-";
            try (var s = Files.list(Path.of(output).getParent())) {
                assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(prefix)), "temporary left");
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
    }

    @Test
    void badInputIsOneErrorLineExitCode2AndNothingWritten() throws IOException {
        Files.createDirectories(tmp.resolve("plain"));
        String out = path("never");
        badInput("is neither a checkpoint nor a run directory", out, "export", "--checkpoint", path("plain"),
            "--output", out);
        badInput("does not exist", out, "export", "--checkpoint", path("nowhere"), "--output", out);
        badInput("--layout must be one of hf, native, peft", out, "export", "--checkpoint", clm.toString(), "--output",
            out, "--layout", "onnx");
        badInput("use --layout native", out, "export", "--checkpoint", mlm.toString(), "--output", out);
        badInput("missing required option --output", null, "export", "--checkpoint", clm.toString());
        badInput("has no config.json", out, "import", "--input", clm.toString(), "--output", out);
        badInput("does not exist", out, "import", "--input", path("nowhere"), "--output", out);

        assertEquals(0, run("export", "--checkpoint", clm.toString(), "--output", path("shapes")).code());
        ObjectNode c = (ObjectNode) JSON.readTree(tmp.resolve("shapes/config.json").toFile());
        c.put("n_inner", 32);
        JSON.writeValue(tmp.resolve("shapes/config.json").toFile(), c);
        badInput("has shape [16, 64], but the model of config.json needs [16, 32]", out, "import", "--input",
            path("shapes"), "--output", out);

        Files.createDirectories(tmp.resolve("taken"));
        Files.writeString(tmp.resolve("taken/keep.txt"), "mine");
        badInput("already exists", null, "export", "--checkpoint", clm.toString(), "--output", path("taken"));
        badInput("already exists", null, "import", "--input", path("shapes"), "--output", path("taken"));
        assertEquals("mine", Files.readString(tmp.resolve("taken/keep.txt")));
        try (var s = Files.list(tmp.resolve("taken"))) {
            assertEquals(1, s.count());
        }
    }
}
