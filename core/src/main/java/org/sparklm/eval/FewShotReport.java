package org.sparklm.eval;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.sparklm.io.Json;
import org.sparklm.report.HtmlReport;
import org.sparklm.report.SvgChart;

/** The outputs of {@code evaluate-fewshot}: one JSON object per number of shots, results.json, report.html. */
public final class FewShotReport {
    public static final String RESULTS = "results.json";
    public static final String HTML = "report.html";

    private FewShotReport() {
    }

    /** A result as the JSON line printed for its number of shots (NaN figures as null). */
    public static ObjectNode resultJson(FewShotEvaluation.Result r, String task) {
        ObjectNode o = Json.object();
        o.put("task", task);
        o.put("shots", r.shots());
        o.put("type", r.type());
        o.put("examples", r.examples());
        o.put("skipped", r.skipped());
        put(o, "acc", r.acc());
        put(o, "acc_stderr", r.accStderr());
        if (r.multipleChoice()) {
            put(o, "acc_norm", r.accNorm());
            put(o, "acc_norm_stderr", r.accNormStderr());
            put(o, "chance", r.chance());
        }
        o.put("seconds", Math.round(r.seconds() * 1000) / 1000.0);
        o.put("forward_passes", r.forwardPasses());
        return o;
    }

    private static void put(ObjectNode o, String k, double v) {
        if (Double.isFinite(v)) {
            o.put(k, v);
        } else {
            o.putNull(k);
        }
    }

    /** results.json: the settings, the checkpoint and every number of shots. */
    public static ObjectNode resultsJson(FewShotConfig c, String checkpoint, long step, int context, int examples,
                                         int pool, List<FewShotEvaluation.Result> results) {
        ObjectNode o = Json.object();
        o.put("checkpoint", checkpoint);
        o.put("step", step);
        o.put("context_length", context);
        o.put("task", c.task());
        o.put("task_examples", examples);
        if (c.fewshotFile() == null) {
            o.putNull("fewshot_file");
        } else {
            o.put("fewshot_file", c.fewshotFile());
        }
        o.put("fewshot_pool", pool);
        o.put("seed", c.seed());
        o.put("limit", c.limit());
        o.put("target_delimiter", Prompts.TARGET_DELIMITER);
        o.put("fewshot_delimiter", Prompts.FEWSHOT_DELIMITER);
        ArrayNode a = o.putArray("results");
        for (FewShotEvaluation.Result r : results) {
            a.add(resultJson(r, c.task()));
        }
        return o;
    }

    /** report.html: accuracy against shots (with chance for multiple choice) and a table. */
    public static String html(FewShotConfig c, String checkpoint, long step, List<FewShotEvaluation.Result> results,
                              Instant generated) {
        List<FewShotEvaluation.Result> sorted = new ArrayList<>(results);
        sorted.sort((a, b) -> Integer.compare(a.shots(), b.shots()));
        boolean mc = !sorted.isEmpty() && sorted.get(0).multipleChoice();
        List<SvgChart.Point> acc = new ArrayList<>();
        List<SvgChart.Point> norm = new ArrayList<>();
        List<SvgChart.Point> chance = new ArrayList<>();
        for (FewShotEvaluation.Result r : sorted) {
            if (Double.isFinite(r.acc())) {
                acc.add(new SvgChart.Point(r.shots(), r.acc()));
            }
            if (mc && Double.isFinite(r.accNorm())) {
                norm.add(new SvgChart.Point(r.shots(), r.accNorm()));
            }
            if (mc && Double.isFinite(r.chance())) {
                chance.add(new SvgChart.Point(r.shots(), r.chance()));
            }
        }
        List<SvgChart.Series> series = new ArrayList<>();
        series.add(SvgChart.Series.line(mc ? "acc" : "exact match", "acc", SvgChart.PALETTE.get(0), acc)
            .withMarkers(true));
        if (mc) {
            series.add(SvgChart.Series.line("acc_norm", "accnorm", SvgChart.PALETTE.get(1), norm).withMarkers(true));
            series.add(SvgChart.Series.line("chance", "chance", "#888888", chance).asDashed());
        }
        String svg = SvgChart.svg(new SvgChart.Spec("demonstrations (shots)", mc ? "accuracy" : "exact match",
            false, false, false, series));
        String title = "Few-shot evaluation: " + c.task();
        StringBuilder h = HtmlReport.page(title, "body { font-family: sans-serif; margin: 2em; }\n"
            + "table { border-collapse: collapse; }\n"
            + "td, th { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }\n");
        h.append("<p>Generated ").append(HtmlReport.esc(generated.toString())).append(". Checkpoint ")
            .append(HtmlReport.esc(checkpoint)).append(" (step ").append(step).append("); demonstrations from ")
            .append(HtmlReport.esc(c.fewshotFile() == null ? "the task itself" : c.fewshotFile()))
            .append(", seed ").append(c.seed()).append(".</p>\n");
        h.append(svg).append('\n');
        h.append("<table>\n<tr><th>shots</th><th>examples</th><th>skipped</th><th>").append(mc ? "acc" : "exact match")
            .append("</th><th>stderr</th>");
        if (mc) {
            h.append("<th>acc_norm</th><th>chance</th>");
        }
        h.append("</tr>\n");
        for (FewShotEvaluation.Result r : sorted) {
            h.append("<tr><td>").append(r.shots()).append("</td><td>").append(r.examples()).append("</td><td>")
                .append(r.skipped()).append("</td><td>").append(fmt(r.acc())).append("</td><td>")
                .append(fmt(r.accStderr())).append("</td>");
            if (mc) {
                h.append("<td>").append(fmt(r.accNorm())).append("</td><td>").append(fmt(r.chance())).append("</td>");
            }
            h.append("</tr>\n");
        }
        h.append("</table>\n</body>\n</html>\n");
        return h.toString();
    }

    private static String fmt(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.4f", v) : "-";
    }
}
