package org.sparklm.eval;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.sparklm.UsageException;
import org.sparklm.io.Json;

/**
 * Reads a task (or few-shot) file: JSON lines, each {@code {"context": ..., "choices": [...], "gold": i}} (multiple
 * choice) or {@code {"context": ..., "target": ...}} (generation); blank lines are skipped, any other key is an error.
 * A task's lines must all have the same shape; a few-shot file may mix them (a demonstration shows only its answer).
 */
public final class TaskFile {
    private static final Set<String> KEYS = Set.of("context", "choices", "gold", "target");

    private TaskFile() {
    }

    /**
     * @param uniform all lines must have one shape (a task)
     * @param command named in error messages
     */
    public static List<TaskExample> read(Configuration conf, String file, boolean uniform, String command)
        throws IOException {
        Path p = new Path(file);
        FileSystem fs = p.getFileSystem(conf);
        if (!fs.exists(p) || fs.getFileStatus(p).isDirectory()) {
            throw new UsageException(command + ": " + file + " is not a file");
        }
        List<String> lines = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(fs.open(p), StandardCharsets.UTF_8))) {
            for (String l; (l = r.readLine()) != null; ) {
                lines.add(l);
            }
        }
        return parse(lines, file, uniform, command);
    }

    /** Parses the lines of {@code name}; see {@link #read}. */
    public static List<TaskExample> parse(List<String> lines, String name, boolean uniform, String command) {
        List<TaskExample> out = new ArrayList<>();
        int firstLine = 0;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank()) {
                continue;
            }
            String where = command + ": " + name + " line " + (i + 1) + ": ";
            TaskExample e;
            try {
                e = example(Json.MAPPER.readTree(line));
            } catch (JsonProcessingException ex) {
                throw new UsageException(where + "not JSON (" + ex.getOriginalMessage() + ")");
            } catch (IllegalArgumentException ex) {
                throw new UsageException(where + ex.getMessage());
            }
            if (uniform && !out.isEmpty() && out.get(0).isMultipleChoice() != e.isMultipleChoice()) {
                throw new UsageException(where + "a " + kind(e) + " example, but line " + firstLine + " is "
                    + kind(out.get(0)) + " (a task has one shape)");
            }
            if (out.isEmpty()) {
                firstLine = i + 1;
            }
            out.add(e);
        }
        if (out.isEmpty()) {
            throw new UsageException(command + ": " + name + " holds no example");
        }
        return out;
    }

    static String kind(TaskExample e) {
        return e.isMultipleChoice() ? "multiple-choice" : "generation";
    }

    static TaskExample example(JsonNode n) {
        if (!n.isObject()) {
            throw new IllegalArgumentException("not a JSON object");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            String k = it.next().getKey();
            if (!KEYS.contains(k)) {
                throw new IllegalArgumentException("unknown key '" + k + "' (keys: context, choices and gold, or"
                    + " context and target)");
            }
        }
        JsonNode context = n.get("context");
        if (context == null || !context.isTextual()) {
            throw new IllegalArgumentException("needs a string \"context\"");
        }
        boolean mc = n.has("choices") || n.has("gold");
        boolean gen = n.has("target");
        if (mc == gen) {
            throw new IllegalArgumentException("needs either \"choices\" and \"gold\" (multiple choice) or \"target\""
                + " (generation)");
        }
        if (gen) {
            if (!n.get("target").isTextual()) {
                throw new IllegalArgumentException("\"target\" must be a string");
            }
            return TaskExample.generation(context.asText(), n.get("target").asText());
        }
        JsonNode choices = n.get("choices");
        JsonNode gold = n.get("gold");
        if (choices == null || !choices.isArray()) {
            throw new IllegalArgumentException("\"choices\" must be an array of strings");
        }
        if (gold == null || !gold.isIntegralNumber()) {
            throw new IllegalArgumentException("\"gold\" must be an integer (the index of the right choice)");
        }
        List<String> cs = new ArrayList<>();
        for (JsonNode c : choices) {
            if (!c.isTextual()) {
                throw new IllegalArgumentException("\"choices\" must be an array of strings");
            }
            cs.add(c.asText());
        }
        if (cs.isEmpty()) {
            throw new IllegalArgumentException("empty \"choices\"");
        }
        long g = gold.asLong();
        if (g < 0 || g >= cs.size()) {
            throw new IllegalArgumentException("gold " + g + " is out of range for " + cs.size() + " choices");
        }
        return TaskExample.multipleChoice(context.asText(), cs, (int) g);
    }
}
