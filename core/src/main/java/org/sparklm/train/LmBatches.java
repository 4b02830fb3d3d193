package org.sparklm.train;

import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Token windows to DL4J minibatches for {@code TransformerLm}: features {@code [batch, time]} token ids (as floats,
 * exact up to 2^24), labels {@code [batch, 1, time]} integer ids for the sparse cross-entropy, and masks
 * {@code [batch, time]}: the label mask says which positions the loss counts, the features mask (only when the batch
 * holds padding) which positions attention may look at.
 */
public final class LmBatches {

    private LmBatches() {
    }

    /**
     * Causal LM: each window holds {@code time + 1} tokens; the inputs are the first {@code time}, the labels the last
     * {@code time} (the next token at every position). Positions whose label is {@code padId} are not counted, and
     * padded inputs are masked ({@code padId} -1: no padding).
     */
    public static MultiDataSet clm(List<int[]> windows, int padId) {
        int b = windows.size();
        if (b == 0) {
            throw new IllegalArgumentException("empty batch");
        }
        int t = windows.get(0).length - 1;
        if (t < 1) {
            throw new IllegalArgumentException("a causal-LM window needs at least 2 tokens");
        }
        float[] f = new float[b * t];
        float[] l = new float[b * t];
        float[] fm = new float[b * t];
        float[] lm = new float[b * t];
        boolean padded = false;
        for (int i = 0; i < b; i++) {
            int[] w = windows.get(i);
            if (w.length != t + 1) {
                throw new IllegalArgumentException("windows of one batch must have the same length: " + (t + 1)
                    + " and " + w.length);
            }
            for (int j = 0; j < t; j++) {
                int in = w[j];
                int out = w[j + 1];
                f[i * t + j] = in;
                l[i * t + j] = out;
                fm[i * t + j] = in == padId ? 0 : 1;
                lm[i * t + j] = out == padId ? 0 : 1;
                padded |= in == padId || out == padId;
            }
        }
        return dataSet(b, t, f, l, padded ? fm : null, padded ? lm : null);
    }

    /**
     * Masked LM: each window holds {@code time} tokens, masked by {@code masker}; the labels are the original tokens,
     * counted only at the chosen positions. Window {@code i} is masked as window number {@code windowIndices[i]} of
     * the data set in that epoch. Padding ({@code padId}, -1: none) is masked for attention.
     */
    public static MultiDataSet mlm(List<int[]> windows, long[] windowIndices, long epoch, MlmMasker masker,
                                   int padId) {
        int b = windows.size();
        if (b == 0) {
            throw new IllegalArgumentException("empty batch");
        }
        if (windowIndices.length != b) {
            throw new IllegalArgumentException(b + " windows but " + windowIndices.length + " window indices");
        }
        int t = windows.get(0).length;
        float[] f = new float[b * t];
        float[] l = new float[b * t];
        float[] fm = new float[b * t];
        float[] lm = new float[b * t];
        boolean padded = false;
        for (int i = 0; i < b; i++) {
            int[] w = windows.get(i);
            if (w.length != t) {
                throw new IllegalArgumentException("windows of one batch must have the same length: " + t + " and "
                    + w.length);
            }
            MlmMasker.Masked m = masker.mask(w, epoch, windowIndices[i]);
            for (int j = 0; j < t; j++) {
                f[i * t + j] = m.input()[j];
                l[i * t + j] = w[j];
                lm[i * t + j] = m.chosen()[j] ? 1 : 0;
                fm[i * t + j] = w[j] == padId ? 0 : 1;
                padded |= w[j] == padId;
            }
        }
        return dataSet(b, t, f, l, padded ? fm : null, lm);
    }

    private static MultiDataSet dataSet(int b, int t, float[] f, float[] l, float[] fm, float[] lm) {
        INDArray features = Nd4j.create(f, new long[] {b, t}, DataType.FLOAT);
        INDArray labels = Nd4j.create(l, new long[] {b, 1, t}, DataType.FLOAT);
        INDArray featuresMask = fm == null ? null : Nd4j.create(fm, new long[] {b, t}, DataType.FLOAT);
        INDArray labelsMask = lm == null ? null : Nd4j.create(lm, new long[] {b, t}, DataType.FLOAT);
        return new org.nd4j.linalg.dataset.MultiDataSet(new INDArray[] {features}, new INDArray[] {labels},
            featuresMask == null ? null : new INDArray[] {featuresMask},
            labelsMask == null ? null : new INDArray[] {labelsMask});
    }
}
