package org.sparklm.scaling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparklm.UsageException;

class ScalingLawTest {

    /*
     * Hand computation from FACTS' constants at Chinchilla's compute C = 5.76e23 (C / 6 = 9.6e22):
     * hoffmann: G = (0.34 * 406.4 / (0.28 * 410.7))^(1 / 0.62) = (138.176 / 114.996)^1.6129 = 1.2016^1.6129 = 1.34471;
     *   N_opt = 1.34471 * (9.6e22)^(0.28 / 0.62 = 0.451613) = 3.2190e10, D_opt = 9.6e22 / 3.2190e10 = 2.9823e12,
     *   D / N = 92.65, L = 1.69 + 406.4 / N^0.34 + 410.7 / D^0.28 = 1.9307.
     * epoch: G = (0.3478 * 482.01 / (0.3658 * 2085.43))^(1 / 0.7136) = 0.21977^1.40135 = 0.119630;
     *   N_opt = 7.2249e10, D_opt = 1.32874e12, D / N = 18.39 (their "about 20 tokens per parameter"), L = 1.9744.
     */
    @Test
    void closedFormsAtChinchillasCompute() {
        double c = 5.76e23;
        ScalingLaw h = ScalingLaw.HOFFMANN;
        assertEquals(1.34471, h.g(), 1e-5);
        assertEquals(3.2190e10, h.optimalParameters(c), 0.0001e10);
        assertEquals(2.9823e12, h.optimalTokens(c), 0.0001e12);
        assertEquals(92.65, h.optimalTokensPerParameter(c), 0.01);
        assertEquals(1.9307, h.optimalLoss(c), 1e-4);
        ScalingLaw e = ScalingLaw.EPOCH;
        assertEquals(0.119630, e.g(), 1e-6);
        assertEquals(7.2249e10, e.optimalParameters(c), 0.0001e10);
        assertEquals(1.32874e12, e.optimalTokens(c), 0.00001e12);
        assertEquals(18.39, e.optimalTokensPerParameter(c), 0.01);
        assertEquals(1.9744, e.optimalLoss(c), 1e-4);
        // C = 6 N D holds at the optimum, and the optimum is a minimum of L along C = 6 N D
        double n = e.optimalParameters(c);
        assertEquals(c, 6 * n * e.optimalTokens(c), c * 1e-12);
        double l = e.optimalLoss(c);
        assertTrue(e.loss(n * 1.2, c / (6 * n * 1.2)) > l && e.loss(n / 1.2, c / (6 * n / 1.2)) > l);
    }

    @Test
    void lossFormula() {
        // 1.69 + 406.4 / 1e6^0.34 + 410.7 / 1e9^0.28 = 1.69 + 406.4 / 109.648 + 410.7 / 331.131 = 1.69 + 3.7064 + 1.2403
        assertEquals(6.6367, ScalingLaw.HOFFMANN.loss(1e6, 1e9), 1e-3);
    }

    @Test
    void badComputeIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> ScalingLaw.HOFFMANN.optimalParameters(-1));
        assertThrows(IllegalArgumentException.class, () -> ScalingLaw.HOFFMANN.optimalParameters(0));
    }

    @Test
    void lawFileRoundTripAndMissingConstants(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("law.json");
        Files.writeString(f, org.sparklm.io.Json.MAPPER.writeValueAsString(ScalingLaw.EPOCH.toJson()));
        ScalingLaw back = ScalingLaw.named(new Configuration(), f.toString());
        assertEquals(ScalingLaw.EPOCH.b(), back.b());
        assertEquals(ScalingLaw.EPOCH.optimalParameters(1e20), back.optimalParameters(1e20), 1e-6);
        // the same file as a Hadoop URI (what hdfs:// or s3a:// paths go through)
        assertEquals(ScalingLaw.EPOCH.b(), ScalingLaw.named(new Configuration(), f.toUri().toString()).b());
        Files.writeString(f, "{\"E\": 1.7, \"A\": 400, \"alpha\": 0.3}");
        UsageException u = assertThrows(UsageException.class, () -> ScalingLaw.named(new Configuration(), f.toString()));
        assertTrue(u.getMessage().contains("missing constants B, beta"), u.getMessage());
        assertThrows(UsageException.class,
            () -> ScalingLaw.named(new Configuration(), dir.resolve("nope.json").toString()));
        assertThrows(UsageException.class, () -> ScalingLaw.named(new Configuration(), dir.toString()));
        Files.writeString(f, "{not json");
        u = assertThrows(UsageException.class, () -> ScalingLaw.named(new Configuration(), f.toString()));
        assertTrue(u.getMessage().startsWith("law " + f + ": not JSON: "), u.getMessage());
    }
}
