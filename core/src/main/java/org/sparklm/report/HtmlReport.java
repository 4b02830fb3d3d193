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

    static final int WIDTH = 760;
    static final int HEIGHT = 380;
    private static final int LEFT = 70;
    private static final int RIGHT = 20;
    private static final int TOP = 20;
    private static final int BOTTOM = 52;
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
        StringBuilder h = new StringBuilder(1 << 14);
        h.append("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n")
            .append("<meta charset=\"utf-8\"/>\n<title>").append(esc(in.title())).append("</title>\n")
            .append("<style>\n").append(CSS).append("</style>\n</head>\n<body>\n");
        h.append("<h1>").append(esc(in.title())).append("</h1>\n");
        if (in.generated() != null) {
            h.append("<p class=\"generated\">Generated ").append(esc(in.generated().toString())).append("</p>\n");
        }
        summary(h, in);
        h.append("<h2>Loss</h2>\n");
        h.append(lossChart(in.rounds()));
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

    /** A data point of a series. */
    private record Point(double x, double y) {
    }

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

    /** A chart of the rounds as inline SVG, drawn as {@link #lossChart} describes. */
    public static String chart(List<RoundMetrics> rounds, Series spec) {
        List<List<Point>> train = new ArrayList<>();
        List<List<Point>> val = new ArrayList<>();
        int trainBad = 0;
        int valBad = 0;
        long firstBadStep = -1;
        List<Point> cur = null;
        List<Point> curVal = null;
        int valPoints = 0;
        for (RoundMetrics r : rounds) {
            double x = spec.x().applyAsDouble(r);
            Double tv = spec.train() == null ? null : spec.train().apply(r);
            if (tv != null && Double.isFinite(tv)) {
                if (cur == null) {
                    cur = new ArrayList<>();
                    train.add(cur);
                }
                cur.add(new Point(x, tv));
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
                    curVal.add(new Point(x, vv));
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
        double xmin = Double.POSITIVE_INFINITY;
        double xmax = Double.NEGATIVE_INFINITY;
        double ymin = Double.POSITIVE_INFINITY;
        double ymax = Double.NEGATIVE_INFINITY;
        for (List<List<Point>> series : List.of(train, val)) {
            for (List<Point> seg : series) {
                for (Point p : seg) {
                    xmin = Math.min(xmin, p.x());
                    xmax = Math.max(xmax, p.x());
                    ymin = Math.min(ymin, p.y());
                    ymax = Math.max(ymax, p.y());
                }
            }
        }
        Axis xa = Axis.of(xmin, xmax, true);
        Axis ya = Axis.of(ymin, ymax, false);
        int pw = WIDTH - LEFT - RIGHT;
        int ph = HEIGHT - TOP - BOTTOM;
        StringBuilder s = new StringBuilder();
        s.append("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"").append(WIDTH)
            .append("\" height=\"").append(HEIGHT).append("\" viewBox=\"0 0 ").append(WIDTH).append(' ')
            .append(HEIGHT).append("\" role=\"img\" aria-label=\"").append(esc(spec.yLabel() + " against "
                + spec.xLabel())).append("\">")
            .append('\n');
        s.append("<rect x=\"").append(LEFT).append("\" y=\"").append(TOP).append("\" width=\"").append(pw)
            .append("\" height=\"").append(ph).append("\" fill=\"#ffffff\" stroke=\"#999999\"/>\n");
        // grid, ticks and tick labels
        for (double t : xa.ticks()) {
            String x = num(LEFT + xa.frac(t) * pw);
            s.append("<line class=\"grid\" x1=\"").append(x).append("\" y1=\"").append(TOP).append("\" x2=\"")
                .append(x).append("\" y2=\"").append(TOP + ph).append("\"/>\n");
            s.append("<line class=\"tick\" x1=\"").append(x).append("\" y1=\"").append(TOP + ph).append("\" x2=\"")
                .append(x).append("\" y2=\"").append(TOP + ph + 5).append("\"/>\n");
            s.append("<text class=\"xtick\" x=\"").append(x).append("\" y=\"").append(TOP + ph + 18)
                .append("\" text-anchor=\"middle\">").append(esc(xa.label(t))).append("</text>\n");
        }
        for (double t : ya.ticks()) {
            String y = num(TOP + (1 - ya.frac(t)) * ph);
            s.append("<line class=\"grid\" x1=\"").append(LEFT).append("\" y1=\"").append(y).append("\" x2=\"")
                .append(LEFT + pw).append("\" y2=\"").append(y).append("\"/>\n");
            s.append("<line class=\"tick\" x1=\"").append(LEFT - 5).append("\" y1=\"").append(y).append("\" x2=\"")
                .append(LEFT).append("\" y2=\"").append(y).append("\"/>\n");
            s.append("<text class=\"ytick\" x=\"").append(LEFT - 8).append("\" y=\"").append(y)
                .append("\" text-anchor=\"end\" dominant-baseline=\"middle\">").append(esc(ya.label(t)))
                .append("</text>\n");
        }
        s.append("<text class=\"axis-label\" x=\"").append(LEFT + pw / 2).append("\" y=\"").append(HEIGHT - 10)
            .append("\" text-anchor=\"middle\">").append(esc(spec.xLabel())).append("</text>\n");
        s.append("<text class=\"axis-label\" x=\"16\" y=\"").append(TOP + ph / 2)
            .append("\" text-anchor=\"middle\" transform=\"rotate(-90 16 ").append(TOP + ph / 2)
            .append(")\">").append(esc(spec.yLabel())).append("</text>\n");
        // series
        series(s, "train", TRAIN_COLOR, train, xa, ya, pw, ph, false);
        series(s, "val", VAL_COLOR, val, xa, ya, pw, ph, valPoints <= MAX_MARKERS);
        // legend
        int lx = LEFT + pw - 150;
        int ly = TOP + 10;
        int entries = (train.isEmpty() ? 0 : 1) + (val.isEmpty() ? 0 : 1);
        s.append("<rect class=\"legend\" x=\"").append(lx).append("\" y=\"").append(ly).append("\" width=\"140\" ")
            .append("height=\"").append(8 + 18 * entries).append("\" fill=\"#ffffff\" fill-opacity=\"0.85\" ")
            .append("stroke=\"#cccccc\"/>\n");
        int row = 0;
        if (!train.isEmpty()) {
            legendEntry(s, lx, ly + 13 + 18 * row++, TRAIN_COLOR, spec.trainName());
        }
        if (!val.isEmpty()) {
            legendEntry(s, lx, ly + 13 + 18 * row, VAL_COLOR, spec.valName());
        }
        s.append("</svg>\n");
        if (val.isEmpty() && valBad == 0) {
            s.append("<p class=\"note\">").append(esc("No " + spec.valName() + " was computed.")).append("</p>\n");
        }
        s.append(badNote(trainBad, valBad, firstBadStep));
        return s.toString();
    }

    private static void series(StringBuilder s, String cls, String color, List<List<Point>> segments, Axis xa,
                               Axis ya, int pw, int ph, boolean markers) {
        for (List<Point> seg : segments) {
            s.append("<polyline class=\"").append(cls).append("\" fill=\"none\" stroke=\"").append(color)
                .append("\" stroke-width=\"1.8\" points=\"");
            for (int i = 0; i < seg.size(); i++) {
                Point p = seg.get(i);
                s.append(i == 0 ? "" : " ").append(num(LEFT + xa.frac(p.x()) * pw)).append(',')
                    .append(num(TOP + (1 - ya.frac(p.y())) * ph));
            }
            s.append("\"/>\n");
            if (markers || seg.size() == 1) {
                for (Point p : seg) {
                    s.append("<circle class=\"").append(cls).append("-marker\" cx=\"")
                        .append(num(LEFT + xa.frac(p.x()) * pw)).append("\" cy=\"")
                        .append(num(TOP + (1 - ya.frac(p.y())) * ph)).append("\" r=\"3\" fill=\"").append(color)
                        .append("\"/>\n");
                }
            }
        }
    }

    private static void legendEntry(StringBuilder s, int lx, int y, String color, String text) {
        s.append("<line x1=\"").append(lx + 8).append("\" y1=\"").append(y).append("\" x2=\"").append(lx + 32)
            .append("\" y2=\"").append(y).append("\" stroke=\"").append(color).append("\" stroke-width=\"2.5\"/>\n");
        s.append("<text class=\"legend-text\" x=\"").append(lx + 40).append("\" y=\"").append(y)
            .append("\" dominant-baseline=\"middle\">").append(esc(text)).append("</text>\n");
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

    /** A linear axis with "nice" ticks (1, 2 or 5 times a power of ten) covering the data. */
    record Axis(double lo, double hi, double step, boolean counts) {
        static Axis of(double min, double max, boolean counts) {
            if (min == max) {
                double pad = Math.max(Math.abs(min) * 0.1, counts ? 1 : 0.1);
                min -= pad;
                max += pad;
                if (counts && min < 0 && max - pad >= 0) {
                    min = 0;
                }
            }
            // the coarsest of three candidate steps (about 10, 4 and 2 intervals) that wastes at most a fifth of
            // the axis; the finest when none does
            double range = max - min;
            double step = nice(range / 10);
            for (double s = up(step), k = 0; k < 2; s = up(s), k++) {
                if (Math.ceil(max / s) * s - Math.floor(min / s) * s <= 1.2 * range) {
                    step = s;
                }
            }
            double lo = Math.floor(min / step) * step;
            double hi = Math.ceil(max / step) * step;
            if (hi - lo < step) {
                hi = lo + step;
            }
            return new Axis(lo, hi, step, counts);
        }

        /** The next nice step: 1 -> 2 -> 5 -> 10 times a power of ten. */
        private static double up(double step) {
            double p = Math.pow(10, Math.floor(Math.log10(step) + 1e-9));
            double f = Math.round(step / p);
            return (f < 2 ? 2 : f < 5 ? 5 : 10) * p;
        }

        static double nice(double raw) {
            double p = Math.pow(10, Math.floor(Math.log10(raw)));
            double f = raw / p;
            return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
        }

        List<Double> ticks() {
            List<Double> t = new ArrayList<>();
            long n = Math.round((hi - lo) / step);
            for (long i = 0; i <= n; i++) {
                t.add(lo + i * step);
            }
            return t;
        }

        double frac(double v) {
            return (v - lo) / (hi - lo);
        }

        String label(double v) {
            if (Math.abs(v) < step * 1e-9) {
                return "0";
            }
            double scale = 1;
            String suffix = "";
            double big = Math.max(Math.abs(lo), Math.abs(hi));
            if (counts) {
                if (big >= 1e9) {
                    scale = 1e9;
                    suffix = "B";
                } else if (big >= 1e6) {
                    scale = 1e6;
                    suffix = "M";
                } else if (big >= 1e4) {
                    scale = 1e3;
                    suffix = "k";
                }
            }
            int decimals = (int) Math.max(0, Math.min(6, -Math.floor(Math.log10(step / scale) + 1e-9)));
            return MetricsLog.fixed(v / scale, decimals) + suffix;
        }
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

    private static String num(double v) {
        return MetricsLog.fixed(v, 1);
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
