package org.sparklm.finetune;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Minibatches of classification examples: token ids {@code [batch, time]} (as floats, exact to 2^24) right-padded to
 * the longest example of the batch with the padding id, a features mask {@code [batch, time]} (1 for tokens, 0 for
 * padding) when any padding is present, and labels {@code [batch, 1]} holding the class ids. The same token mask is
 * also the labels mask: that is how the classification head still sees it when DL4J computes scores (DL4J gives an
 * output layer the labels mask there, not the features mask).
 */
public final class ClassBatches {
    private ClassBatches() {
    }

    /** The minibatch of the given examples. */
    public static MultiDataSet of(ExampleSet set, int[] indices, int padId) {
        int b = indices.length;
        int t = 0;
        for (int i : indices) {
            t = Math.max(t, set.length(i));
        }
        float[][] ids = new float[b][t];
        float[][] mask = new float[b][t];
        float[][] labels = new float[b][1];
        boolean padded = false;
        for (int r = 0; r < b; r++) {
            int[] tok = set.tokens(indices[r]);
            for (int j = 0; j < t; j++) {
                if (j < tok.length) {
                    ids[r][j] = tok[j];
                    mask[r][j] = 1;
                } else {
                    ids[r][j] = padId;
                    padded = true;
                }
            }
            labels[r][0] = set.label(indices[r]);
        }
        INDArray f = Nd4j.createFromArray(ids);
        INDArray fm = padded ? Nd4j.createFromArray(mask) : null;
        return new org.nd4j.linalg.dataset.MultiDataSet(new INDArray[] {f}, new INDArray[] {Nd4j.createFromArray(
            labels)}, fm == null ? null : new INDArray[] {fm}, fm == null ? null : new INDArray[] {fm});
    }
}
