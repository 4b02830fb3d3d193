package org.sparklm.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.shade.jackson.databind.ObjectMapper;

class WarmupCosineScheduleTest {

    @Test
    void warmupThenCosineToTheMinimum() {
        WarmupCosineSchedule s = new WarmupCosineSchedule(1e-3, 1e-4, 10, 110);
        assertEquals(1e-4, s.valueAt(0, 0), 1e-15);          // 1/10 of the peak
        assertEquals(5e-4, s.valueAt(4, 0), 1e-15);
        assertEquals(1e-3, s.valueAt(9, 0), 1e-15);          // peak at the end of warmup
        assertEquals(1e-3, s.valueAt(10, 0), 1e-15);         // cosine starts at the peak
        assertEquals(5.5e-4, s.valueAt(60, 0), 1e-15);       // half way: the mean of peak and minimum
        assertEquals(1e-4, s.valueAt(110, 0), 1e-15);
        assertEquals(1e-4, s.valueAt(1_000_000, 0), 1e-15);  // constant after the end
        assertEquals(s.valueAt(37, 0), s.valueAt(37, 5));    // the epoch does not matter
        for (int i = 10; i < 110; i++) {
            assertTrue(s.valueAt(i + 1, 0) <= s.valueAt(i, 0));
        }
        WarmupCosineSchedule noWarmup = new WarmupCosineSchedule(1.0, 0.0, 0, 4);
        assertEquals(1.0, noWarmup.valueAt(0, 0), 1e-15);
        assertEquals(0.5, noWarmup.valueAt(2, 0), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> new WarmupCosineSchedule(1e-3, 1e-2, 1, 10));
        assertThrows(IllegalArgumentException.class, () -> new WarmupCosineSchedule(1e-3, 0, 20, 10));
    }

    @Test
    void serialisesWithTheUpdater() throws Exception {
        IUpdater u = OptimizerConfig.defaults(1000).updater();
        ObjectMapper m = new ObjectMapper();
        IUpdater back = m.readValue(m.writeValueAsString(u), IUpdater.class);
        assertEquals(u, back);
        ISchedule s = ((Adam) back).getLearningRateSchedule();
        assertEquals(new WarmupCosineSchedule(1e-3, 1e-4, 100, 1000), s);
        assertEquals(u.getLearningRate(500, 0), back.getLearningRate(500, 0), 0);
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        new java.io.ObjectOutputStream(bytes).writeObject(s);   // Spark ships configurations by Java serialization too
        Object again = new java.io.ObjectInputStream(new java.io.ByteArrayInputStream(bytes.toByteArray()))
            .readObject();
        assertEquals(s, again);
    }
}
