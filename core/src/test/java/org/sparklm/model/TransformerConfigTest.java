package org.sparklm.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TransformerConfigTest {

    @TempDir
    Path tmp;

    @Test
    void parsesKeysCommentsAndDefaults() {
        TransformerConfig c = TransformerConfig.parse("""
            # a comment
            vocab_size = 100
            layers = 3   # trailing comment
            d_model=48
            heads = 4

            context_length = 32
            """, "t.conf", Map.of());
        assertEquals(new TransformerConfig(100, 3, 48, 4, 192, 32, 0.1, AttentionMode.CAUSAL), c);
        assertEquals(12, c.headDim());
    }

    @Test
    void unknownKeysAndBadValuesAreErrorsNamingThem() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> TransformerConfig.parse("vocab_size = 10\nlayer = 2\n", "x.conf", Map.of()));
        assertTrue(e.getMessage().contains("x.conf:2") && e.getMessage().contains("'layer'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TransformerConfig.parse(
            "vocab_size = 10\nlayers = two\nd_model = 8\nheads = 2\ncontext_length = 4", "x.conf", Map.of()));
        assertTrue(e.getMessage().contains("layers") && e.getMessage().contains("'two'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TransformerConfig.parse(
            "vocab_size = 10\nlayers = 2\nd_model = 10\nheads = 3\ncontext_length = 4", "x.conf", Map.of()));
        assertTrue(e.getMessage().contains("heads must divide d_model"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TransformerConfig.parse(
            "vocab_size = 10\nlayers = 2\nd_model = 8\nheads = 2\ncontext_length = 4\nattention = sideways", "x.conf",
            Map.of()));
        assertTrue(e.getMessage().contains("sideways"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TransformerConfig.parse(
            "vocab_size = 10\nlayers = 2\nd_model = 8\nheads = 2\ncontext_length = 4\ndropout = 1.5", "x.conf",
            Map.of()));
        assertTrue(e.getMessage().contains("dropout"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
            () -> TransformerConfig.load("tiny", Map.of("vocab", "100")));
        assertTrue(e.getMessage().contains("'vocab'"), e.getMessage());
    }

    @Test
    void namedConfigsLoadFromTheClasspathWithTheVocabularyAsOverride() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> TransformerConfig.load("tiny", Map.of()));
        assertTrue(e.getMessage().contains("vocab_size"), e.getMessage());

        TransformerConfig tiny = TransformerConfig.load("tiny", Map.of("vocab_size", "8000"));
        assertEquals(new TransformerConfig(8000, 2, 64, 2, 256, 64, 0.0, AttentionMode.CAUSAL), tiny);

        TransformerConfig small = TransformerConfig.load("small", Map.of("vocab_size", "8000"));
        assertEquals(6, small.layers());
        assertEquals(256, small.dModel());
        long n = small.parameterCount();
        assertTrue(n > 8_000_000 && n < 11_000_000, "small has about 10M parameters: " + n);

        e = assertThrows(IllegalArgumentException.class, () -> TransformerConfig.load("huge", Map.of()));
        assertTrue(e.getMessage().contains("unknown model 'huge'"), e.getMessage());
    }

    @Test
    void loadsAFileAndAConfDirectory() throws Exception {
        Path f = tmp.resolve("mine.conf");
        Files.writeString(f, "layers = 1\nd_model = 16\nheads = 2\ncontext_length = 8\nattention = bidirectional\n");
        TransformerConfig c = TransformerConfig.load(f.toString(), Map.of("vocab_size", "50"));
        assertEquals(AttentionMode.BIDIRECTIONAL, c.attention());
        assertEquals(64, c.dFf());

        Files.createDirectories(tmp.resolve("models"));
        Files.writeString(tmp.resolve("models/tiny.conf"), "layers = 1\nd_model = 8\nheads = 1\ncontext_length = 4\n");
        String old = System.getProperty("sparklm.conf.dir");
        System.setProperty("sparklm.conf.dir", tmp.toString());
        try {
            assertEquals(8, TransformerConfig.load("tiny", Map.of("vocab_size", "9")).dModel());
        } finally {
            if (old == null) {
                System.clearProperty("sparklm.conf.dir");
            } else {
                System.setProperty("sparklm.conf.dir", old);
            }
        }
    }

    @Test
    void jsonRoundTripAndCounts() {
        TransformerConfig c = new TransformerConfig(4096, 4, 128, 4, 512, 128, 0.1, AttentionMode.BIDIRECTIONAL);
        assertEquals(c, TransformerConfig.fromJson(c.toJson()));
        assertThrows(IllegalArgumentException.class, () -> TransformerConfig.fromJson("{\"vocab_size\": 5, \"x\": 1}"));
        // the benchmark model of the issue: 1.86M parameters, untied head without bias
        assertEquals(1_858_304, c.parameterCount());
        assertEquals(1_317_632, c.nonEmbeddingParameters());
        assertEquals(6.0 * 1_317_632 + 12.0 * 4 * 128 * 128, c.trainingFlopsPerToken());
    }
}
