package org.sparklm.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.sparklm.io.AtomicCommit;
import org.sparklm.io.HadoopFiles;

/**
 * {@code report.html} of a fine-tuning run, self-contained like {@link HtmlReport}'s: the summary (method, trainable
 * and total parameters, final and best validation accuracy and macro-F1 against the majority class), the loss and
 * accuracy curves against examples seen, the confusion matrix and the per-class precision, recall and F1, and the
 * configuration.
 */
public final class FinetuneReport {

    private FinetuneReport() {
    }

    /**
     * What the report shows.
     *
     * @param title     page title
     * @param config    the run's configuration
     * @param result    result.json
     * @param labels    the classes
     * @param confusion the final confusion matrix (rows: true class)
     * @param rounds    the metrics of every round
     * @param generated when, or null
     */
    public record Input(String title, ObjectNode config, ObjectNode result, List<String> labels, long[][] confusion,
                        List<RoundMetrics> rounds, Instant generated) {
        public Input {
            rounds = List.copyOf(rounds);
            labels = List.copyOf(labels);
        }
    }

    static final HtmlReport.Series LOSS = new HtmlReport.Series("examples seen", "cross-entropy (nats per example)",
        "training loss", "validation loss", RoundMetrics::tokens, RoundMetrics::trainLoss, RoundMetrics::valLoss);
    static final HtmlReport.Series ACCURACY = new HtmlReport.Series("examples seen", "validation accuracy", "",
        "validation accuracy", RoundMetrics::tokens, null, r -> HtmlReport.extraNumber(r, "val_accuracy"));

    public static Path write(Configuration conf, String runDir, Input input) throws IOException {
        Path run = new Path(runDir);
        FileSystem fs = HadoopFiles.forWriting(conf, run);
        Path file = new Path(fs.makeQualified(run), HtmlReport.FILE);
        byte[] page = render(input).getBytes(StandardCharsets.UTF_8);
        AtomicCommit.writeFile(fs, file, o -> o.write(page), true);
        return file;
    }

    public static String render(Input in) {
        StringBuilder h = HtmlReport.page(in.title(),
            HtmlReport.CSS + "table.matrix td, table.matrix th { text-align: right; }\n");
        if (in.generated() != null) {
            h.append("<p class=\"generated\">Generated ").append(HtmlReport.esc(in.generated().toString()))
                .append("</p>\n");
        }
        JsonNode r = in.result();
        h.append("<h2>Summary</h2>\n<table class=\"summary\">\n");
        HtmlReport.row(h, "method", r.path("method").asText() + " (" + r.path("init").asText() + ", pooling "
            + r.path("pooling").asText() + ")");
        HtmlReport.row(h, "parameters", HtmlReport.group(r.path("parameters").asLong()));
        HtmlReport.row(h, "trainable parameters", HtmlReport.group(r.path("trainable_parameters").asLong()) + " ("
            + MetricsLog.fixed(100 * r.path("trainable_fraction").asDouble(), 3) + "%)");
        HtmlReport.row(h, "bytes sent per round", HtmlReport.group(r.path("bytes_per_round").asLong()));
        JsonNode fin = r.path("final").path("val");
        HtmlReport.row(h, "final validation accuracy", pct(fin.path("accuracy").asDouble()) + " (macro-F1 "
            + MetricsLog.fixed(fin.path("macro_f1").asDouble(), 4) + ", loss "
            + MetricsLog.fixed(r.path("final").path("val_loss").asDouble(), 4) + ")");
        if (r.has("best")) {
            JsonNode b = r.path("best");
            HtmlReport.row(h, "best validation accuracy", pct(b.path("val_accuracy").asDouble()) + " at step "
                + b.path("step").asLong() + " (macro-F1 " + MetricsLog.fixed(b.path("val_macro_f1").asDouble(), 4)
                + "; kept in best/)");
        }
        HtmlReport.row(h, "majority-class accuracy", pct(r.path("majority_class_accuracy").asDouble()));
        HtmlReport.row(h, "training examples", r.path("data").path("train").path("examples").asText() + " ("
            + r.path("data").path("train").path("truncated").asText() + " truncated, "
            + r.path("data").path("train").path("malformed").asText() + " malformed and "
            + r.path("data").path("train").path("blank").asText() + " blank lines skipped)");
        HtmlReport.row(h, "validation examples", r.path("data").path("val").path("examples").asText());
        HtmlReport.row(h, "time", MetricsLog.formatDuration(r.path("seconds").asDouble()) + " ("
            + MetricsLog.formatDuration(r.path("seconds_per_epoch").asDouble()) + " per epoch)");
        h.append("</table>\n");
        h.append("<h2>Loss</h2>\n").append(HtmlReport.chart(in.rounds(), LOSS));
        h.append("<h2>Validation accuracy</h2>\n").append(HtmlReport.chart(in.rounds(), ACCURACY));
        HtmlReport.rounds(h, in.rounds());

        h.append("<h2>Per class (final model)</h2>\n<table class=\"matrix\">\n<tr><th>class</th><th>support</th>")
            .append("<th>precision</th><th>recall</th><th>F1</th></tr>\n");
        JsonNode per = fin.path("per_class");
        for (String l : in.labels()) {
            JsonNode k = per.path(l);
            h.append("<tr><th>").append(HtmlReport.esc(l)).append("</th><td>").append(k.path("support").asLong())
                .append("</td><td>").append(MetricsLog.fixed(k.path("precision").asDouble(), 3)).append("</td><td>")
                .append(MetricsLog.fixed(k.path("recall").asDouble(), 3)).append("</td><td>")
                .append(MetricsLog.fixed(k.path("f1").asDouble(), 3)).append("</td></tr>\n");
        }
        h.append("</table>\n");
        h.append("<h2>Confusion matrix (rows: true class, columns: predicted)</h2>\n<table class=\"matrix\">\n")
            .append("<tr><th></th>");
        for (String l : in.labels()) {
            h.append("<th>").append(HtmlReport.esc(l)).append("</th>");
        }
        h.append("</tr>\n");
        for (int i = 0; i < in.confusion().length; i++) {
            h.append("<tr><th>").append(HtmlReport.esc(in.labels().get(i))).append("</th>");
            for (long c : in.confusion()[i]) {
                h.append("<td>").append(c).append("</td>");
            }
            h.append("</tr>\n");
        }
        h.append("</table>\n<h2>Configuration</h2>\n<table class=\"config\">\n");
        Map<String, String> flat = new LinkedHashMap<>();
        HtmlReport.flatten("", in.config(), flat);
        flat.forEach((k, v) -> HtmlReport.row(h, k, v));
        h.append("</table>\n</body>\n</html>\n");
        return h.toString();
    }

    private static String pct(double v) {
        return MetricsLog.fixed(100 * v, 2) + "%";
    }
}
