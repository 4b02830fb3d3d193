package org.sparklm.model.dl4j;

/**
 * The positions a masked sequence loss counts (label mask non-zero) and their weights, the mask values normalised to
 * sum 1; {@code uniform} when every counted position has the same weight. Shared by the LM head and the
 * encoder-decoder's output.
 */
record LossRows(int[] rows, double[] weights, boolean uniform) {

    /** Every one of {@code n} positions, equally weighted (no label mask). */
    static LossRows all(int n) {
        int[] rows = new int[n];
        double[] w = new double[n];
        for (int i = 0; i < n; i++) {
            rows[i] = i;
            w[i] = 1.0 / n;
        }
        return new LossRows(rows, w, true);
    }

    /** The positions of a label mask's non-zero values. */
    static LossRows of(double[] mask) {
        int count = 0;
        double sum = 0;
        boolean uniform = true;
        for (double x : mask) {
            if (x < 0) {
                throw new IllegalArgumentException("label mask values must be >= 0, got " + x);
            }
            if (x != 0) {
                if (count > 0 && x != sum / count) {
                    uniform = false;
                }
                count++;
                sum += x;
            }
        }
        int[] rows = new int[count];
        double[] w = new double[count];
        int j = 0;
        for (int i = 0; i < mask.length; i++) {
            if (mask[i] != 0) {
                rows[j] = i;
                w[j++] = mask[i] / sum;
            }
        }
        return new LossRows(rows, w, uniform);
    }

    /** The loss: the weighted sum of the counted rows' losses ({@code rowLosses[i]} for {@code rows[i]}). */
    double total(double[] rowLosses) {
        double total = 0;
        for (int i = 0; i < rowLosses.length; i++) {
            total += weights[i] * rowLosses[i];
        }
        return total;
    }

    /**
     * Per example of {@code length} consecutive rows: the weighted mean loss over its counted rows (0 if none),
     * plus {@code add}.
     */
    double[] perExample(double[] rowLosses, int examples, long length, double add) {
        double[] num = new double[examples];
        double[] den = new double[examples];
        for (int i = 0; i < rowLosses.length; i++) {
            int ex = (int) (rows[i] / length);
            num[ex] += weights[i] * rowLosses[i];
            den[ex] += weights[i];
        }
        double[] out = new double[examples];
        for (int i = 0; i < examples; i++) {
            out[i] = (den[i] > 0 ? num[i] / den[i] : 0) + add;
        }
        return out;
    }
}
