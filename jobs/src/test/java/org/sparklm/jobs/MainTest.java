package org.sparklm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparklm.jobs.MainRun.Outcome;

/** The entry point's contract: one error line and exit code 2 for bad input; --help. No Spark context is started. */
class MainTest {
    @TempDir
    Path tmp;

    private static Outcome run(String... args) {
        return MainRun.run(args);
    }

    @Test
    void helpListsCommandsAndOptions() {
        Outcome o = run("--help");
        assertEquals(0, o.code());
        assertTrue(o.out().contains("bpe-train") && o.out().contains("tokenize") && o.out().contains("shard"),
            o.out());
        Outcome h = run("bpe-train", "--help");
        assertEquals(0, h.code());
        for (String opt : new String[] {"--input", "--output", "--vocab-size", "--mode", "--min-frequency",
            "--special-tokens", "--overwrite", "--help"}) {
            assertTrue(h.out().contains(opt), opt + " missing from help");
        }
    }

    @Test
    void badInputGivesOneErrorLineAndExitCode2() throws Exception {
        Outcome unknown = run("frobnicate");
        assertEquals(2, unknown.code());
        assertEquals(1, unknown.err().strip().lines().count(), unknown.err());
        Outcome small = run("bpe-train", "--input", "x", "--output", tmp.resolve("o").toString(), "--vocab-size",
            "100");
        assertEquals(2, small.code());
        assertTrue(small.err().startsWith("sparklm bpe-train: error: "), small.err());
        assertEquals(1, small.err().strip().lines().count(), small.err());
        Outcome tok = run("tokenize", "--tokenizer", tmp.resolve("nothing").toString());
        assertEquals(2, tok.code());
        assertTrue(tok.err().contains("no tokenizer at"), tok.err());
        assertEquals(1, tok.err().strip().lines().count(), tok.err());
        assertTrue(!Files.exists(tmp.resolve("o")));
        Outcome shard = run("shard", "--input", "x", "--output", tmp.resolve("s").toString());
        assertEquals(2, shard.code());
        assertTrue(shard.err().startsWith("sparklm shard: error: ") && shard.err().contains("--tokenizer"),
            shard.err());
        assertEquals(1, shard.err().strip().lines().count(), shard.err());
        assertTrue(!shard.err().contains("error: shard:"), "command named twice: " + shard.err());
        Outcome fraction = run("shard", "--input", "x", "--output", tmp.resolve("s").toString(), "--tokenizer", "t",
            "--val-fraction", "1.5");
        assertEquals(2, fraction.code());
        assertTrue(fraction.err().contains("--val-fraction"), fraction.err());
        assertTrue(!Files.exists(tmp.resolve("s")));
    }
}
