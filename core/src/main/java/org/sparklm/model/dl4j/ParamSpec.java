package org.sparklm.model.dl4j;

/**
 * One parameter matrix of a layer: its key, shape, initialisation and whether weight decay applies to it.
 *
 * @param key the parameter's key in the layer's parameter table (DL4J names it {@code layer_key} in the network)
 * @param rows rows (vectors are {@code [1, n]} row vectors)
 * @param cols columns
 * @param init how it is initialised
 * @param std standard deviation of {@link Init#NORMAL}, bound of {@link Init#UNIFORM}
 * @param decay whether decoupled weight decay applies (matrices of the linear maps only)
 */
public record ParamSpec(String key, long rows, long cols, Init init, double std, boolean decay) {

    /** Initialisation of a parameter ({@code UNIFORM}: uniform in [-std, std], std read as the bound). */
    public enum Init { NORMAL, ZEROS, ONES, UNIFORM }

    public ParamSpec {
        if (key == null || key.isEmpty() || key.contains("_")) {
            throw new IllegalArgumentException("parameter key must be non-empty without '_': " + key);
        }
        if (rows < 1 || cols < 1) {
            throw new IllegalArgumentException("parameter " + key + ": bad shape [" + rows + ", " + cols + "]");
        }
    }

    public long length() {
        return rows * cols;
    }

    /** A weight matrix: normal(0, std), decayed. */
    public static ParamSpec weight(String key, long rows, long cols, double std) {
        return new ParamSpec(key, rows, cols, Init.NORMAL, std, true);
    }

    /** An embedding table: normal(0, std), not decayed. */
    public static ParamSpec embedding(String key, long rows, long cols, double std) {
        return new ParamSpec(key, rows, cols, Init.NORMAL, std, false);
    }

    /** A bias or LayerNorm shift: zeros, not decayed. */
    public static ParamSpec bias(String key, long n) {
        return new ParamSpec(key, 1, n, Init.ZEROS, 0, false);
    }

    /**
     * A matrix initialised uniformly in [-bound, bound], decayed: LoRA's A, whose PEFT initialisation is PyTorch's
     * {@code kaiming_uniform_(a = sqrt(5))}, i.e. bound = 1 / sqrt(fan_in).
     */
    public static ParamSpec uniform(String key, long rows, long cols, double bound) {
        return new ParamSpec(key, rows, cols, Init.UNIFORM, bound, true);
    }

    /** A matrix of zeros, decayed: LoRA's B (so that the adapted model starts as the pretrained one). */
    public static ParamSpec zerosMatrix(String key, long rows, long cols) {
        return new ParamSpec(key, rows, cols, Init.ZEROS, 0, true);
    }

    /** A LayerNorm gain: ones, not decayed. */
    public static ParamSpec gain(String key, long n) {
        return new ParamSpec(key, 1, n, Init.ONES, 0, false);
    }
}
