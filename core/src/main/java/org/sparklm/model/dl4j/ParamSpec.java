package org.sparklm.model.dl4j;

/**
 * One parameter matrix of a layer: its key, shape, initialisation and whether weight decay applies to it.
 *
 * @param key the parameter's key in the layer's parameter table (DL4J names it {@code layer_key} in the network)
 * @param rows rows (vectors are {@code [1, n]} row vectors)
 * @param cols columns
 * @param init how it is initialised
 * @param std standard deviation of {@link Init#NORMAL}
 * @param decay whether decoupled weight decay applies (matrices of the linear maps only)
 */
public record ParamSpec(String key, long rows, long cols, Init init, double std, boolean decay) {

    /** Initialisation of a parameter. */
    public enum Init { NORMAL, ZEROS, ONES }

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

    /** A LayerNorm gain: ones, not decayed. */
    public static ParamSpec gain(String key, long n) {
        return new ParamSpec(key, 1, n, Init.ONES, 0, false);
    }
}
