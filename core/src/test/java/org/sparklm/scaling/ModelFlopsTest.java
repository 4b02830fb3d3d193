package org.sparklm.scaling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.sparklm.model.TransformerConfig;

/** FLOPs per token of every model config in conf/models against a count by hand, and N as the sweep counts it. */
class ModelFlopsTest {

    /**
     * Hand counts at vocabulary 8000 (N = blocks + final LayerNorm + LM head; a block is 2 LayerNorms 4d, q/k/v
     * d x 3d + 3d, output projection d x d + d, MLP d x f + f and f x d + d):
     * tiny (2 layers, d 64, f 256, T 64): block 256 + 12 480 + 4 160 + 16 640 + 16 448 = 49 984; N = 2 x 49 984 + 128 +
     *   64 x 8000 = 612 096; 6N = 3 672 576; 12 L T d = 12 x 2 x 64 x 64 = 98 304.
     * small (6 layers, d 256, f 1024, T 256): block 1 024 + 197 376 + 65 792 + 263 168 + 262 400 = 789 760;
     *   N = 6 x 789 760 + 512 + 256 x 8000 = 6 787 072; 6N = 40 722 432; 12 L T d = 12 x 6 x 256 x 256 = 4 718 592.
     */
    private static final Map<String, long[]> HAND = Map.of(
        "tiny", new long[] {612_096, 3_672_576, 98_304},
        "small", new long[] {6_787_072, 40_722_432, 4_718_592});

    /**
     * Encoder-decoders (tied embeddings, 32 relative buckets per head and stack), at vocabulary 8000: N = (Le + Ld)
     * blocks + Ld cross-attentions (2d + d x d + d + d x 2d + 2d + d x d + d) + 2 final norms 4d + 2 x 32 x H; FLOPs
     * per sequence 6 (Te (encoder + Ld kv) + Td (decoder without kv + d V)) + 12 d (Le Te^2 + Ld Td^2 + Ld Td Te)
     * with kv = d x 2d + 2d, per token over Te + Td tokens.
     * t5-tiny (2 + 2 layers, d 64, f 256, H 2, Te 64, Td 32): block 49 984, cross 16 768, N = 4 x 49 984 + 2 x 16 768
     *   + 256 + 128 = 233 856; kv 8 320, encoder 2 x 49 984 + 128 = 100 096, decoder 2 x (49 984 + 16 768 - 8 320) +
     *   128 = 116 992; 6 (64 x 116 736 + 32 x 628 992) = 165 593 088, 12 x 64 x (8 192 + 2 048 + 4 096) = 11 010 048;
     *   per token 176 603 136 / 96 = 1 839 616.
     * t5-small (4 + 4 layers, d 256, f 1024, H 4, Te 256, Td 64): block 789 760, cross 263 680, N = 8 x 789 760 +
     *   4 x 263 680 + 1 024 + 256 = 7 374 080; kv 131 584, encoder 3 159 552, decoder 3 687 936;
     *   6 (256 x 3 685 888 + 64 x 5 735 936) = 7 864 123 392, 12 x 256 x 4 x (65 536 + 4 096 + 16 384) = 1 056 964 608;
     *   per token 8 921 088 000 / 320 = 27 878 400.
     */
    private static final Map<String, long[]> HAND_ENC_DEC = Map.of(
        "t5-tiny", new long[] {233_856, 1_839_616},
        "t5-small", new long[] {7_374_080, 27_878_400});

    @Test
    void everyModelConfigAgainstAHandCount() throws Exception {
        Path dir = Path.of("../conf/models");
        List<Path> confs;
        try (Stream<Path> s = Files.list(dir)) {
            confs = s.filter(p -> p.toString().endsWith(".conf")).sorted().toList();
        }
        assertFalse(confs.isEmpty());
        for (Path p : confs) {
            String name = p.getFileName().toString().replace(".conf", "");
            TransformerConfig c = TransformerConfig.load(p.toString(), Map.of("vocab_size", "8000"));
            if (c.isEncoderDecoder()) {
                long[] hand = HAND_ENC_DEC.get(name);
                assertNotNull(hand, "conf/models/" + name + ".conf has no hand count in this test: add one");
                assertEquals(hand[0], Scaling.parameters(c), name + " N");
                assertEquals(hand[1], c.trainingFlopsPerToken(), name + " FLOPs per token");
                continue;
            }
            long[] hand = HAND.get(name);
            assertNotNull(hand, "conf/models/" + name + ".conf has no hand count in this test: add one");
            assertEquals(hand[0], Scaling.parameters(c), name + " N");
            assertEquals(hand[1], c.denseFlopsPerToken(), name + " 6N");
            assertEquals(hand[2], c.attentionFlopsPerToken(), name + " 12LTd");
            assertEquals(hand[1] + hand[2], c.trainingFlopsPerToken(), name + " total");
        }
    }

    @Test
    void sweepSizesAndSteps() {
        // 1x32 at vocabulary 2048, T 64: block 12 x 32^2 + 13 x 32 = 12 704; N = 12 704 + 64 + 32 x 2048 = 78 304
        TransformerConfig c = SweepGrid.model("1x32", 2048, 64);
        assertEquals(1, c.heads());
        assertEquals(78_304, Scaling.parameters(c));
        assertEquals(3, SweepGrid.model("2x48", 2048, 64).heads());   // 48 / 16
        assertEquals(4, SweepGrid.model("2x64x4", 2048, 64).heads());
        // 1 token per parameter: 78 304 tokens in steps of 16 x 64 = 1024 -> 77 steps (78 848 tokens)
        assertEquals(77, SweepGrid.steps(78_304, 1, 16, 64));
    }

    @Test
    void everySweepRunHasItsOwnName() {
        SweepConfig c = SweepConfig.commandLine().parse(new String[] {"--data", "d", "--output", "o", "--sizes",
            "1x32", "tiny", "--tokens-per-param", "0.5", "1", "20"});
        List<String> names = SweepGrid.runs(c, 2048).stream().map(SweepGrid.Spec::name).sorted().toList();
        assertEquals(List.of("1x32-tpp0.5", "1x32-tpp1", "1x32-tpp20", "tiny-tpp0.5", "tiny-tpp1", "tiny-tpp20"),
            names);
        // the same size or budget twice is refused when parsed
        org.sparklm.UsageException e = org.junit.jupiter.api.Assertions.assertThrows(
            org.sparklm.UsageException.class, () -> SweepConfig.commandLine().parse(new String[] {"--data", "d",
                "--output", "o", "--sizes", "1x32", "1x32", "--tokens-per-param", "1"}));
        assertEquals("sweep: --sizes lists 1x32 twice", e.getMessage());
        // two model files with one file name would share a run directory
        SweepConfig twoFiles = SweepConfig.commandLine().parse(new String[] {"--data", "d", "--output", "o",
            "--sizes", "a/m.conf", "b/m.conf", "--tokens-per-param", "1"});
        IllegalArgumentException x = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
            () -> SweepGrid.runs(twoFiles, 2048));
        assertEquals("--sizes: two runs would be named m-tpp1 ('b/m.conf' and another size share a file name);"
            + " rename one of the files", x.getMessage());
    }
}
