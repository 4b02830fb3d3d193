package org.sparklm.scaling;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.sparklm.model.AttentionMode;
import org.sparklm.model.TransformerConfig;

/**
 * The runs of a sweep: every size x every token budget. A run is resolved into its model where it trains
 * ({@link #model}), so a size that cannot be built (heads not dividing d_model, ...) is a failed run, reported, and
 * not the end of the sweep.
 */
public final class SweepGrid {
    private static final Pattern SIZE = Pattern.compile("(\\d+)x(\\d+)(?:x(\\d+))?");

    private SweepGrid() {
    }

    /**
     * One run of the grid.
     *
     * @param name            {@code SIZE-tppK}, its directory under {@code runs/}
     * @param size            the size as given
     * @param tokensPerParam  K
     */
    public record Spec(String name, String size, double tokensPerParam) implements Serializable {
    }

    /** The runs, the most expensive first (so that concurrent tasks finish at about the same time). */
    public static List<Spec> runs(SweepConfig c, int vocab) {
        List<Spec> out = new ArrayList<>();
        Map<String, Double> cost = new LinkedHashMap<>();
        for (String s : c.sizes()) {
            for (double k : c.tokensPerParam()) {
                String name = safe(s) + "-tpp" + trim(k);
                if (cost.containsKey(name)) {
                    throw new IllegalArgumentException("--sizes: two runs would be named " + name + " ('" + s
                        + "' and another size share a file name); rename one of the files");
                }
                out.add(new Spec(name, s, k));
                double n;
                try {
                    n = Scaling.parameters(model(s, vocab, c.context()));
                } catch (IllegalArgumentException e) {
                    n = 0;
                }
                cost.put(name, n * n * k);   // tokens K N times FLOPs per token ~ 6 N
            }
        }
        out.sort(Comparator.comparingDouble((Spec sp) -> -cost.get(sp.name())));
        return out;
    }

    /** Syntax check of a size (no model is built). */
    static void checkSize(String s) {
        if (!SIZE.matcher(s).matches() && !s.matches("[A-Za-z0-9_./-]+")) {
            throw new IllegalArgumentException("--sizes: '" + s + "' is neither LAYERSxD_MODEL[xHEADS] nor a model"
                + " config name or file");
        }
    }

    /** The model of a size at the shards' vocabulary and the sweep's context; IllegalArgumentException if invalid. */
    public static TransformerConfig model(String size, int vocab, int context) {
        Matcher m = SIZE.matcher(size);
        if (m.matches()) {
            int layers = Integer.parseInt(m.group(1));
            int d = Integer.parseInt(m.group(2));
            int heads = m.group(3) != null ? Integer.parseInt(m.group(3)) : d % 32 == 0 ? d / 32 : d % 16 == 0
                ? d / 16 : 1;
            return new TransformerConfig(vocab, layers, d, Math.max(1, heads), 4 * d, context, 0.0,
                AttentionMode.CAUSAL);
        }
        return TransformerConfig.load(size, Map.of("vocab_size", Integer.toString(vocab), "context_length",
            Integer.toString(context), "dropout", "0.0", "attention", "causal"));
    }

    /** Steps of B windows of T tokens that reach at least K N tokens. */
    public static long steps(long n, double tokensPerParam, int batch, int context) {
        return Math.max(1, (long) Math.ceil(tokensPerParam * n / ((double) batch * context)));
    }

    static String trim(double k) {
        return k == Math.rint(k) ? Long.toString((long) k) : String.format(Locale.ROOT, "%s", k);
    }

    private static String safe(String s) {
        String base = s.contains("/") ? s.substring(s.lastIndexOf('/') + 1) : s;
        return base.replaceAll("\\.conf$", "").replaceAll("[^A-Za-z0-9_.-]", "_");
    }
}
