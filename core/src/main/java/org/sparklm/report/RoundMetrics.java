package org.sparklm.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * The metrics of one training round (one parameter-averaging round: every worker trained H minibatches, then the
 * parameters were averaged), as one line of {@code metrics.jsonl}. Optional values are {@code null}: validation is
 * computed only every few rounds, masked-token accuracy only for the mlm objective, the ETA only once a rate is known.
 *
 * @param round           1-based round number within the run (continues across resumes)
 * @param step            global optimizer step after the round
 * @param totalSteps      the step the run will stop at (0 when unknown, e.g. when training by epochs)
 * @param tokens          tokens seen by the model so far, over all workers (cumulative)
 * @param trainLoss       mean training loss of the round (may be NaN or infinite when training diverged)
 * @param valLoss         validation loss (mean cross-entropy per predicted token, nats), or null when not computed
 * @param mlmAccuracy     masked-token accuracy on validation (mlm only), or null
 * @param lr              learning rate at the end of the round
 * @param tokensPerSecond training throughput of the round (all workers)
 * @param seconds         wall time of the round
 * @param elapsedSeconds  wall time of training so far (cumulative, across resumes)
 * @param etaSeconds      estimated wall time to the end, or null
 * @param extra           further fields written as they are (e.g. a time breakdown), or null
 */
public record RoundMetrics(long round, long step, long totalSteps, long tokens, double trainLoss, Double valLoss,
                           Double mlmAccuracy, double lr, double tokensPerSecond, double seconds,
                           double elapsedSeconds, Double etaSeconds, ObjectNode extra) {

    /** The fields this record writes; {@link #extra} may not use them. */
    static final Set<String> FIELDS = Set.of("round", "step", "total_steps", "tokens", "train_loss", "val_loss",
        "val_ppl", "mlm_accuracy", "lr", "tokens_per_s", "seconds", "elapsed_seconds", "eta_seconds");

    public RoundMetrics {
        if (round < 1 || step < 0 || totalSteps < 0 || tokens < 0) {
            throw new IllegalArgumentException("bad round " + round + " / step " + step + " / total steps "
                + totalSteps + " / tokens " + tokens + " (round starts at 1; none may be negative)");
        }
        if (extra != null) {
            for (Iterator<String> it = extra.fieldNames(); it.hasNext(); ) {
                String f = it.next();
                if (FIELDS.contains(f)) {
                    throw new IllegalArgumentException("extra field '" + f + "' clashes with a metrics field");
                }
            }
            extra = extra.deepCopy();
        }
    }

    /** Validation perplexity, exp(valLoss), or null when the validation loss was not computed. */
    public Double valPerplexity() {
        return valLoss == null ? null : Math.exp(valLoss);
    }

    /** The JSON record of this round. Non-finite numbers are written as the strings "NaN", "Infinity", "-Infinity". */
    public ObjectNode toJson() {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("round", round);
        o.put("step", step);
        o.put("total_steps", totalSteps);
        o.put("tokens", tokens);
        put(o, "train_loss", trainLoss);
        put(o, "val_loss", valLoss);
        put(o, "val_ppl", valPerplexity());
        put(o, "mlm_accuracy", mlmAccuracy);
        put(o, "lr", lr);
        put(o, "tokens_per_s", tokensPerSecond);
        put(o, "seconds", seconds);
        put(o, "elapsed_seconds", elapsedSeconds);
        put(o, "eta_seconds", etaSeconds);
        if (extra != null) {
            o.setAll(extra);
        }
        return o;
    }

    /**
     * Reads a record written by {@link #toJson}. Unknown fields go to {@link #extra}.
     *
     * @throws IllegalArgumentException naming a missing or malformed field
     */
    public static RoundMetrics fromJson(JsonNode o) {
        if (o == null || !o.isObject()) {
            throw new IllegalArgumentException("not a JSON object: " + o);
        }
        ObjectNode extra = null;
        for (Iterator<Map.Entry<String, JsonNode>> it = o.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!FIELDS.contains(e.getKey())) {
                if (extra == null) {
                    extra = new ObjectMapper().createObjectNode();
                }
                extra.set(e.getKey(), e.getValue());
            }
        }
        return new RoundMetrics(whole(o, "round"), whole(o, "step"), whole(o, "total_steps"), whole(o, "tokens"),
            number(o, "train_loss"), optional(o, "val_loss"), optional(o, "mlm_accuracy"), number(o, "lr"),
            number(o, "tokens_per_s"), number(o, "seconds"), number(o, "elapsed_seconds"),
            optional(o, "eta_seconds"), extra);
    }

    private static void put(ObjectNode o, String field, Double v) {
        if (v == null) {
            o.putNull(field);
        } else if (Double.isFinite(v)) {
            o.put(field, v);
        } else {
            o.put(field, v.toString()); // "NaN", "Infinity", "-Infinity": strict JSON has no such numbers
        }
    }

    private static long whole(JsonNode o, String field) {
        JsonNode v = o.get(field);
        if (v == null || !v.canConvertToLong() || !v.isIntegralNumber()) {
            throw new IllegalArgumentException("field '" + field + "' missing or not an integer: " + v);
        }
        return v.asLong();
    }

    private static double number(JsonNode o, String field) {
        Double d = optional(o, field);
        if (d == null) {
            throw new IllegalArgumentException("field '" + field + "' missing");
        }
        return d;
    }

    private static Double optional(JsonNode o, String field) {
        JsonNode v = o.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (v.isNumber()) {
            return v.asDouble();
        }
        if (v.isTextual()) {
            switch (v.asText()) {
                case "NaN":
                    return Double.NaN;
                case "Infinity":
                    return Double.POSITIVE_INFINITY;
                case "-Infinity":
                    return Double.NEGATIVE_INFINITY;
                default:
                    break;
            }
        }
        throw new IllegalArgumentException("field '" + field + "' is not a number: " + v);
    }
}
