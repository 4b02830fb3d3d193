package org.sparklm.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.sparklm.UsageException;

/** The benchmark runs and prints its JSON (a smoke test on a tiny model, not a timing). */
class TrainStepBenchTest {

    @Test
    void printsJson() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        int code = TrainStepBench.run(new String[] {"--vocab", "64", "--d-model", "16", "--layers", "1", "--heads",
            "2", "--seq-len", "8", "--batch", "2", "--steps", "2", "--warmup", "1", "--objective", "mlm"},
            new PrintStream(bytes, true, StandardCharsets.UTF_8));
        assertEquals(0, code);
        JsonNode j = new ObjectMapper().readTree(bytes.toString(StandardCharsets.UTF_8));
        assertEquals(new TransformerConfig(64, 1, 16, 2, 64, 8, 0, AttentionMode.BIDIRECTIONAL).parameterCount(),
            j.get("parameters").asLong());
        assertTrue(j.get("tokens_per_s").asDouble() > 0);
        assertTrue(j.get("ms_per_step_by_phase").has("backward"));
        assertTrue(j.get("ms_per_step_by_op_group").has("attention_matmul"));
        assertThrows(UsageException.class, () -> TrainStepBench.run(new String[] {"--layer", "2"}, System.out));
    }
}
