package org.sparklm.model.dl4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class LossRowsTest {

    @Test
    void totalAndPerExampleWeighTheCountedRows() {
        // two examples of three positions; example 0 counts rows 0 (weight 1) and 2 (weight 3), example 1 nothing
        LossRows sel = LossRows.of(new double[] {1, 0, 3, 0, 0, 0});
        double[] rowLosses = {2.0, 4.0};
        assertEquals(0.25 * 2.0 + 0.75 * 4.0, sel.total(rowLosses), 1e-12);
        assertArrayEquals(new double[] {(0.25 * 2.0 + 0.75 * 4.0) / 1.0 + 0.5, 0.5},
            sel.perExample(rowLosses, 2, 3, 0.5), 1e-12);
    }
}
