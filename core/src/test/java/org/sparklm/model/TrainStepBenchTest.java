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

    @Test
    void encoderDecoderConfigsCountInputPlusTargetTokens() throws Exception {
        java.nio.file.Path f = java.nio.file.Files.createTempFile("t5-micro", ".conf");
        java.nio.file.Files.writeString(f, "architecture = encoder-decoder\nd_model = 16\nheads = 2\nd_ff = 32\n"
            + "encoder_layers = 1\ndecoder_layers = 1\nencoder_context_length = 8\ndecoder_context_length = 4\n");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        int code = TrainStepBench.run(new String[] {"--model", f.toString(), "--vocab", "64", "--batch", "2",
            "--steps", "2", "--warmup", "1"}, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        java.nio.file.Files.delete(f);
        assertEquals(0, code);
        JsonNode j = new ObjectMapper().readTree(bytes.toString(StandardCharsets.UTF_8));
        TransformerConfig c = TransformerConfig.encoderDecoder(64, 16, 2, 32, 1, 1, 8, 4, true, 32, 128);
        assertEquals(c.parameterCount(), j.get("parameters").asLong());
        assertEquals(2 * (8 + 4), j.get("tokens_per_step").asLong());
        assertEquals((long) (c.trainingFlopsPerSequence() / 12), j.get("flops_per_token").asLong());
        assertEquals("span", j.get("config").get("objective").asText());
        assertTrue(j.get("final_loss").asDouble() > 0);
        assertThrows(UsageException.class, () -> TrainStepBench.run(new String[] {"--objective", "span"},
            System.out));
    }
}
