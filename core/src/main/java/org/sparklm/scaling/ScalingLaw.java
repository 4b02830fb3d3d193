package org.sparklm.scaling;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.sparklm.UsageException;
import org.sparklm.io.HadoopFiles;
import org.sparklm.io.Json;

/**
 * A parametric scaling law of the final loss in the model's parameters N and the training tokens D (Hoffmann et al.
 * 2022, "Training Compute-Optimal Large Language Models", equation 2):
 *
 * <pre>
 *   L(N, D) = E + A / N^alpha + B / D^beta
 * </pre>
 *
 * and its compute-optimal allocation under {@code C = 6 N D} (their equation 4): minimising L on that constraint gives
 * {@code N_opt = G (C / 6)^(beta / (alpha + beta))}, {@code D_opt = G^-1 (C / 6)^(alpha / (alpha + beta))} with
 * {@code G = (alpha A / (beta B))^(1 / (alpha + beta))}. N is {@link Scaling#parameters} everywhere in this package.
 *
 * <p>Built in: {@link #HOFFMANN} (approach 3 of Hoffmann et al.) and {@link #EPOCH} (the refit of the same data by
 * Besiroglu et al. 2024, "Chinchilla Scaling: A replication attempt"). A law file ({@code law.json}, written by
 * {@code sweep}) holds the five constants; see docs/FORMATS.md.
 *
 * @param name  where the law comes from (a built-in name or the file)
 * @param e     irreducible loss E (nats per token)
 * @param a     A
 * @param b     B
 * @param alpha the parameters' exponent
 * @param beta  the tokens' exponent
 */
public record ScalingLaw(String name, double e, double a, double b, double alpha, double beta) {

    public static final ScalingLaw HOFFMANN = new ScalingLaw("hoffmann", 1.69, 406.4, 410.7, 0.34, 0.28);
    public static final ScalingLaw EPOCH = new ScalingLaw("epoch", 1.8172, 482.01, 2085.43, 0.3478, 0.3658);

    /** The constants a law file must hold. */
    public static final List<String> CONSTANTS = List.of("E", "A", "B", "alpha", "beta");

    public ScalingLaw {
        if (!(Double.isFinite(e) && a > 0 && b > 0 && alpha > 0 && beta > 0 && Double.isFinite(a)
            && Double.isFinite(b) && Double.isFinite(alpha) && Double.isFinite(beta))) {
            throw new IllegalArgumentException(String.format(Locale.ROOT, "scaling law %s: needs a finite E and"
                + " positive finite A, B, alpha, beta; got E %s, A %s, B %s, alpha %s, beta %s", name, e, a, b, alpha,
                beta));
        }
    }

    /** The predicted loss of N parameters trained on D tokens. */
    public double loss(double n, double d) {
        return e + a / Math.pow(n, alpha) + b / Math.pow(d, beta);
    }

    /** G = (alpha A / (beta B))^(1 / (alpha + beta)). */
    public double g() {
        return Math.pow(alpha * a / (beta * b), 1.0 / (alpha + beta));
    }

    /** The exponent of N_opt in C: beta / (alpha + beta). */
    public double parameterExponent() {
        return beta / (alpha + beta);
    }

    /** The exponent of D_opt in C: alpha / (alpha + beta). */
    public double tokenExponent() {
        return alpha / (alpha + beta);
    }

    /** Compute-optimal parameters for C FLOPs (C = 6 N D). */
    public double optimalParameters(double flops) {
        checkFlops(flops);
        return g() * Math.pow(flops / 6.0, parameterExponent());
    }

    /** Compute-optimal tokens for C FLOPs: C / (6 N_opt). */
    public double optimalTokens(double flops) {
        return flops / (6.0 * optimalParameters(flops));
    }

    /** D_opt / N_opt at C FLOPs. */
    public double optimalTokensPerParameter(double flops) {
        return optimalTokens(flops) / optimalParameters(flops);
    }

    /** The loss the law predicts at the compute-optimal point for C FLOPs. */
    public double optimalLoss(double flops) {
        return loss(optimalParameters(flops), optimalTokens(flops));
    }

    private static void checkFlops(double flops) {
        if (!(flops > 0) || Double.isInfinite(flops)) {
            throw new IllegalArgumentException("compute must be a positive number of FLOPs, got " + flops);
        }
    }

    /** The law as law.json's fields (docs/FORMATS.md). */
    public ObjectNode toJson() {
        ObjectNode o = Json.object();
        o.put("form", "L(N, D) = E + A / N^alpha + B / D^beta");
        o.put("N", Scaling.N_DEFINITION);
        o.put("E", e);
        o.put("A", a);
        o.put("B", b);
        o.put("alpha", alpha);
        o.put("beta", beta);
        o.put("G", g());
        o.put("n_opt_exponent", parameterExponent());
        o.put("d_opt_exponent", tokenExponent());
        return o;
    }

    /**
     * Reads a law from JSON holding at least {@link #CONSTANTS} as numbers (other fields are ignored).
     *
     * @throws UsageException naming the missing constants
     */
    public static ScalingLaw fromJson(JsonNode o, String name) {
        if (o == null || !o.isObject()) {
            throw new UsageException("law " + name + ": expected a JSON object with " + String.join(", ", CONSTANTS));
        }
        List<String> missing = CONSTANTS.stream().filter(k -> !o.path(k).isNumber()).toList();
        if (!missing.isEmpty()) {
            throw new UsageException("law " + name + ": missing constants " + String.join(", ", missing)
                + " (a law file needs numbers " + String.join(", ", CONSTANTS) + ")");
        }
        try {
            return new ScalingLaw(name, o.get("E").asDouble(), o.get("A").asDouble(), o.get("B").asDouble(),
                o.get("alpha").asDouble(), o.get("beta").asDouble());
        } catch (IllegalArgumentException ex) {
            throw new UsageException(ex.getMessage());
        }
    }

    /**
     * {@code hoffmann}, {@code epoch}, or a law file (sweep's law.json or one written by hand) on any Hadoop file
     * system ({@code runs/sweep/law.json}, {@code hdfs://...}, {@code s3a://...}).
     */
    public static ScalingLaw named(Configuration conf, String nameOrFile) throws IOException {
        switch (nameOrFile) {
            case "hoffmann":
                return HOFFMANN;
            case "epoch":
                return EPOCH;
            default:
                break;
        }
        if (!HadoopFiles.isFile(conf, nameOrFile)) {
            throw new UsageException("--law: no such law: '" + nameOrFile + "' (hoffmann, epoch, or a law.json"
                + " file)");
        }
        JsonNode o;
        try (InputStream in = HadoopFiles.open(conf, nameOrFile)) {
            o = Json.MAPPER.readTree(in);
        } catch (com.fasterxml.jackson.core.JacksonException ex) {
            throw new UsageException("law " + nameOrFile + ": not JSON: " + ex.getOriginalMessage().split("\n")[0]);
        }
        return fromJson(o, nameOrFile);
    }
}
