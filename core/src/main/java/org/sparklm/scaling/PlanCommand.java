package org.sparklm.scaling;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.sparklm.UsageException;
import org.sparklm.io.Json;
import org.sparklm.model.TransformerConfig;

/**
 * {@code plan}: the compute-optimal N and D for a budget under a {@link ScalingLaw}, the nearest model of a
 * {@link ModelFamily}, its FLOPs per token and its wall time at a measured {@link Throughput}.
 *
 * <pre>
 *   deploy/bin/plan --flops 1e21 --law hoffmann
 *   deploy/bin/plan --hours 168 --workers 16 --run runs/quickstart/model --law runs/sweep/law.json
 * </pre>
 */
public final class PlanCommand {
    private PlanCommand() {
    }

    /** Runs the command; 0 on success (bad input is a {@link UsageException}). */
    public static int run(String[] args, PrintStream out) throws IOException {
        PlanConfig c = PlanConfig.commandLine().parseOrHelp(args, out);
        if (c == null) {
            return 0;
        }
        ObjectNode plan = plan(c, new Configuration());
        out.println(Json.pretty().writeValueAsString(plan));
        if (!c.json()) {
            out.print(table(plan));
        }
        return 0;
    }

    /** The plan as JSON (docs/FORMATS.md, "plan output"). */
    public static ObjectNode plan(PlanConfig c, Configuration conf) throws IOException {
        ScalingLaw law = ScalingLaw.named(conf, c.law());
        ModelFamily family = ModelFamily.load(conf, c.family());
        if (c.familyVocabSize() > 0) {
            family = family.withVocabSize(c.familyVocabSize());
        }
        Throughput tp = null;
        if (c.run() != null) {
            tp = Throughput.ofRun(conf, c.run());
        } else if (c.tokensPerS() > 0) {
            TransformerConfig m;
            try {
                m = TransformerConfig.load(c.model(), Map.of("vocab_size", Integer.toString(c.vocabSize())));
            } catch (IllegalArgumentException e) {
                throw new UsageException("--model: " + e.getMessage());
            }
            tp = new Throughput(c.tokensPerS(), m, 0, "--tokens-per-s");
        }
        ObjectNode budget = Json.object();
        double flops;
        if (c.flops() > 0) {
            flops = c.flops();
            budget.put("source", "--flops");
        } else if (c.hours() > 0) {
            // in the law's currency: the 6 N D the measured model would train in that time on W workers
            flops = c.hours() * 3600 * c.workers() * tp.tokensPerSecond() * 6.0 * Scaling.parameters(tp.model());
            budget.put("source", "--hours (6 N D of the measured model in that time)");
            budget.put("hours", c.hours());
        } else if (c.run() != null) {
            flops = Scaling.flops(Scaling.parameters(tp.model()), tp.runTokens());
            budget.put("source", "the compute of --run (6 N D)");
        } else {
            throw new UsageException("no budget: give --flops C, --hours H with --tokens-per-s R, or --run DIR");
        }
        if (!(flops > 0) || Double.isInfinite(flops)) {
            throw new UsageException("the compute budget must be positive and finite, got " + flops);
        }
        budget.put("flops", flops);
        budget.put("workers", c.workers());

        ObjectNode o = Json.object();
        o.put("n_definition", Scaling.N_DEFINITION);
        ObjectNode lawJson = law.toJson();
        lawJson.put("name", law.name());
        o.set("law", lawJson);
        o.set("budget", budget);
        double n = law.optimalParameters(flops);
        double d = law.optimalTokens(flops);
        ObjectNode opt = o.putObject("optimal");
        opt.put("parameters", n);
        opt.put("tokens", d);
        opt.put("tokens_per_parameter", d / n);
        opt.put("predicted_loss", law.loss(n, d));
        opt.put("flops_per_token_6n", 6 * n);

        ModelFamily.Member m = family.nearest(n);
        TransformerConfig mc = m.config();
        ObjectNode nm = o.putObject("nearest_model");
        nm.put("family", family.name());
        nm.put("name", m.name());
        nm.put("layers", mc.layers());
        nm.put("d_model", mc.dModel());
        nm.put("heads", mc.heads());
        nm.put("d_ff", mc.dFf());
        nm.put("context_length", mc.contextLength());
        nm.put("vocab_size", mc.vocabSize());
        nm.put("parameters", m.parameters());
        nm.put("parameters_with_embeddings", mc.parameterCount());
        double r = tp == null ? Double.NaN : tp.tokensPerSecondOn(mc);
        // with --hours, the tokens the model trains in that time; else the tokens of the compute budget
        double dm = c.hours() > 0 ? c.hours() * 3600 * c.workers() * r : flops / (6.0 * m.parameters());
        nm.put("tokens", dm);
        nm.put("tokens_per_parameter", dm / m.parameters());
        nm.put("predicted_loss", law.loss(m.parameters(), dm));
        ObjectNode fpt = nm.putObject("flops_per_token");
        fpt.put("dense_6n", mc.denseFlopsPerToken());
        fpt.put("attention_12ltd", mc.attentionFlopsPerToken());
        fpt.put("total", mc.trainingFlopsPerToken());
        fpt.put("attention_share", mc.attentionFlopsPerToken() / mc.trainingFlopsPerToken());
        if (tp != null) {
            o.set("throughput", tp.toJson());
            nm.put("tokens_per_s_per_worker", r);
            nm.put("wall_hours", dm / (r * c.workers()) / 3600);
        }
        return o;
    }

    /** The readable table printed after the JSON. */
    static String table(ObjectNode p) {
        StringBuilder s = new StringBuilder();
        var b = p.get("budget");
        var opt = p.get("optimal");
        var m = p.get("nearest_model");
        var f = m.get("flops_per_token");
        s.append(String.format(Locale.ROOT, "%nplan (law %s: E %.4g, A %.4g, B %.4g, alpha %.4g, beta %.4g)%n",
            p.get("law").get("name").asText(), p.get("law").get("E").asDouble(), p.get("law").get("A").asDouble(),
            p.get("law").get("B").asDouble(), p.get("law").get("alpha").asDouble(), p.get("law").get("beta").asDouble()));
        s.append(String.format(Locale.ROOT, "  %-28s %.3e FLOPs (%s), %d worker(s)%n", "budget", b.get("flops")
            .asDouble(), b.get("source").asText(), b.get("workers").asInt()));
        s.append(String.format(Locale.ROOT, "  %-28s %-16s %-16s%n", "", "compute-optimal", "nearest model"));
        row(s, "model", "-", m.get("name").asText() + String.format(Locale.ROOT, " (%d x %d, %d heads, T %d)",
            m.get("layers").asInt(), m.get("d_model").asInt(), m.get("heads").asInt(), m.get("context_length")
                .asInt()));
        row(s, "parameters N", sci(opt.get("parameters")), sci(m.get("parameters")));
        row(s, "tokens D", sci(opt.get("tokens")), sci(m.get("tokens")));
        row(s, "tokens per parameter", fix(opt.get("tokens_per_parameter")), fix(m.get("tokens_per_parameter")));
        row(s, "predicted loss", fix(opt.get("predicted_loss")), fix(m.get("predicted_loss")));
        row(s, "FLOPs/token 6N", sci(opt.get("flops_per_token_6n")), sci(f.get("dense_6n")));
        row(s, "FLOPs/token 12LTd", "-", sci(f.get("attention_12ltd")) + String.format(Locale.ROOT, " (%.1f%% of"
            + " the total)", 100 * f.get("attention_share").asDouble()));
        if (m.has("wall_hours")) {
            row(s, "tokens/s per worker", "-", fix(m.get("tokens_per_s_per_worker")));
            row(s, "wall time", "-", String.format(Locale.ROOT, "%.1f h (%.1f days) on %d worker(s)",
                m.get("wall_hours").asDouble(), m.get("wall_hours").asDouble() / 24, b.get("workers").asInt()));
        }
        s.append("  N = ").append(p.get("n_definition").asText()).append('\n');
        return s.toString();
    }

    private static void row(StringBuilder s, String name, String a, String b) {
        s.append(String.format(Locale.ROOT, "  %-28s %-16s %s%n", name, a, b));
    }

    private static String sci(com.fasterxml.jackson.databind.JsonNode v) {
        return String.format(Locale.ROOT, "%.3e", v.asDouble());
    }

    private static String fix(com.fasterxml.jackson.databind.JsonNode v) {
        return String.format(Locale.ROOT, "%.3f", v.asDouble());
    }
}
