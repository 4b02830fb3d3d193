package org.sparklm.scaling;

import org.sparklm.model.TransformerConfig;

/**
 * The one definition of a model's size N and of its training cost in this package (docs/DESIGN.md, "Scaling laws"):
 * N is {@link TransformerConfig#nonEmbeddingParameters()} (the blocks, the final LayerNorm and the LM head; not the
 * token and position lookup tables), the N of {@code 6 N} in {@link TransformerConfig#trainingFlopsPerToken()}, so
 * that {@code C = 6 N D} counts the compute actually spent on the dense layers.
 */
public final class Scaling {
    /** How N is counted, written into law.json and plan's output. */
    public static final String N_DEFINITION = "non-embedding parameters (blocks, final LayerNorm, LM head)";

    private Scaling() {
    }

    /** N of a model. */
    public static long parameters(TransformerConfig c) {
        return c.nonEmbeddingParameters();
    }

    /** C = 6 N D, the compute the laws are stated in. */
    public static double flops(double n, double d) {
        return 6.0 * n * d;
    }
}
