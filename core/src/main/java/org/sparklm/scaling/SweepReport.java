package org.sparklm.scaling;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.sparklm.io.AtomicOutput;
import org.sparklm.io.Json;
import org.sparklm.report.HtmlReport;
import org.sparklm.report.SvgChart;

/**
 * What a sweep writes besides its runs: {@code law.json} (the fitted law, the fit's details and the IsoFLOP minima;
 * {@code plan --law} reads it), {@code sweep.json} (every run) and {@code report.html} (charts through
 * {@link SvgChart}). See docs/FORMATS.md.
 */
public final class SweepReport {
    public static final String LAW_FILE = "law.json";
    public static final String SWEEP_FILE = "sweep.json";
    public static final String REPORT_FILE = "report.html";

    private SweepReport() {
    }

    /** The analysis of the finished runs. */
    public record Analysis(List<SweepTrainer.RunResult> runs, LawFit.Result fit, IsoFlop.Result isoflop,
                           String fitError) {
        public List<SweepTrainer.RunResult> ok() {
            return runs.stream().filter(SweepTrainer.RunResult::ok).toList();
        }

        public List<SweepTrainer.RunResult> failed() {
            return runs.stream().filter(r -> !r.ok()).toList();
        }
    }

    /** Fits the law to the runs that finished (approach 3) and finds the IsoFLOP minima (approach 2). */
    public static Analysis analyse(List<SweepTrainer.RunResult> runs, double isoflopTolerance) {
        List<LawFit.Observation> obs = runs.stream().filter(SweepTrainer.RunResult::ok)
            .map(SweepTrainer.RunResult::observation).toList();
        LawFit.Result fit = null;
        String error = null;
        if (obs.size() >= 5) {
            try {
                fit = LawFit.fit(obs, "sweep fit");
            } catch (IllegalStateException e) {
                error = e.getMessage();
            }
        } else {
            error = "fitting L(N, D) needs at least 5 finished runs, got " + obs.size();
        }
        IsoFlop.Result iso = IsoFlop.analyse(obs, isoflopTolerance);
        return new Analysis(runs, fit, iso, error);
    }

    /** law.json: the law's constants (ScalingLaw#toJson), the fit, the IsoFLOP minima. Null when there is no fit. */
    public static ObjectNode lawJson(Analysis a) {
        if (a.fit() == null) {
            return null;
        }
        ObjectNode o = a.fit().law().toJson();
        ObjectNode fit = o.putObject("fit");
        fit.put("method", "Hoffmann et al. 2022 approach 3: Huber (delta " + LawFit.DELTA + ") on log loss, L-BFGS"
            + " from a grid of starts");
        fit.put("objective", a.fit().objective());
        fit.put("starts", a.fit().starts());
        fit.put("converged_starts", a.fit().converged());
        fit.put("runs", a.ok().size());
        ArrayNode res = fit.putArray("residuals");
        List<SweepTrainer.RunResult> ok = a.ok();
        for (int i = 0; i < ok.size(); i++) {
            ObjectNode r = res.addObject();
            r.put("run", ok.get(i).name());
            r.put("log_residual", a.fit().residuals()[i]);
        }
        o.set("isoflop", isoflopJson(a.isoflop(), a.fit().law()));
        return o;
    }

    static ObjectNode isoflopJson(IsoFlop.Result iso, ScalingLaw law) {
        ObjectNode o = Json.object();
        o.put("method", "Hoffmann et al. 2022 approach 2: a parabola of loss in log N per IsoFLOP profile");
        o.put("n_opt_exponent", Double.isFinite(iso.exponent()) ? iso.exponent() : null);
        o.put("n_opt_coefficient", Double.isFinite(iso.coefficient()) ? iso.coefficient() : null);
        ArrayNode ps = o.putArray("profiles");
        for (IsoFlop.Profile p : iso.profiles()) {
            ObjectNode j = ps.addObject();
            j.put("flops", p.flops());
            j.put("runs", p.runs().size());
            if (p.optimalParameters() != null) {
                j.put("n_opt", p.optimalParameters());
                j.put("d_opt", p.optimalTokens());
                j.put("tokens_per_parameter", p.optimalTokens() / p.optimalParameters());
                j.put("min_loss", p.minimumLoss());
            } else {
                j.putNull("n_opt");
            }
            if (law != null) {
                j.put("law_tokens_per_parameter", law.optimalTokensPerParameter(p.flops()));
            }
        }
        return o;
    }

    /**
     * Writes law.json (when the law was fitted), sweep.json and report.html into {@code out}, as {@code sweep} and
     * {@code fit-law} both do; returns law.json, or null when there is no fit.
     *
     * @param config the configuration recorded in sweep.json (the sweep's options; fit-law: the sweeps it read)
     */
    public static ObjectNode write(AtomicOutput out, JsonNode config, Analysis a, String title) throws IOException {
        ObjectNode law = lawJson(a);
        if (law != null) {
            out.write(LAW_FILE, Json.pretty().writeValueAsBytes(law));
        }
        out.write(SWEEP_FILE, Json.pretty().writeValueAsBytes(sweepJson(config, a)));
        out.write(REPORT_FILE, html(title, a, Instant.now().toString()).getBytes(StandardCharsets.UTF_8));
        return law;
    }

    /** sweep.json: the configuration (fit-law: the sweeps it read) and every run, failed ones with their error. */
    public static ObjectNode sweepJson(JsonNode config, Analysis a) {
        ObjectNode o = Json.object();
        o.put("n_definition", Scaling.N_DEFINITION);
        o.set("config", config);
        o.put("runs_total", a.runs().size());
        o.put("runs_failed", a.failed().size());
        ArrayNode runs = o.putArray("runs");
        for (SweepTrainer.RunResult r : a.runs()) {
            ObjectNode j = Json.MAPPER.valueToTree(r);
            j.put("flops", Scaling.flops(r.parameters(), r.tokens()));
            j.put("ok", r.ok());
            runs.add(j);
        }
        if (a.fitError() != null) {
            o.put("fit_error", a.fitError());
        }
        return o;
    }

    /** The title of a sweep's report.html. */
    public static String title(SweepConfig c, Analysis a) {
        return "sparklm sweep: " + a.runs().size() + " runs, " + c.sizes().size() + " sizes x "
            + c.tokensPerParam().size() + " token budgets";
    }

    /** report.html with its title. */
    public static String html(String title, Analysis a, String generated) {
        StringBuilder h = HtmlReport.page(title, "body{font-family:sans-serif;max-width:960px;margin:2em auto;"
            + "color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
            + "text-align:right}th{background:#f3f3f3}.failed{color:#b00}.generated{color:#777}"
            + "svg text{font-size:12px}\n");
        h.append("<p class=\"generated\">Generated ").append(HtmlReport.esc(generated)).append(". N = ")
            .append(HtmlReport.esc(Scaling.N_DEFINITION)).append("; D = training tokens; C = 6 N D.</p>\n");
        ScalingLaw law = a.fit() == null ? null : a.fit().law();
        if (!a.failed().isEmpty()) {
            h.append("<p class=\"failed\">").append(a.failed().size()).append(" run(s) failed and are left out of the"
                + " fit: ");
            for (SweepTrainer.RunResult r : a.failed()) {
                h.append(HtmlReport.esc(r.name() + " (" + r.error() + ")")).append("; ");
            }
            h.append("</p>\n");
        }
        h.append("<h2>Fitted law</h2>\n");
        if (law == null) {
            h.append("<p class=\"failed\">No fit: ").append(HtmlReport.esc(a.fitError())).append("</p>\n");
        } else {
            h.append("<table><tr><th>law</th><th>E</th><th>A</th><th>B</th><th>alpha</th><th>beta</th>")
                .append("<th>N_opt &#8733; C^a</th><th>D_opt &#8733; C^b</th></tr>\n");
            for (ScalingLaw l : List.of(law, ScalingLaw.HOFFMANN, ScalingLaw.EPOCH)) {
                h.append("<tr><td>").append(HtmlReport.esc(l == law ? "this sweep" : l == ScalingLaw.HOFFMANN
                    ? "Chinchilla (Hoffmann et al. 2022, approach 3)" : "Besiroglu et al. 2024 refit"))
                    .append("</td>").append(td(l.e())).append(td(l.a())).append(td(l.b())).append(td(l.alpha()))
                    .append(td(l.beta())).append(td(l.parameterExponent())).append(td(l.tokenExponent()))
                    .append("</tr>\n");
            }
            h.append("</table>\n<p>Fit: Huber objective ").append(fmt(a.fit().objective())).append(" over ")
                .append(a.ok().size()).append(" runs, best of ").append(a.fit().starts()).append(" L-BFGS starts.");
            if (Double.isFinite(a.isoflop().exponent())) {
                h.append(" IsoFLOP minima (approach 2): N_opt &#8733; C^").append(fmt(a.isoflop().exponent()))
                    .append(".");
            }
            h.append("</p>\n");
        }
        h.append("<h2>Loss against parameters, per token budget</h2>\n");
        h.append(lossChart(a, law));
        h.append("<h2>IsoFLOP profiles and the efficient frontier</h2>\n");
        h.append(isoChart(a, law));
        h.append("<h2>Optimal tokens per parameter at each compute budget</h2>\n");
        h.append("<table><tr><th>compute C (FLOPs)</th><th>runs</th><th>IsoFLOP N_opt</th>")
            .append("<th>IsoFLOP D/N</th><th>fitted law D/N</th><th>Chinchilla D/N</th><th>Besiroglu D/N</th></tr>\n");
        for (IsoFlop.Profile p : a.isoflop().profiles()) {
            h.append("<tr>").append(td(p.flops())).append("<td>").append(p.runs().size()).append("</td>")
                .append(p.optimalParameters() == null ? "<td>no minimum</td><td>-</td>" : td(p.optimalParameters())
                    + td(p.optimalTokens() / p.optimalParameters()))
                .append(law == null ? "<td>-</td>" : td(law.optimalTokensPerParameter(p.flops())))
                .append(td(ScalingLaw.HOFFMANN.optimalTokensPerParameter(p.flops())))
                .append(td(ScalingLaw.EPOCH.optimalTokensPerParameter(p.flops()))).append("</tr>\n");
        }
        h.append("</table>\n<h2>Runs</h2>\n<table><tr><th>run</th><th>layers</th><th>d_model</th><th>N</th>")
            .append("<th>D</th><th>D/N</th><th>C</th><th>steps</th><th>val loss</th><th>law</th><th>tokens/s</th>")
            .append("<th>status</th></tr>\n");
        for (SweepTrainer.RunResult r : a.runs()) {
            h.append("<tr><td>").append(HtmlReport.esc(r.name())).append("</td><td>").append(r.layers())
                .append("</td><td>").append(r.dModel()).append("</td>").append(td(r.parameters())).append(td(r.tokens()))
                .append(td(r.parameters() > 0 ? (double) r.tokens() / r.parameters() : Double.NaN))
                .append(td(Scaling.flops(r.parameters(), r.tokens()))).append("<td>").append(r.steps()).append("</td>")
                .append(r.valLoss() == null ? "<td>-</td>" : td(r.valLoss()))
                .append(law == null || !r.ok() ? "<td>-</td>" : td(law.loss(r.parameters(), r.tokens())))
                .append(td(r.tokensPerSecond())).append(r.ok() ? "<td>ok</td>" : "<td class=\"failed\">"
                    + HtmlReport.esc(r.error()) + "</td>").append("</tr>\n");
        }
        h.append("</table>\n</body>\n</html>\n");
        return h.toString();
    }

    private static String lossChart(Analysis a, ScalingLaw law) {
        double[] window = lossWindow(a);
        Map<Double, List<SvgChart.Point>> byBudget = new TreeMap<>();
        double nMin = Double.POSITIVE_INFINITY;
        double nMax = 0;
        for (SweepTrainer.RunResult r : a.ok()) {
            byBudget.computeIfAbsent(r.tokensPerParam(), k -> new ArrayList<>()).add(new SvgChart.Point(
                r.parameters(), r.valLoss()));
            nMin = Math.min(nMin, r.parameters());
            nMax = Math.max(nMax, r.parameters());
        }
        List<SvgChart.Series> series = new ArrayList<>();
        int i = 0;
        for (Map.Entry<Double, List<SvgChart.Point>> e : byBudget.entrySet()) {
            String color = SvgChart.color(i);
            List<SvgChart.Point> pts = new ArrayList<>(e.getValue());
            pts.sort((p, q) -> Double.compare(p.x(), q.x()));
            String k = SweepGrid.trim(e.getKey());
            series.add(SvgChart.Series.line(k + " tokens/param", "b" + i, color, pts).withMarkers(true));
            if (law != null) {
                List<SvgChart.Point> fit = new ArrayList<>();
                for (double n : logRange(nMin / 1.5, nMax * 1.5, 60)) {
                    addIn(fit, n, law.loss(n, e.getKey() * n), window);
                }
                series.add(SvgChart.Series.line(i == 0 ? "fitted law (dashed)" : null, "f" + i, color, fit)
                    .asDashed());
            }
            i++;
        }
        return SvgChart.svg(new SvgChart.Spec("parameters N", "final validation loss (nats/token)", true, false, true,
            series)) + "\n";
    }

    private static String isoChart(Analysis a, ScalingLaw law) {
        double[] window = lossWindow(a);
        List<SvgChart.Series> series = new ArrayList<>();
        double nMin = Double.POSITIVE_INFINITY;
        double nMax = 0;
        for (SweepTrainer.RunResult r : a.ok()) {
            nMin = Math.min(nMin, r.parameters());
            nMax = Math.max(nMax, r.parameters());
        }
        int i = 0;
        double cMin = Double.POSITIVE_INFINITY;
        double cMax = 0;
        List<SvgChart.Point> minima = new ArrayList<>();
        for (IsoFlop.Profile p : a.isoflop().profiles()) {
            if (p.runs().size() < 2) {
                continue;
            }
            cMin = Math.min(cMin, p.flops());
            cMax = Math.max(cMax, p.flops());
            String color = SvgChart.color(i);
            List<SvgChart.Point> pts = new ArrayList<>();
            for (LawFit.Observation o : p.runs()) {
                pts.add(new SvgChart.Point(o.n(), o.loss()));
            }
            pts.sort((x, y) -> Double.compare(x.x(), y.x()));
            series.add(SvgChart.Series.points(String.format(Locale.ROOT, "C %.2e", p.flops()), "p" + i, color, pts));
            if (law != null) {
                List<SvgChart.Point> fit = new ArrayList<>();
                for (double n : logRange(nMin / 1.5, nMax * 1.5, 60)) {
                    addIn(fit, n, law.loss(n, p.flops() / (6 * n)), window);
                }
                series.add(SvgChart.Series.line(i == 0 ? "fitted law at that C (dashed)" : null, "pf" + i, color,
                    fit).asDashed());
            }
            if (p.optimalParameters() != null) {
                minima.add(new SvgChart.Point(p.optimalParameters(), p.minimumLoss()));
            }
            i++;
        }
        if (law != null && cMax > 0) {
            List<SvgChart.Point> frontier = new ArrayList<>();
            for (double c : logRange(cMin / 2, cMax * 2, 60)) {
                double n = law.optimalParameters(c);
                if (n >= nMin / 1.5 && n <= nMax * 1.5) {
                    addIn(frontier, n, law.optimalLoss(c), window);
                }
            }
            series.add(SvgChart.Series.line("efficient frontier (fitted law)", "frontier", "#000", frontier));
        }
        if (!minima.isEmpty()) {
            series.add(SvgChart.Series.points("IsoFLOP minima (approach 2)", "minima", "#000", minima));
        }
        if (series.isEmpty()) {
            return "<p>No IsoFLOP profile with two or more runs.</p>\n";
        }
        return SvgChart.svg(new SvgChart.Spec("parameters N", "final validation loss (nats/token)", true, false, true,
            series)) + "\n";
    }

    /** The observed losses' range widened by 10%: fitted curves are drawn only inside it, so they do not squash the data. */
    private static double[] lossWindow(Analysis a) {
        double lo = Double.POSITIVE_INFINITY;
        double hi = 0;
        for (SweepTrainer.RunResult r : a.ok()) {
            lo = Math.min(lo, r.valLoss());
            hi = Math.max(hi, r.valLoss());
        }
        return new double[] {lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo)};
    }

    private static void addIn(List<SvgChart.Point> pts, double x, double y, double[] window) {
        if (y >= window[0] && y <= window[1]) {
            pts.add(new SvgChart.Point(x, y));
        }
    }

    static List<Double> logRange(double lo, double hi, int points) {
        List<Double> out = new ArrayList<>();
        for (int k = 0; k < points; k++) {
            out.add(Math.exp(Math.log(lo) + (Math.log(hi) - Math.log(lo)) * k / (points - 1)));
        }
        return out;
    }

    private static String td(double v) {
        return "<td>" + fmt(v) + "</td>";
    }

    static String fmt(double v) {
        if (!Double.isFinite(v)) {
            return "-";
        }
        double m = Math.abs(v);
        return m != 0 && (m >= 1e5 || m < 1e-3) ? String.format(Locale.ROOT, "%.3e", v)
            : String.format(Locale.ROOT, "%.4g", v);
    }
}
