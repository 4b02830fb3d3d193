package org.sparklm.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparklm.UsageException;
import org.sparklm.io.AtomicOutput;
import org.sparklm.io.Json;

/**
 * make-icl-data: every document states one mapping several times; the task's answers are exactly the few-shot
 * file's statements, a mapping of keys never tied to those values in pretraining order; outputs are not clobbered.
 */
class IclDataTest {
    @TempDir
    Path tmp;

    private String run(String... args) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        IclData.run(args, new PrintStream(b, true, StandardCharsets.UTF_8));
        return b.toString(StandardCharsets.UTF_8);
    }

    @Test
    void documentsRepeatOneMappingAndTheTaskIsAnsweredByTheFewshotFile() throws IOException {
        Path out = tmp.resolve("icl");
        run("--output", out.toString(), "--documents", "50", "--keys-per-document", "3", "--statements-per-key",
            "4", "--task-keys", "5", "--task-repeats", "3", "--values", "6");
        List<String> docs = Files.readAllLines(out.resolve("corpus.jsonl"));
        assertEquals(50, docs.size());
        for (String line : docs) {
            String text = Json.MAPPER.readTree(line).get("text").asText();
            Map<String, String> mapping = new HashMap<>();
            Map<String, Integer> times = new HashMap<>();
            for (String st : text.split("\n\n", -1)) {
                String[] kv = st.split(" ");
                assertEquals(2, kv.length, st);
                assertTrue(IclData.VALUES.subList(0, 6).contains(kv[1]), kv[1]);
                String prev = mapping.putIfAbsent(kv[0], kv[1]);
                assertTrue(prev == null || prev.equals(kv[1]), "one value per key in a document: " + text);
                times.merge(kv[0], 1, Integer::sum);
            }
            assertEquals(3, mapping.size());
            assertTrue(times.values().stream().allMatch(t -> t == 4));
        }
        List<TaskExample> task = TaskFile.read(new Configuration(), out.resolve("task.jsonl").toString(), true, "t");
        List<TaskExample> fewshot = TaskFile.read(new Configuration(), out.resolve("fewshot.jsonl").toString(), true,
            "t");
        assertEquals(15, task.size());
        assertEquals(5, fewshot.size());
        Map<String, String> answer = new HashMap<>();
        for (TaskExample f : fewshot) {
            assertFalse(answer.containsKey(f.context()), "one statement per key");
            answer.put(f.context(), f.answer());
        }
        Set<String> asked = new HashSet<>();
        for (TaskExample e : task) {
            assertEquals(6, e.choices().size());
            assertEquals(answer.get(e.context()), e.answer(), "the demonstration holds the answer");
            asked.add(e.context());
        }
        assertEquals(answer.keySet(), asked);
        JsonNode summary = Json.MAPPER.readTree(out.resolve("icl-data.json").toFile());
        assertEquals(1.0 / 6, summary.get("chance_accuracy").asDouble(), 1e-12);
        // same seed, same files; an existing output is refused without --overwrite
        assertThrows(AtomicOutput.OutputExistsException.class, () -> run("--output", out.toString()));
        Path again = tmp.resolve("again");
        run("--output", again.toString(), "--documents", "50", "--keys-per-document", "3", "--statements-per-key",
            "4", "--task-keys", "5", "--task-repeats", "3", "--values", "6");
        assertEquals(Files.readAllLines(out.resolve("task.jsonl")), Files.readAllLines(again.resolve("task.jsonl")));
        assertThrows(UsageException.class, () -> run("--output", tmp.resolve("x").toString(), "--key-pool", "8",
            "--task-keys", "9"));
        assertFalse(Files.exists(tmp.resolve("x")));
    }
}
