package org.sparklm.eval;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.apache.hadoop.conf.Configuration;
import org.sparklm.UsageException;
import org.sparklm.config.CommandLine;
import org.sparklm.config.Opt;
import org.sparklm.io.AtomicOutput;
import org.sparklm.io.Json;

/**
 * {@code make-icl-data}: a synthetic corpus where in-context learning is the only way to predict well, and a held-out
 * few-shot task that can only be solved from its demonstrations.
 *
 * <p>Every pretraining document draws a fresh random mapping from a few keys (made-up words of a fixed pool) to
 * values (a few colour words) and states each key's value several times, in a random order, as statements
 * {@code "key value"} separated by a blank line, which is exactly how {@code evaluate-fewshot} renders
 * demonstrations ({@code context + " " + answer}, joined by {@code "\n\n"}). The first statement of a key is
 * unpredictable (chance among the values); every later one can be copied from the context: an induction head's job
 * ({@code [A][B] ... [A] -> [B]}, Olsson et al. 2022).
 *
 * <p>The task is one more random mapping (each of its key-value pairs occurs in pretraining as often as any other
 * pair, so nothing but the demonstrations tells its values): {@code task.jsonl} asks each of its keys
 * {@code --task-repeats} times (multiple choice: context the key, choices every value, gold its value), and
 * {@code fewshot.jsonl} holds the mapping's statements, one per key. With {@code k} demonstrations drawn from the
 * few-shot file, the asked key was demonstrated with probability {@code k / task-keys}, so accuracy is chance
 * ({@code 1 / values}) at 0 shots and rises with the shots.
 *
 * <p>Writes {@code corpus.jsonl} (one {@code {"text": ...}} document a line), {@code task.jsonl},
 * {@code fewshot.jsonl} and {@code icl-data.json} (the settings and counts), committed atomically.
 */
public final class IclData {

    /** The values of every mapping: short, common words, each one token once the tokenizer is trained. */
    static final List<String> VALUES = List.of("red", "blue", "green", "gold", "pink", "gray", "black", "white",
        "brown", "tan", "teal", "navy", "plum", "rose", "sand", "lime");

    /** The command's options. */
    public record Config(
        @Opt(metavar = "DIR", help = "output directory (must not exist unless --overwrite)", required = true)
        String output,
        @Opt(metavar = "N", help = "pretraining documents", min = 1, max = 10_000_000)
        int documents,
        @Opt(metavar = "N", help = "keys of each document's mapping", min = 1, max = 64)
        int keysPerDocument,
        @Opt(metavar = "N", help = "statements of each key in a document", min = 2, max = 64)
        int statementsPerKey,
        @Opt(metavar = "N", help = "made-up words the keys are drawn from", min = 8, max = 5000)
        int keyPool,
        @Opt(metavar = "N", help = "values (colour words); chance accuracy is 1 / values", min = 2, max = 16)
        int values,
        @Opt(metavar = "N", help = "keys of the held-out task mapping (statements in fewshot.jsonl)", min = 1,
            max = 64)
        int taskKeys,
        @Opt(metavar = "N", help = "times each task key is asked in task.jsonl", min = 1, max = 10_000)
        int taskRepeats,
        @Opt(metavar = "S", help = "seed of everything")
        long seed,
        @Opt(help = "replace an existing output directory")
        boolean overwrite) implements CommandLine.Checked {
        public static final Config DEFAULTS = new Config(null, 20_000, 4, 4, 64, 8, 8, 25, 1234, false);

        @Override
        public void check() {
            if (keysPerDocument > keyPool || taskKeys > keyPool) {
                throw new IllegalArgumentException("--keys-per-document and --task-keys must be at most --key-pool ("
                    + keyPool + ")");
            }
        }
    }

    public static CommandLine<Config> commandLine() {
        return CommandLine.of(Config.class, Config.DEFAULTS, "make-icl-data",
            "Writes a synthetic pretraining corpus in which every document states a fresh random key -> value"
                + " mapping several times (only in-context learning predicts the repeats) and a held-out"
                + " multiple-choice task with its few-shot file, whose answers are only in the demonstrations."
                + " Runs in a plain JVM.");
    }

    private IclData() {
    }

    /** {@code n} distinct made-up lowercase words of two or three consonant-vowel syllables. */
    static List<String> keyPool(int n, SplittableRandom rnd) {
        String consonants = "bdfgkmnprstvz";
        String vowels = "aeiou";
        Set<String> words = new LinkedHashSet<>();
        while (words.size() < n) {
            int syllables = 2 + rnd.nextInt(2);
            StringBuilder b = new StringBuilder();
            for (int s = 0; s < syllables; s++) {
                b.append(consonants.charAt(rnd.nextInt(consonants.length())));
                b.append(vowels.charAt(rnd.nextInt(vowels.length())));
            }
            String w = b.toString();
            if (!VALUES.contains(w)) {
                words.add(w);
            }
        }
        return new ArrayList<>(words);
    }

    /** A document: {@code keys} distinct keys each mapped to a random value, every key stated {@code times} times. */
    static String document(List<String> pool, List<String> values, int keys, int times, SplittableRandom rnd) {
        List<String> chosen = sample(pool, keys, rnd);
        List<String> statements = new ArrayList<>();
        for (String k : chosen) {
            String v = values.get(rnd.nextInt(values.size()));
            for (int t = 0; t < times; t++) {
                statements.add(k + Prompts.TARGET_DELIMITER + v);
            }
        }
        shuffle(statements, rnd);
        return String.join(Prompts.FEWSHOT_DELIMITER, statements);
    }

    public static int run(String[] args, PrintStream out) throws IOException {
        Config c = commandLine().parseOrHelp(args, out);
        if (c == null) {
            return 0;
        }
        SplittableRandom rnd = new SplittableRandom(c.seed());
        List<String> pool = keyPool(c.keyPool(), rnd);
        List<String> values = VALUES.subList(0, c.values());
        Configuration conf = new Configuration();
        long chars = 0;
        try (AtomicOutput o = AtomicOutput.begin(conf, c.output(), c.overwrite())) {
            try (Writer w = writer(o, "corpus.jsonl")) {
                for (int d = 0; d < c.documents(); d++) {
                    String text = document(pool, values, c.keysPerDocument(), c.statementsPerKey(), rnd);
                    chars += text.length();
                    w.write(Json.MAPPER.writeValueAsString(Json.object().put("text", text)));
                    w.write('\n');
                }
            }
            // the held-out mapping: fresh values for fresh draws of keys
            List<String> taskKeys = sample(pool, c.taskKeys(), rnd);
            List<Integer> gold = new ArrayList<>();
            for (int i = 0; i < taskKeys.size(); i++) {
                gold.add(rnd.nextInt(values.size()));
            }
            try (Writer w = writer(o, "fewshot.jsonl")) {
                for (int i = 0; i < taskKeys.size(); i++) {
                    w.write(line(taskKeys.get(i), values, gold.get(i)));
                }
            }
            List<Integer> asked = new ArrayList<>();
            for (int r = 0; r < c.taskRepeats(); r++) {
                for (int i = 0; i < taskKeys.size(); i++) {
                    asked.add(i);
                }
            }
            shuffle(asked, rnd);
            try (Writer w = writer(o, "task.jsonl")) {
                for (int i : asked) {
                    w.write(line(taskKeys.get(i), values, gold.get(i)));
                }
            }
            ObjectNode s = Json.object();
            s.set("settings", Json.MAPPER.valueToTree(c));
            s.put("documents", c.documents());
            s.put("corpus_characters", chars);
            s.put("task_examples", asked.size());
            s.put("fewshot_examples", taskKeys.size());
            s.put("chance_accuracy", 1.0 / values.size());
            s.set("key_pool", Json.MAPPER.valueToTree(pool));
            try (Writer w = writer(o, "icl-data.json")) {
                w.write(Json.pretty().writeValueAsString(s));
                w.write('\n');
            }
            o.commit();
        } catch (IllegalArgumentException e) {
            throw new UsageException("make-icl-data: " + e.getMessage());
        }
        out.println("make-icl-data: " + c.documents() + " documents (" + chars + " characters), "
            + c.taskKeys() * c.taskRepeats() + " task examples, " + c.taskKeys() + " few-shot statements in "
            + c.output());
        return 0;
    }

    private static String line(String key, List<String> values, int gold) throws IOException {
        ObjectNode o = Json.object();
        o.put("context", key);
        o.set("choices", Json.MAPPER.valueToTree(values));
        o.put("gold", gold);
        return Json.MAPPER.writeValueAsString(o) + "\n";
    }

    private static Writer writer(AtomicOutput o, String name) throws IOException {
        return new BufferedWriter(new OutputStreamWriter(o.create(name), StandardCharsets.UTF_8));
    }

    static <T> List<T> sample(List<T> from, int n, SplittableRandom rnd) {
        List<T> copy = new ArrayList<>(from);
        for (int i = 0; i < n; i++) {
            int j = i + rnd.nextInt(copy.size() - i);
            T t = copy.get(i);
            copy.set(i, copy.get(j));
            copy.set(j, t);
        }
        return new ArrayList<>(copy.subList(0, n));
    }

    static <T> void shuffle(List<T> l, SplittableRandom r) {
        for (int i = l.size() - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            T t = l.get(i);
            l.set(i, l.get(j));
            l.set(j, t);
        }
    }
}
