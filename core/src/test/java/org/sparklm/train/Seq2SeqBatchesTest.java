package org.sparklm.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.dataset.api.MultiDataSet;

/** The encoder-decoder minibatch layout: shapes, padding masks, the decoder input shifted right after the start id. */
class Seq2SeqBatchesTest {

    @Test
    void layoutShapesMasksAndShift() {
        int pad = 0;
        MultiDataSet ds = Seq2SeqBatches.batch(List.of(
            new Seq2SeqBatches.Example(new int[] {11, 12, 13, 3}, new int[] {21, 22, 3}),
            new Seq2SeqBatches.Example(new int[] {14, 3}, new int[] {23, 24, 25, 26, 3})), 5, 6, pad);
        assertEquals(2, ds.getFeatures().length);
        assertEquals(1, ds.getLabels().length);
        assertArrayEquals(new long[] {2, 5}, ds.getFeatures(0).shape());
        assertArrayEquals(new long[] {2, 6}, ds.getFeatures(1).shape());
        assertArrayEquals(new long[] {2, 1, 6}, ds.getLabels(0).shape());
        assertArrayEquals(new long[] {2, 5}, ds.getFeaturesMaskArray(0).shape());
        assertArrayEquals(new long[] {2, 6}, ds.getFeaturesMaskArray(1).shape());
        assertArrayEquals(new long[] {2, 6}, ds.getLabelsMaskArray(0).shape());
        assertArrayEquals(new float[] {11, 12, 13, 3, 0, 14, 3, 0, 0, 0}, ds.getFeatures(0).reshape(10).toFloatVector());
        assertArrayEquals(new float[] {1, 1, 1, 1, 0, 1, 1, 0, 0, 0},
            ds.getFeaturesMaskArray(0).reshape(10).toFloatVector());
        // decoder input: the start id (pad), then the target shifted right by one
        assertArrayEquals(new float[] {0, 21, 22, 0, 0, 0, 0, 23, 24, 25, 26, 0},
            ds.getFeatures(1).reshape(12).toFloatVector());
        assertArrayEquals(new float[] {1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 0},
            ds.getFeaturesMaskArray(1).reshape(12).toFloatVector());
        assertArrayEquals(new float[] {21, 22, 3, 0, 0, 0, 23, 24, 25, 26, 3, 0},
            ds.getLabels(0).reshape(12).toFloatVector());
        assertArrayEquals(new float[] {1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 0},
            ds.getLabelsMaskArray(0).reshape(12).toFloatVector(), "the loss counts every target token, EOS too");
        // a non-zero pad id pads and starts the decoder
        MultiDataSet p = Seq2SeqBatches.batch(List.of(new Seq2SeqBatches.Example(new int[] {9}, new int[] {8})), 2,
            2, 7);
        assertArrayEquals(new float[] {9, 7}, p.getFeatures(0).reshape(2).toFloatVector());
        assertArrayEquals(new float[] {7, 7}, p.getFeatures(1).reshape(2).toFloatVector());
        assertArrayEquals(new float[] {1, 0}, p.getFeaturesMaskArray(1).reshape(2).toFloatVector());
    }

    @Test
    void examplesLongerThanAContextAreRefused() {
        Seq2SeqBatches.Example e = new Seq2SeqBatches.Example(new int[] {1, 2, 3}, new int[] {4, 5});
        assertThrows(IllegalArgumentException.class, () -> Seq2SeqBatches.batch(List.of(e), 2, 8, 0));
        assertThrows(IllegalArgumentException.class, () -> Seq2SeqBatches.batch(List.of(e), 8, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> Seq2SeqBatches.batch(List.of(), 8, 8, 0));
    }
}
