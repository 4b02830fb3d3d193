package org.sparklm.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.sparklm.io.AtomicCommit;
import org.sparklm.io.HadoopFiles;

/**
 * {@code report.html} of a training run: one self-contained page (no script, font, style sheet or image fetched;
 * the loss curves are inline SVG) with the summary (parameters, tokens seen against the compute-optimal budget,
 * final and best validation loss and perplexity), the loss curves (training and validation loss against tokens seen)
 * and the configuration. The markup is XHTML-compatible (it parses as XML) and every text is escaped.
 *
 * <p>The compute-optimal budget is about 20 training tokens per parameter (Hoffmann et al. 2022, "Training
 * Compute-Optimal Large Language Models", the Chinchilla paper), with the parameter count the caller gives.
 */
public final class HtmlReport {
    /** The file name under the run's output directory. */
    public static final String FILE = "report.html";
    /** Compute-optimal training tokens per parameter (Hoffmann et al. 2022). */
    public static final double TOKENS_PER_PARAMETER = 20.0;

    private static final int MAX_MARKERS = 200;
    private static final String TRAIN_COLOR = "#1f77b4";
    private static final String VAL_COLOR = "#d62728";

    private HtmlReport() {
    }

    /**
     * What the report shows.
     *
     * @param title      the page title (e.g. "sparklm pretrain: small, clm")
     * @param config     the resolved configuration, shown as a table (nested objects flattened to dotted keys)
     * @param parameters the model's parameter count
     * @param rounds     the metrics of every round, oldest first
     * @param generated  when the report was made, or null to leave it out
     */
    public record Input(String title, ObjectNode config, long parameters, List<RoundMetrics> rounds,
                        Instant generated) {
        public Input {
            if (parameters < 0) {
                throw new IllegalArgumentException("negative parameter count " + parameters);
            }
            rounds = List.copyOf(rounds);
            title = title == null ? "sparklm training report" : title;
        }
    }

    /** Renders the report and writes it to {@code runDir/report.html} (temporary file, then rename). */
    public static Path write(Configuration conf, String runDir, Input input) throws IOException {
        Path run = new Path(runDir);
        FileSystem fs = HadoopFiles.forWriting(conf, run);
        Path file = new Path(fs.makeQualified(run), FILE);
        byte[] page = render(input).getBytes(StandardCharsets.UTF_8);
        AtomicCommit.writeFile(fs, file, o -> o.write(page), true);
        return file;
    }

    /** The page as a string. */
    public static String render(Input in) {
        StringBuilder h = page(in.title(), CSS);
        if (in.generated() != null) {
            h.append("<p class=\"generated\">Generated ").append(esc(in.generated().toString())).append("</p>\n");
        }
        summary(h, in);
        h.append("<h2>Loss</h2>\n");
        h.append(lossChart(in.rounds()));
        rounds(h, in.rounds());
        h.append("<h2>Configuration</h2>\n");
        Map<String, String> flat = new LinkedHashMap<>();
        if (in.config() != null) {
            flatten("", in.config(), flat);
        }
        if (flat.isEmpty()) {
            h.append("<p>No configuration recorded.</p>\n");
        } else {
            h.append("<table class=\"config\">\n");
            for (Map.Entry<String, String> e : flat.entrySet()) {
                row(h, e.getKey(), e.getValue());
            }
            h.append("</table>\n");
        }
        h.append("</body>\n</html>\n");
        return h.toString();
    }

    private static void summary(StringBuilder h, Input in) {
        List<RoundMetrics> rs = in.rounds();
        RoundMetrics last = rs.isEmpty() ? null : rs.get(rs.size() - 1);
        long tokens = last == null ? 0 : last.tokens();
        double optimal = TOKENS_PER_PARAMETER * in.parameters();
        h.append("<h2>Summary</h2>\n");
        h.append("<p class=\"budget\">").append(esc(budgetSentence(tokens, in.parameters()))).append("</p>\n");
        h.append("<table class=\"summary\">\n");
        row(h, "parameters", group(in.parameters()) + " (" + MetricsLog.formatCount(in.parameters()) + ")");
        row(h, "tokens seen", group(tokens) + " (" + MetricsLog.formatCount(tokens) + ")");
        row(h, "compute-optimal tokens (20 per parameter)", group(Math.round(optimal)) + " ("
            + MetricsLog.formatCount(optimal) + ")");
        if (last == null) {
            row(h, "rounds", "none recorded");
            h.append("</table>\n");
            return;
        }
        row(h, "rounds", String.valueOf(rs.size()));
        row(h, "steps", last.step() + (last.totalSteps() > 0 ? " of " + last.totalSteps() : ""));
        row(h, "final training loss", MetricsLog.fixed(last.trainLoss(), 4));
        RoundMetrics finalVal = null;
        RoundMetrics bestVal = null;
        for (RoundMetrics r : rs) {
            if (r.valLoss() != null) {
                finalVal = r;
                if (Double.isFinite(r.valLoss()) && (bestVal == null || r.valLoss() < bestVal.valLoss())) {
                    bestVal = r;
                }
            }
        }
        if (finalVal == null) {
            row(h, "validation loss", "not computed");
        } else {
            row(h, "final validation loss", lossAndPpl(finalVal));
            row(h, "best validation loss", bestVal == null ? "none finite" : lossAndPpl(bestVal));
            if (finalVal.mlmAccuracy() != null) {
                row(h, "final masked-token accuracy", MetricsLog.fixed(100 * finalVal.mlmAccuracy(), 2) + "%");
            }
        }
        row(h, "training time", MetricsLog.formatDuration(last.elapsedSeconds()));
        if (last.elapsedSeconds() > 0) {
            row(h, "mean throughput", MetricsLog.fixed(last.tokens() / last.elapsedSeconds(), 0) + " tokens/s");
        }
        h.append("</table>\n");
    }

    private static String lossAndPpl(RoundMetrics r) {
        return MetricsLog.fixed(r.valLoss(), 4) + " (perplexity " + MetricsLog.fixed(r.valPerplexity(), 2)
            + ") at step " + r.step() + ", " + MetricsLog.formatCount(r.tokens()) + " tokens";
    }

    /**
     * The sentence comparing tokens seen with the compute-optimal budget, e.g. "The model saw 4.92M tokens, 13.3% of
     * the compute-optimal budget of 37.0M tokens (about 20 tokens per parameter for 1.85M parameters; Hoffmann et al.
     * 2022)."
     */
    public static String budgetSentence(long tokens, long parameters) {
        if (parameters <= 0) {
            return "The model saw " + MetricsLog.formatCount(tokens) + " tokens (parameter count unknown, so no "
                + "comparison with the compute-optimal budget).";
        }
        double optimal = TOKENS_PER_PARAMETER * parameters;
        double pct = 100.0 * tokens / optimal;
        String p = pct >= 100 ? MetricsLog.fixed(pct, 0) : pct >= 10 ? MetricsLog.fixed(pct, 1)
            : pct >= 0.1 || pct == 0 ? MetricsLog.fixed(pct, 2) : String.format(Locale.ROOT, "%.2g", pct);
        return "The model saw " + MetricsLog.formatCount(tokens) + " tokens, " + p
            + "% of the compute-optimal budget of " + MetricsLog.formatCount(optimal)
            + " tokens (about 20 tokens per parameter for " + MetricsLog.formatCount(parameters)
            + " parameters; Hoffmann et al. 2022).";
    }

    // ---------------------------------------------------------------- the chart

    /**
     * The loss chart as inline SVG: one {@code polyline} per unbroken run of finite values of a series (class
     * {@code train} or {@code val}); a non-finite loss breaks its line and is counted in a note below the chart;
     * rounds without a validation loss are simply absent from the validation series. A run of a single point is also
     * drawn as a marker, so a single round still shows.
     */
    static String lossChart(List<RoundMetrics> rounds) {
        return chart(rounds, Series.LOSS);
    }

    /**
     * What a chart of the rounds draws: the axes' labels, and the two series (a null value: no point that round).
     *
     * @param x       the horizontal position of a round (tokens or examples seen)
     */
    public record Series(String xLabel, String yLabel, String trainName, String valName,
                         java.util.function.ToDoubleFunction<RoundMetrics> x,
                         java.util.function.Function<RoundMetrics, Double> train,
                         java.util.function.Function<RoundMetrics, Double> val) {
        /** Training and validation loss against tokens seen. */
        public static final Series LOSS = new Series("tokens seen", "loss (nats per token)", "training loss",
            "validation loss", RoundMetrics::tokens, RoundMetrics::trainLoss, RoundMetrics::valLoss);
    }

    /** The workers' spread and the pseudo-gradient norm of each round, against tokens seen. */
    public static final Series DRIFT = new Series("tokens seen", "L2 distance",
        "workers' spread (RMS distance from their mean)", "pseudo-gradient norm |p - m|", RoundMetrics::tokens,
        r -> extraNumber(r, "worker_spread"), r -> extraNumber(r, "pseudo_gradient_norm"));

    /** A number of a round's extra fields ("NaN" and the infinities as written), or null when it is not recorded. */
    static Double extraNumber(RoundMetrics r, String key) {
        return r.extra() == null || !r.extra().has(key) ? null : r.extra().path(key).asDouble();
    }

    /**
     * The "Rounds" section, when the rounds record their timing ({@code compute_seconds} ...): where a round's time
     * went (medians over the rounds: the workers' training, their rebuilding of the network, the rest, which is the
     * averaging's overhead), the bytes a round sends and, with more than one worker, the chart of {@link #DRIFT}.
     * Nothing for rounds without these fields (metrics of earlier versions).
     */
    public static void rounds(StringBuilder h, List<RoundMetrics> rounds) {
        List<Double> total = new ArrayList<>();
        List<Double> compute = new ArrayList<>();
        List<Double> rebuild = new ArrayList<>();
        List<Double> rest = new ArrayList<>();
        Double bytes = null;
        boolean drift = false;
        for (RoundMetrics r : rounds) {
            Double c = extraNumber(r, "compute_seconds");
            Double b = extraNumber(r, "rebuild_seconds");
            Double o = extraNumber(r, "overhead_seconds");
            if (c != null && b != null && o != null) {
                total.add(r.seconds());
                compute.add(c);
                rebuild.add(b);
                rest.add(o);
            }
            Double sent = extraNumber(r, "bytes_per_round");
            bytes = sent != null ? sent : bytes;
            Double sp = extraNumber(r, "worker_spread");
            drift |= sp != null && sp > 0;
        }
        if (total.isEmpty()) {
            return;
        }
        double t = median(total);
        h.append("<h2>Rounds</h2>\n<table class=\"summary\">\n");
        row(h, "time per round (median of " + total.size() + ")", MetricsLog.fixed(t, 3) + " s");
        row(h, "workers training (compute_seconds)", secondsAndShare(median(compute), t));
        row(h, "workers rebuilding the network (rebuild_seconds)", secondsAndShare(median(rebuild), t));
        row(h, "broadcast, scheduling, aggregation, the driver's update (overhead_seconds)",
            secondsAndShare(median(rest), t));
        if (bytes != null) {
            row(h, "bytes sent per round", group(Math.round(bytes)) + " (" + MetricsLog.formatCount(bytes) + ")");
        }
        h.append("</table>\n");
        if (drift) {
            h.append("<p>How far each round moved: the workers' spread is their root-mean-square distance from"
                + " their mean, the pseudo-gradient the round's start minus that mean.</p>\n");
            h.append(chart(rounds, DRIFT));
        }
    }

    private static String secondsAndShare(double s, double total) {
        return MetricsLog.fixed(s, 3) + " s" + (total > 0 ? " (" + MetricsLog.fixed(100 * s / total, 1) + "%)" : "");
    }

    private static double median(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        java.util.Collections.sort(s);
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }

    /** A chart of the rounds as inline SVG, drawn as {@link #lossChart} describes. */
    public static String chart(List<RoundMetrics> rounds, Series spec) {
        List<List<SvgChart.Point>> train = new ArrayList<>();
        List<List<SvgChart.Point>> val = new ArrayList<>();
        int trainBad = 0;
        int valBad = 0;
        long firstBadStep = -1;
        List<SvgChart.Point> cur = null;
        List<SvgChart.Point> curVal = null;
        int valPoints = 0;
        for (RoundMetrics r : rounds) {
            double x = spec.x().applyAsDouble(r);
            Double tv = spec.train() == null ? null : spec.train().apply(r);
            if (tv != null && Double.isFinite(tv)) {
                if (cur == null) {
                    cur = new ArrayList<>();
                    train.add(cur);
                }
                cur.add(new SvgChart.Point(x, tv));
            } else if (tv != null) {
                cur = null;
                trainBad++;
                firstBadStep = firstBadStep < 0 ? r.step() : firstBadStep;
            }
            Double vv = spec.val().apply(r);
            if (vv != null) {
                if (Double.isFinite(vv)) {
                    if (curVal == null) {
                        curVal = new ArrayList<>();
                        val.add(curVal);
                    }
                    curVal.add(new SvgChart.Point(x, vv));
                    valPoints++;
                } else {
                    curVal = null;
                    valBad++;
                    firstBadStep = firstBadStep < 0 ? r.step() : firstBadStep;
                }
            }
        }
        if (train.isEmpty() && val.isEmpty()) {
            return "<p class=\"note\">" + esc(rounds.isEmpty() ? "No training round recorded."
                : "No finite loss value to plot.") + "</p>\n" + badNote(trainBad, valBad, firstBadStep);
        }
        StringBuilder s = new StringBuilder(SvgChart.svg(new SvgChart.Spec(spec.xLabel(), spec.yLabel(), false, false,
            true, List.of(
                new SvgChart.Series(spec.trainName(), "train", TRAIN_COLOR, train, true, false, false),
                new SvgChart.Series(spec.valName(), "val", VAL_COLOR, val, true, valPoints <= MAX_MARKERS,
                    false)))));
        if (val.isEmpty() && valBad == 0) {
            s.append("<p class=\"note\">").append(esc("No " + spec.valName() + " was computed.")).append("</p>\n");
        }
        s.append(badNote(trainBad, valBad, firstBadStep));
        return s.toString();
    }

    private static String badNote(int trainBad, int valBad, long firstBadStep) {
        if (trainBad == 0 && valBad == 0) {
            return "";
        }
        List<String> parts = new ArrayList<>();
        if (trainBad > 0) {
            parts.add(trainBad + " training loss" + (trainBad == 1 ? "" : "es"));
        }
        if (valBad > 0) {
            parts.add(valBad + " validation loss" + (valBad == 1 ? "" : "es"));
        }
        String text = "Not drawn: " + String.join(" and ", parts) + (trainBad + valBad == 1 ? " that is" : " that are")
            + " NaN or infinite (the first at step " + firstBadStep + "); the lines are broken there.";
        return "<p class=\"note warning\">" + esc(text) + "</p>\n";
    }

    // ---------------------------------------------------------------- helpers

    static void row(StringBuilder h, String key, String value) {
        h.append("<tr><th>").append(esc(key)).append("</th><td>").append(esc(value)).append("</td></tr>\n");
    }

    static void flatten(String prefix, JsonNode node, Map<String, String> out) {
        if (node.isObject()) {
            if (node.isEmpty() && !prefix.isEmpty()) {
                out.put(prefix, "{}");
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                flatten(prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey(), e.getValue(), out);
            }
        } else if (node.isValueNode()) {
            out.put(prefix, node.isNull() ? "null" : node.asText());
        } else {
            out.put(prefix, node.toString()); // arrays: compact JSON
        }
    }

    static String group(long n) {
        return String.format(Locale.ROOT, "%,d", n).replace(',', ' ');
    }

    /**
     * The start of a report page: the XHTML head with {@code title} and the style sheet {@code css}, then the body
     * up to its {@code <h1>} heading; the caller appends the rest and closes the body and the html element.
     */
    public static StringBuilder page(String title, String css) {
        StringBuilder h = new StringBuilder(1 << 14);
        h.append("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n")
            .append("<meta charset=\"utf-8\"/>\n<title>").append(esc(title)).append("</title>\n")
            .append("<style>\n").append(css).append("</style>\n</head>\n<body>\n");
        h.append("<h1>").append(esc(title)).append("</h1>\n");
        return h;
    }

    /**
     * Escapes text for XHTML content and attribute values: {@code & < > " '} become entities, and characters XML
     * cannot hold (control characters other than tab, line feed and carriage return, unpaired surrogates, U+FFFE,
     * U+FFFF) become U+FFFD.
     */
    public static String esc(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> b.append("&amp;");
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> {
                    if (Character.isHighSurrogate(c) && i + 1 < s.length()
                        && Character.isLowSurrogate(s.charAt(i + 1))) {
                        b.append(c).append(s.charAt(++i));
                    } else if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || Character.isSurrogate(c)
                        || c == 0xFFFE || c == 0xFFFF) {
                        b.append('\uFFFD');
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.toString();
    }

    static final String CSS = """
        body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto;
               max-width: 60em; padding: 0 1em; color: #222222; }
        h1 { font-size: 1.5em; }
        h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #dddddd; }
        table { border-collapse: collapse; }
        th, td { text-align: left; padding: 0.2em 0.8em 0.2em 0; vertical-align: top; }
        th { font-weight: 600; }
        table.config td { font-family: ui-monospace, Menlo, Consolas, monospace; white-space: pre-wrap;
                          word-break: break-all; }
        .generated, .note { color: #666666; }
        .warning { color: #a94400; }
        svg.chart { max-width: 100%; height: auto; font-size: 12px; }
        svg.chart .grid { stroke: #eeeeee; }
        svg.chart .tick { stroke: #666666; }
        svg.chart text { fill: #333333; }
        """;
}
