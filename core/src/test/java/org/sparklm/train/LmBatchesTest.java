package org.sparklm.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.dataset.api.MultiDataSet;

class LmBatchesTest {

    @Test
    void causalWindowsShiftByOne() {
        MultiDataSet ds = LmBatches.clm(List.of(new int[] {5, 6, 7, 8}, new int[] {9, 10, 11, 12}), -1);
        assertArrayEquals(new long[] {2, 3}, ds.getFeatures(0).shape());
        assertArrayEquals(new long[] {2, 1, 3}, ds.getLabels(0).shape());
        assertArrayEquals(new float[] {5, 6, 7, 9, 10, 11}, ds.getFeatures(0).reshape(6).toFloatVector());
        assertArrayEquals(new float[] {6, 7, 8, 10, 11, 12}, ds.getLabels(0).reshape(6).toFloatVector());
        assertNull(ds.getFeaturesMaskArrays());
        assertNull(ds.getLabelsMaskArrays());
    }

    @Test
    void causalPaddingIsMasked() {
        MultiDataSet ds = LmBatches.clm(List.of(new int[] {5, 6, 0, 0}), 0);
        assertArrayEquals(new float[] {1, 0, 0}, ds.getLabelsMaskArray(0).reshape(3).toFloatVector());
        assertArrayEquals(new float[] {1, 1, 0}, ds.getFeaturesMaskArray(0).reshape(3).toFloatVector());
    }

    @Test
    void maskedWindowsKeepTheOriginalTokensAsLabels() {
        MlmMasker m = new MlmMasker(100, 5, 4, 3);
        int[] w = new int[40];
        for (int i = 0; i < w.length; i++) {
            w[i] = 10 + i;
        }
        MultiDataSet ds = LmBatches.mlm(List.of(w, w.clone()), new long[] {7, 8}, 2, m, 0);
        assertArrayEquals(new long[] {2, 40}, ds.getFeatures(0).shape());
        assertArrayEquals(new long[] {2, 1, 40}, ds.getLabels(0).shape());
        assertNotNull(ds.getLabelsMaskArrays());
        assertNull(ds.getFeaturesMaskArrays(), "no padding in the batch");
        float[] labels = ds.getLabels(0).reshape(80).toFloatVector();
        float[] lm = ds.getLabelsMaskArray(0).reshape(80).toFloatVector();
        float[] in = ds.getFeatures(0).reshape(80).toFloatVector();
        MlmMasker.Masked first = m.mask(w, 2, 7);
        int chosen = 0;
        for (int i = 0; i < 40; i++) {
            assertEquals(w[i], labels[i]);
            assertEquals(first.chosen()[i] ? 1f : 0f, lm[i]);
            assertEquals(first.input()[i], in[i]);
            chosen += first.chosen()[i] ? 1 : 0;
        }
        assertEquals(6, chosen, 1);
        assertThrows(IllegalArgumentException.class, () -> LmBatches.mlm(List.of(w), new long[] {1, 2}, 0, m, 0));
    }
}
