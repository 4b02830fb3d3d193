package org.sparklm.model.dl4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.bytedeco.javacpp.FloatPointer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** Buffer access on views (parameters are views of the network's flat parameter vector). */
class KernelsTest {

    @Test
    void viewsAreReadAndAddressedAtTheirFirstElement() {
        INDArray flat = Nd4j.rand(DataType.FLOAT, 1, 1000);
        INDArray view = flat.get(NDArrayIndex.point(0), NDArrayIndex.interval(100, 300)).reshape('c', 10, 20);
        assertArrayEquals(view.dup().reshape(200).toFloatVector(), Kernels.readFloats(view));
        FloatPointer p = new FloatPointer(view.data().addressPointer());
        assertEquals(view.getFloat(0, 0), p.position(Kernels.pointerOffset(view)).get());
        assertEquals(view.getFloat(9, 19), p.position(Kernels.pointerOffset(view) + 199).get());
        float[] v = new float[200];
        v[57] = 42f;
        Kernels.writeFloats(view, v);
        assertEquals(42f, flat.getFloat(0, 157));
        assertEquals(0f, flat.getFloat(0, 100));
    }
}
