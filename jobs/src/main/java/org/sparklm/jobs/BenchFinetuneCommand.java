package org.sparklm.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.sparklm.UsageException;
import org.sparklm.config.CommandLine;
import org.sparklm.config.Opt;
import org.sparklm.finetune.FinetuneConfig;
import org.sparklm.io.Json;
import org.sparklm.report.SvgChart;

/**
 * {@code bench-finetune}: label efficiency. For several numbers of labelled training examples (about N lines of a
 * shuffled training file such as make-passages' {@code train.tsv}, stratified by label with at least one of each), fine-tunes the pretrained model with every
 * method and trains the same architecture from scratch, then evaluates all of them on the same held-out set. Prints
 * JSON (accuracy, macro-F1, trainable parameters, seconds per epoch and bytes per round of every run) and writes it
 * with a table to {@code --output}.
 *
 * <pre>deploy/bin/bench --master local[2] finetune --checkpoint runs/le/model --train runs/le/genres/train.tsv \
 *   --eval runs/le/genres/eval.tsv --output runs/le/bench</pre>
 *
 * Epochs depend on the number of examples ({@code clamp(round(--example-epochs / N), --min-epochs, --max-epochs)}), so
 * small sets get about as many steps as large ones need, as in label-efficiency studies.
 */
public final class BenchFinetuneCommand {
    private BenchFinetuneCommand() {
    }

    /** The benchmark's options. */
    record Config(
        @Opt(metavar = "DIR", help = "the pretrained model (checkpoint or pretraining run directory)", required = true)
        String checkpoint,
        @Opt(metavar = "FILE", help = "shuffled labelled training text (label<TAB>text)", required = true)
        String train,
        @Opt(metavar = "FILE", help = "held-out labelled text (label<TAB>text)", required = true)
        String eval,
        @Opt(metavar = "DIR", help = "where the runs, bench.json and bench.html go (must not exist unless"
            + " --overwrite)", required = true)
        String output,
        @Opt(metavar = "N,...", help = "numbers of training examples (0: all)", min = 0, max = Integer.MAX_VALUE,
            distinct = true)
        List<Integer> sizes,
        @Opt(help = "methods fine-tuned from the pretrained model", distinct = true)
        List<FinetuneConfig.Method> methods,
        @Opt(help = "methods trained from a random initialisation of the same architecture (\"\": none)",
            distinct = true)
        List<FinetuneConfig.Method> scratch,
        @Opt(metavar = "N", help = "epochs are about this many examples over N", min = 1)
        double exampleEpochs,
        @Opt(metavar = "E", help = "fewest epochs", min = 0.01)
        double minEpochs,
        @Opt(metavar = "E", help = "most epochs", min = 0.01)
        double maxEpochs,
        @Opt(metavar = "LIST", help = "extra finetune options for every run, comma-separated (e.g. --workers,2)")
        String extra,
        @Opt(metavar = "S", help = "seed of every run")
        long seed,
        @Opt(help = "replace an existing output directory")
        boolean overwrite) implements CommandLine.Checked {
        static final Config DEFAULTS = new Config(null, null, null, null, List.of(100, 300, 1000, 0),
            List.of(FinetuneConfig.Method.values()), List.of(FinetuneConfig.Method.FULL, FinetuneConfig.Method.HEAD),
            3000, 3, 30, "", 1234, false);

        Config {
            sizes = sizes == null ? List.of() : List.copyOf(sizes);
            methods = methods == null ? List.of() : List.copyOf(methods);
            scratch = scratch == null ? List.of() : List.copyOf(scratch);
        }

        @Override
        public void check() {
            if (sizes.isEmpty()) {
                throw new IllegalArgumentException("--sizes needs at least one number of examples");
            }
            if (methods.isEmpty() && scratch.isEmpty()) {
                throw new IllegalArgumentException("--methods and --scratch are both empty: nothing to run");
            }
        }
    }

    /**
     * The number of examples each of {@code sizes} trains on (0, or more than the file has: all of them), in the
     * order given. Two sizes that mean the same number would train the same runs twice: that is an error.
     */
    static List<Integer> counts(List<Integer> sizes, int lines, String train) {
        Map<Integer, Integer> counts = new LinkedHashMap<>();
        for (int n : sizes) {
            int count = n <= 0 || n > lines ? lines : n;
            Integer before = counts.putIfAbsent(count, n);
            if (before != null) {
                throw new UsageException("bench-finetune: --sizes " + before + " and " + n + " both mean all "
                    + lines + " examples of " + train + "; give each size once");
            }
        }
        return List.copyOf(counts.keySet());
    }

    static CommandLine<Config> commandLine() {
        return CommandLine.of(Config.class, Config.DEFAULTS, "bench-finetune",
            "Label efficiency: fine-tunes a pretrained model with every method, and the same architecture from"
                + " scratch, on several numbers of labelled examples; evaluates all on the same held-out set; prints"
                + " JSON.");
    }

    public static void main(String[] args) throws Exception {
        Config c = commandLine().parseOrHelp(args, System.out);
        if (c == null) {
            return;
        }
        Path out = Path.of(c.output());
        if (Files.exists(out) && !c.overwrite()) {
            throw new UsageException("bench-finetune: " + out + " already exists (use --overwrite)");
        }
        List<String> lines = Files.readAllLines(Path.of(c.train()), StandardCharsets.UTF_8);
        List<Integer> counts = counts(c.sizes(), lines.size(), c.train());
        Files.createDirectories(out);
        SparkConf conf = new SparkConf().setAppName("sparklm bench-finetune");
        JobSupport.defaults(conf);
        ObjectNode result = Json.object();
        ArrayNode runs = result.putArray("runs");
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            for (int count : counts) {
                Path subset = out.resolve("train-" + count + ".tsv");
                Files.write(subset, stratified(lines, count), StandardCharsets.UTF_8);
                double epochs = Math.max(c.minEpochs(), Math.min(c.maxEpochs(), Math.round(c.exampleEpochs() / count)));
                for (String init : List.of("pretrained", "scratch")) {
                    List<FinetuneConfig.Method> list = init.equals("pretrained") ? c.methods() : c.scratch();
                    for (String method : list.stream().map(FinetuneConfig.Method::key).toList()) {
                        String name = method + "-" + init + "-" + count;
                        List<String> a = new ArrayList<>(List.of("--checkpoint", c.checkpoint(), "--train",
                            subset.toString(), "--val", c.eval(), "--format", "tsv", "--output",
                            out.resolve(name).toString(), "--method", method, "--init", init, "--epochs",
                            Double.toString(epochs), "--seed", Long.toString(c.seed()), "--overwrite"));
                        if (!c.extra().isBlank()) {
                            a.addAll(Arrays.asList(c.extra().split(",")));
                        }
                        FinetuneConfig fc = FinetuneConfig.commandLine().parse(a.toArray(String[]::new));
                        FinetuneJob.Result r = FinetuneJob.run(sc, fc);
                        JsonNode res = r.result();
                        ObjectNode o = runs.addObject();
                        o.put("name", name);
                        o.put("method", method);
                        o.put("init", init);
                        o.put("examples", res.path("data").path("train").path("examples").asInt());
                        o.put("epochs", epochs);
                        o.put("accuracy", res.path("final").path("val").path("accuracy").asDouble());
                        o.put("macro_f1", res.path("final").path("val").path("macro_f1").asDouble());
                        o.put("best_accuracy", res.path("best").path("val_accuracy").asDouble());
                        o.put("trainable_parameters", res.path("trainable_parameters").asLong());
                        o.put("trainable_fraction", res.path("trainable_fraction").asDouble());
                        o.put("bytes_per_round", res.path("bytes_per_round").asLong());
                        o.put("seconds_per_epoch", res.path("seconds_per_epoch").asDouble());
                        o.put("majority_class_accuracy", res.path("majority_class_accuracy").asDouble());
                        System.err.println(String.format(Locale.ROOT, "bench-finetune: %-22s acc %.4f F1 %.4f"
                                + " (%d trainable, %.1f s/epoch)", name, o.path("accuracy").asDouble(),
                            o.path("macro_f1").asDouble(), o.path("trainable_parameters").asLong(),
                            o.path("seconds_per_epoch").asDouble()));
                        Files.writeString(out.resolve("bench.json"), Json.pretty().writeValueAsString(result) + "\n");
                    }
                }
            }
        }
        Files.writeString(out.resolve("bench.json"), Json.pretty().writeValueAsString(result) + "\n");
        Files.writeString(out.resolve("bench.html"), table(result));
        System.out.println(Json.pretty().writeValueAsString(result));
    }

    /**
     * {@code n} of the lines, stratified by label: each label's share of the whole file, rounded, at least one (so
     * every label the evaluation set has is seen), taking each label's first lines; in file order.
     */
    static List<String> stratified(List<String> lines, int n) {
        if (n >= lines.size()) {
            return lines;
        }
        java.util.Map<String, List<Integer>> byLabel = new java.util.TreeMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i);
            int tab = l.indexOf('\t');
            byLabel.computeIfAbsent(tab < 0 ? "" : l.substring(0, tab), k -> new ArrayList<>()).add(i);
        }
        List<Integer> picked = new ArrayList<>();
        for (List<Integer> idx : byLabel.values()) {
            int k = (int) Math.max(1, Math.round((double) n * idx.size() / lines.size()));
            picked.addAll(idx.subList(0, Math.min(k, idx.size())));
        }
        java.util.Collections.sort(picked);
        List<String> out = new ArrayList<>();
        for (int i : picked) {
            out.add(lines.get(i));
        }
        return out;
    }

    /** A page with the accuracy table: one row per method and init, one column per number of examples. */
    static String table(ObjectNode result) {
        java.util.TreeSet<Integer> sizes = new java.util.TreeSet<>();
        java.util.LinkedHashMap<String, java.util.Map<Integer, JsonNode>> rows = new java.util.LinkedHashMap<>();
        for (JsonNode r : result.path("runs")) {
            sizes.add(r.path("examples").asInt());
            rows.computeIfAbsent(r.path("method").asText() + " (" + r.path("init").asText() + ")",
                k -> new java.util.HashMap<>()).put(r.path("examples").asInt(), r);
        }
        StringBuilder h = new StringBuilder("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\">\n<head>"
            + "<meta charset=\"utf-8\"/><title>sparklm bench-finetune</title></head>\n<body>\n"
            + "<h1>Label efficiency: validation accuracy (macro-F1)</h1>\n<table border=\"1\">\n<tr><th>method</th>");
        for (int n : sizes) {
            h.append("<th>").append(n).append(" labels</th>");
        }
        h.append("<th>trainable</th></tr>\n");
        rows.forEach((k, m) -> {
            h.append("<tr><th>").append(org.sparklm.report.HtmlReport.esc(k)).append("</th>");
            long trainable = 0;
            for (int n : sizes) {
                JsonNode r = m.get(n);
                h.append("<td>").append(r == null ? "" : String.format(Locale.ROOT, "%.3f (%.3f)",
                    r.path("accuracy").asDouble(), r.path("macro_f1").asDouble())).append("</td>");
                trainable = r == null ? trainable : r.path("trainable_parameters").asLong();
            }
            h.append("<td>").append(trainable).append("</td></tr>\n");
        });
        h.append("</table>\n<h2>Accuracy against the number of labels</h2>\n").append(chart(rows, result));
        h.append("</body>\n</html>\n");
        return h.toString();
    }

    /** Accuracy against labelled examples (log axis), one line per method and init, the majority class dashed. */
    private static String chart(java.util.Map<String, java.util.Map<Integer, JsonNode>> rows, ObjectNode result) {
        List<SvgChart.Series> series = new ArrayList<>();
        double majority = Double.NaN;
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        int i = 0;
        for (var row : rows.entrySet()) {
            List<SvgChart.Point> pts = new ArrayList<>();
            for (var e : new java.util.TreeMap<>(row.getValue()).entrySet()) {
                pts.add(new SvgChart.Point(e.getKey(), e.getValue().path("accuracy").asDouble()));
                majority = e.getValue().path("majority_class_accuracy").asDouble(majority);
                lo = Math.min(lo, e.getKey());
                hi = Math.max(hi, e.getKey());
            }
            series.add(SvgChart.Series.line(row.getKey(), "run", SvgChart.color(i++),
                pts).withMarkers(true));
        }
        if (Double.isFinite(majority) && lo <= hi) {
            series.add(SvgChart.Series.line("majority class", "majority", "#7f7f7f",
                List.of(new SvgChart.Point(lo, majority), new SvgChart.Point(hi, majority))).asDashed());
        }
        return SvgChart.svg(new SvgChart.Spec("labelled training examples", "validation accuracy", true, false,
            true, series));
    }
}
