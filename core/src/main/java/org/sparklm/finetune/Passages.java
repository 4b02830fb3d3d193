package org.sparklm.finetune;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.sparklm.UsageException;
import org.sparklm.config.CommandLine;
import org.sparklm.config.Opt;
import org.sparklm.io.Json;

/**
 * {@code make-passages}: a labelled classification set from a corpus with a line-aligned label file (such as the
 * bundled Brown corpus and its genres), split so that pretraining can exclude the evaluation examples. Consecutive
 * lines of one group (a Brown file) form a passage, labelled by the group's label; whole groups are held out for
 * evaluation (a seeded share of each label's groups, at least one), so no evaluation passage shares a document with
 * a training passage or with the pretraining text.
 *
 * <p>Writes {@code train.tsv} and {@code eval.tsv} ({@code label<TAB>passage}, in a seeded order), and
 * {@code pretrain.txt} (every line of the training groups: the unlabelled text to pretrain on), plus
 * {@code passages.json} (counts per label and split).
 */
public final class Passages {

    /** The command's options. */
    public record Config(
        @Opt(metavar = "FILE", help = "the corpus: one sentence (or paragraph) per line", required = true)
        String text,
        @Opt(metavar = "FILE", help = "a TSV with a header, one row per line of --text", required = true)
        String labels,
        @Opt(metavar = "NAME", help = "the column of the label")
        String labelColumn,
        @Opt(metavar = "NAME", help = "the column naming the document a line belongs to (passages never cross it)")
        String groupColumn,
        @Opt(metavar = "N", help = "lines per passage (the last passage of a document may be shorter)", min = 1,
            max = 1000)
        int lines,
        @Opt(metavar = "F", help = "share of each label's documents held out for evaluation", min = 0.01, max = 0.9)
        double evalFraction,
        @Opt(metavar = "S", help = "seed of the split and of the order")
        long seed,
        @Opt(metavar = "DIR", help = "output directory (must not exist unless --overwrite)", required = true)
        String output,
        @Opt(help = "replace an existing output directory")
        boolean overwrite) {
        public static final Config DEFAULTS = new Config(null, null, "genre", "file", 5, 0.2, 1234, null, false);
    }

    public static CommandLine<Config> commandLine() {
        return CommandLine.of(Config.class, Config.DEFAULTS, "make-passages",
            "Makes a labelled passage-classification set (train.tsv, eval.tsv) and the unlabelled pretraining text"
                + " without the evaluation documents (pretrain.txt) from a corpus with a line-aligned label file,"
                + " e.g. data/brown/brown.txt and brown.labels.tsv (genres). Runs in a plain JVM.");
    }

    private Passages() {
    }

    /** A passage: its label, document and text. */
    record Passage(String label, String group, String text) {
    }

    public static int run(String[] args, PrintStream out) throws IOException {
        Config c = commandLine().parseOrHelp(args, out);
        if (c == null) {
            return 0;
        }
        Path outDir = Path.of(c.output());
        if (Files.exists(outDir) && !c.overwrite()) {
            throw new UsageException("make-passages: output " + outDir + " already exists (use --overwrite)");
        }
        List<String> text = Files.readAllLines(Path.of(c.text()), StandardCharsets.UTF_8);
        List<String> rows = Files.readAllLines(Path.of(c.labels()), StandardCharsets.UTF_8);
        if (rows.isEmpty()) {
            throw new UsageException("make-passages: " + c.labels() + " is empty");
        }
        List<String> header = List.of(rows.get(0).split("\t", -1));
        int li = header.indexOf(c.labelColumn());
        int gi = header.indexOf(c.groupColumn());
        if (li < 0 || gi < 0) {
            throw new UsageException("make-passages: " + c.labels() + " has no column '" + (li < 0 ? c.labelColumn()
                : c.groupColumn()) + "' (columns: " + String.join(", ", header) + ")");
        }
        if (rows.size() - 1 != text.size()) {
            throw new UsageException("make-passages: " + c.labels() + " has " + (rows.size() - 1) + " rows, "
                + c.text() + " " + text.size() + " lines: they must be line-aligned");
        }
        // documents in order of appearance, with their label and lines
        Map<String, String> labelOf = new LinkedHashMap<>();
        Map<String, List<String>> linesOf = new LinkedHashMap<>();
        for (int i = 0; i < text.size(); i++) {
            String[] r = rows.get(i + 1).split("\t", -1);
            String g = r[gi];
            String l = r[li];
            String prev = labelOf.putIfAbsent(g, l);
            if (prev != null && !prev.equals(l)) {
                throw new UsageException("make-passages: document " + g + " has two labels, " + prev + " and " + l);
            }
            linesOf.computeIfAbsent(g, k -> new ArrayList<>()).add(text.get(i));
        }
        // held-out documents: a seeded share of each label's documents, at least one
        Map<String, List<String>> byLabel = new TreeMap<>();
        labelOf.forEach((g, l) -> byLabel.computeIfAbsent(l, k -> new ArrayList<>()).add(g));
        SplittableRandom rnd = new SplittableRandom(c.seed());
        java.util.Set<String> held = new java.util.HashSet<>();
        for (List<String> docs : byLabel.values()) {
            List<String> shuffled = new ArrayList<>(docs);
            shuffle(shuffled, rnd);
            int n = Math.max(1, (int) Math.round(c.evalFraction() * docs.size()));
            if (n >= docs.size()) {
                n = docs.size() - 1;
            }
            held.addAll(shuffled.subList(0, Math.max(0, n)));
        }
        List<Passage> train = new ArrayList<>();
        List<Passage> eval = new ArrayList<>();
        List<String> pretrain = new ArrayList<>();
        for (Map.Entry<String, List<String>> e : linesOf.entrySet()) {
            boolean isEval = held.contains(e.getKey());
            List<String> ls = e.getValue();
            if (!isEval) {
                pretrain.addAll(ls);
            }
            for (int i = 0; i < ls.size(); i += c.lines()) {
                String passage = String.join(" ", ls.subList(i, Math.min(ls.size(), i + c.lines())))
                    .replace('\t', ' ');
                (isEval ? eval : train).add(new Passage(labelOf.get(e.getKey()), e.getKey(), passage));
            }
        }
        shuffle(train, rnd);
        shuffle(eval, rnd);
        Files.createDirectories(outDir);
        write(outDir.resolve("train.tsv"), train);
        write(outDir.resolve("eval.tsv"), eval);
        Files.write(outDir.resolve("pretrain.txt"), pretrain, StandardCharsets.UTF_8);
        var summary = Json.object();
        summary.put("train_passages", train.size());
        summary.put("eval_passages", eval.size());
        summary.put("eval_documents", held.size());
        summary.put("pretrain_lines", pretrain.size());
        var per = summary.putObject("per_label");
        for (String l : byLabel.keySet()) {
            var o = per.putObject(l);
            o.put("train", train.stream().filter(p -> p.label().equals(l)).count());
            o.put("eval", eval.stream().filter(p -> p.label().equals(l)).count());
        }
        Files.writeString(outDir.resolve("passages.json"), Json.pretty().writeValueAsString(summary) + "\n");
        out.println("make-passages: " + train.size() + " training and " + eval.size() + " evaluation passages ("
            + byLabel.size() + " labels; " + held.size() + " documents held out), " + pretrain.size()
            + " pretraining lines in " + outDir);
        return 0;
    }

    private static void write(Path f, List<Passage> ps) throws IOException {
        try (BufferedWriter w = Files.newBufferedWriter(f, StandardCharsets.UTF_8)) {
            for (Passage p : ps) {
                w.write(p.label());
                w.write('\t');
                w.write(p.text());
                w.write('\n');
            }
        }
    }

    private static <T> void shuffle(List<T> l, SplittableRandom r) {
        for (int i = l.size() - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            T t = l.get(i);
            l.set(i, l.get(j));
            l.set(j, t);
        }
    }
}
