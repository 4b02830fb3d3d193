package org.sparklm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparklm.jobs.MainRun.Outcome;
import org.sparklm.train.Objective;

/**
 * {@code score} and {@code evaluate-fewshot} through the entry point, on a checkpoint written as pretrain writes it:
 * the JSON lines, the output files and their atomic commit, and bad input (one error line, exit code 2, nothing
 * written). No Spark context is started.
 */
class ScoreCommandsTest {
    @TempDir
    static Path tmp;
    private static Path clm;
    private static Path mlm;
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Outcome run(String stdin, String... args) {
        return MainRun.withInput(stdin, args);
    }

    /** A run directory with one checkpoint of a small model (context 16) whose parameters are all random. */
    private static Path checkpoint(String name, Objective objective, long seed) throws IOException {
        Path dir = tmp.resolve(name);
        RandomCheckpoint.write(dir, objective, seed, 32);
        return dir;
    }

    private static Path write(String name, String... lines) throws IOException {
        Path p = tmp.resolve(name);
        Files.write(p, List.of(lines), StandardCharsets.UTF_8);
        return p;
    }

    @BeforeAll
    static void checkpoints() throws IOException {
        clm = checkpoint("clm", Objective.CLM, 1);
        mlm = checkpoint("mlm", Objective.MLM, 2);
    }

    private static void assertOneErrorLine(Outcome o, String command, String contains) {
        assertEquals(2, o.code(), o.err());
        String[] lines = o.err().strip().split("\n");
        String last = lines[lines.length - 1];
        assertTrue(last.startsWith("sparklm " + command + ": error: ") && last.contains(contains), o.err());
        assertEquals("", o.out());
    }

    @Test
    void scorePrintsOneJsonLinePerTextWithConsistentFigures() throws IOException {
        String text = "the quick brown fox jumps over the lazy dog";
        String longText = (text + " ").repeat(4);
        Outcome o = run(text + "\n\n" + longText + "\n", "score", "--checkpoint", clm.toString(), "--stride", "5");
        assertEquals(0, o.code(), o.err());
        String[] lines = o.out().strip().split("\n");
        assertEquals(3, lines.length);
        for (int i = 0; i < 3; i++) {
            JsonNode j = JSON.readTree(lines[i]);
            assertEquals(i + 1, j.get("line").asInt());
            int n = j.get("count").asInt();
            assertEquals(n, j.get("ids").size());
            assertEquals(n, j.get("tokens").size());
            assertEquals(n, j.get("logprobs").size());
            double sum = 0;
            for (JsonNode v : j.get("logprobs")) {
                assertTrue(v.asDouble() <= 0);
                sum += v.asDouble();
            }
            assertEquals(sum, j.get("sum_logprob").asDouble(), 1e-9);
            if (n == 0) {
                assertTrue(j.get("perplexity").isNull());
            } else {
                assertEquals(Math.exp(-sum / n), j.get("perplexity").asDouble(), 1e-9);
            }
        }
        JsonNode first = JSON.readTree(lines[0]);
        assertEquals("the", first.get("tokens").get(0).asText());
        assertEquals(1, first.get("windows").asInt());
        assertTrue(JSON.readTree(lines[2]).get("windows").asInt() > 1, "the long text slides");
        // the score does not depend on the other lines
        Outcome alone = run(text + "\n", "score", "--checkpoint", clm.toString(), "--stride", "5");
        assertEquals(first, JSON.readTree(alone.out().strip()));
        // --positions: one summary instead
        Outcome pos = run(longText + "\n" + longText + "\n", "score", "--checkpoint", clm.toString(), "--stride",
            "16", "--positions", "--early", "2", "--late", "14");
        assertEquals(0, pos.code(), pos.err());
        JsonNode s = JSON.readTree(pos.out());
        assertEquals(16, s.get("positions").size());
        JsonNode icl = s.get("icl_score");
        assertEquals(icl.get("loss_late").asDouble() - icl.get("loss_early").asDouble(), icl.get("score").asDouble(),
            1e-12);
    }

    @Test
    void evaluateFewshotPrintsEachShotAndCommitsItsOutputs() throws IOException {
        Path task = write("task.jsonl",
            "{\"context\": \"the quick\", \"choices\": [\"fox\", \"dog\"], \"gold\": 0}",
            "{\"context\": \"the lazy\", \"choices\": [\"fox\", \"dog\"], \"gold\": 1}",
            "{\"context\": \"jumps\", \"choices\": [\"over\", \"the\"], \"gold\": 0}",
            "{\"context\": \"" + "the quick brown fox ".repeat(5) + "\", \"choices\": [\"a\", \"b\"], \"gold\": 0}");
        Path out = tmp.resolve("fewshot-out");
        Outcome o = run("", "evaluate-fewshot", "--checkpoint", clm.toString(), "--task", task.toString(),
            "--shots", "0,2", "--output", out.toString());
        assertEquals(0, o.code(), o.err());
        String[] lines = o.out().strip().split("\n");
        assertEquals(2, lines.length);
        JsonNode zero = JSON.readTree(lines[0]);
        assertEquals(0, zero.get("shots").asInt());
        assertEquals("multiple_choice", zero.get("type").asText());
        assertEquals(3, zero.get("examples").asInt());
        assertEquals(1, zero.get("skipped").asInt(), "the long prompt is skipped, not a crash");
        assertEquals(0.5, zero.get("chance").asDouble(), 1e-12);
        assertTrue(o.err().contains("evaluate-fewshot: 0 shots: 4/4 examples"), "progress: " + o.err());
        JsonNode results = JSON.readTree(out.resolve("results.json").toFile());
        assertEquals(2, results.get("results").size());
        assertEquals(zero, results.get("results").get(0));
        String html = Files.readString(out.resolve("report.html"));
        assertTrue(html.contains("<svg") && html.contains("acc_norm"), html);
        // no clobbering without --overwrite; with it, replaced
        Outcome again = run("", "evaluate-fewshot", "--checkpoint", clm.toString(), "--task", task.toString(),
            "--output", out.toString(), "--shots", "1");
        assertOneErrorLine(again, "evaluate-fewshot", "already exists");
        assertEquals(2, JSON.readTree(out.resolve("results.json").toFile()).get("results").size());
        Outcome over = run("", "evaluate-fewshot", "--checkpoint", clm.toString(), "--task", task.toString(),
            "--output", out.toString(), "--shots", "1", "--overwrite", "--fewshot-file", task.toString());
        assertEquals(0, over.code(), over.err());
        assertEquals(1, JSON.readTree(out.resolve("results.json").toFile()).get("results").size());
    }

    @Test
    void generationTasksReportExactMatch() throws IOException {
        Path task = write("gen.jsonl", "{\"context\": \"the quick\", \"target\": \"brown\"}",
            "{\"context\": \"the lazy\", \"target\": \"dog\"}");
        Outcome o = run("", "evaluate-fewshot", "--checkpoint", clm.toString(), "--task", task.toString(),
            "--shots", "0,1", "--max-new-tokens", "3");
        assertEquals(0, o.code(), o.err());
        JsonNode one = JSON.readTree(o.out().strip().split("\n")[1]);
        assertEquals("generation", one.get("type").asText());
        assertEquals(2, one.get("examples").asInt());
        assertFalse(one.has("acc_norm"));
    }

    @Test
    void badInputIsOneErrorLineAndNothingWritten() throws IOException {
        Path good = write("good.jsonl", "{\"context\": \"a\", \"choices\": [\"x\", \"y\"], \"gold\": 0}",
            "{\"context\": \"b\", \"choices\": [\"x\", \"y\"], \"gold\": 1}");
        Path out = tmp.resolve("never");
        String[][] cases = {
            {"neither", "{\"context\": \"a\", \"label\": 0}", "unknown key"},
            {"shape", "{\"context\": \"a\"}", "either"},
            {"gold", "{\"context\": \"a\", \"choices\": [\"x\"], \"gold\": 3}", "out of range"},
            {"empty", "{\"context\": \"a\", \"choices\": [], \"gold\": 0}", "empty"}};
        for (String[] c : cases) {
            Path task = write(c[0] + ".jsonl", c[1]);
            assertOneErrorLine(run("", "evaluate-fewshot", "--checkpoint", clm.toString(), "--task", task.toString(),
                "--output", out.toString()), "evaluate-fewshot", c[2]);
        }
        assertOneErrorLine(run("", "evaluate-fewshot", "--checkpoint", clm.toString(), "--task", good.toString(),
            "--shots", "0,-1", "--output", out.toString()), "evaluate-fewshot", "negative");
        assertOneErrorLine(run("", "evaluate-fewshot", "--checkpoint", clm.toString(), "--task", good.toString(),
            "--shots", "2", "--output", out.toString()), "evaluate-fewshot", "2 shots asked");
        assertOneErrorLine(run("", "evaluate-fewshot", "--checkpoint", tmp.resolve("nothing").toString(), "--task",
            good.toString(), "--output", out.toString(), "--shots", "0"), "evaluate-fewshot", "does not exist");
        Path notCheckpoint = Files.createDirectories(tmp.resolve("not-a-checkpoint"));
        Files.writeString(notCheckpoint.resolve("model.zip"), "garbage");
        assertOneErrorLine(run("", "evaluate-fewshot", "--checkpoint", notCheckpoint.toString(), "--task",
            good.toString(), "--output", out.toString(), "--shots", "0"), "evaluate-fewshot", "neither a checkpoint");
        // a checkpoint whose model file is damaged (named directly, so that no integrity check skips it)
        Path damaged = tmp.resolve("damaged");
        try (var files = Files.walk(clm)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Path to = damaged.resolve(clm.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(to);
                } else {
                    Files.copy(f, to);
                }
            }
        }
        Path step;
        try (var s = Files.list(damaged.resolve("checkpoints"))) {
            step = s.filter(Files::isDirectory).findFirst().orElseThrow();
        }
        Files.writeString(step.resolve("model.zip"), "not a zip");
        assertOneErrorLine(run("", "evaluate-fewshot", "--checkpoint", step.toString(), "--task", good.toString(),
            "--output", out.toString(), "--shots", "0"), "evaluate-fewshot", "cannot read the checkpoint");
        assertOneErrorLine(run("x\n", "score", "--checkpoint", step.toString()), "score", "cannot read");
        assertOneErrorLine(run("", "evaluate-fewshot", "--checkpoint", mlm.toString(), "--task", good.toString(),
            "--output", out.toString(), "--shots", "0,1"), "evaluate-fewshot", "clm");
        assertFalse(Files.exists(out), "nothing written");
        try (var s = Files.list(tmp)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(".never")), "no temporary output left");
        }
        assertOneErrorLine(run("x\n", "score", "--checkpoint", mlm.toString()), "score", "clm");
        assertOneErrorLine(run("x\n", "score", "--checkpoint", clm.toString(), "--stride", "17"), "score",
            "context length");
        assertOneErrorLine(run("x\n", "score", "--checkpoint", tmp.resolve("nothing").toString()), "score",
            "does not exist");
    }
}
