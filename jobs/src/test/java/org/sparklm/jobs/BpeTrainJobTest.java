package org.sparklm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparklm.cli.UsageException;
import org.sparklm.io.AtomicOutput;
import org.sparklm.tokenizer.SpecialTokens;
import org.sparklm.tokenizer.bpe.BpeMode;
import org.sparklm.tokenizer.bpe.BpeModel;
import org.sparklm.tokenizer.bpe.BpeTrainer;
import org.sparklm.tokenizer.bpe.TokenizerFiles;
import org.sparklm.tokenizer.bpe.WordSplitter;

class BpeTrainJobTest extends SparkTestBase {
    private static final int LINES = 20_000;

    @TempDir
    Path tmp;

    static Path brown() {
        for (Path p : List.of(Path.of("../data/brown/brown.txt"), Path.of("data/brown/brown.txt"))) {
            if (Files.isRegularFile(p)) {
                return p.toAbsolutePath();
            }
        }
        throw new IllegalStateException("bundled corpus not found");
    }

    static List<String> brownLines(int n) throws IOException {
        try (Stream<String> s = Files.lines(brown())) {
            return s.limit(n).toList();
        }
    }

    /** Word counts of lines, split as the job splits them, on one thread. */
    static Map<String, Long> countWords(List<String> lines, BpeMode mode) {
        Map<String, Long> counts = new HashMap<>();
        for (String line : lines) {
            WordSplitter.split(mode, line, (s, e) -> counts.merge(line.substring(s, e), 1L, Long::sum));
        }
        return counts;
    }

    /** The same corpus trained on one thread, without Spark. */
    static BpeModel direct(List<String> lines, BpeMode mode, int vocab) {
        Map<String, Long> counts = countWords(lines, mode);
        BpeTrainer t = new BpeTrainer(new BpeTrainer.Config(mode, vocab, 2, SpecialTokens.DEFAULT));
        counts.forEach(t::addWord);
        return t.train().model();
    }

    private BpeTrainJob.Params params(List<String> inputs, Path out, int vocab, BpeMode mode, int partitions,
                                      boolean overwrite) {
        return new BpeTrainJob.Params(inputs, out.toUri().toString(), vocab, mode, 2, SpecialTokens.DEFAULT,
            overwrite, partitions);
    }

    @Test
    void sameMergesWhateverThePartitioningAndFileSplit() throws Exception {
        List<String> lines = brownLines(LINES);
        int vocab = 107 + 256 + 800;
        BpeModel expected = direct(lines, BpeMode.BYTE, vocab);
        Path one = tmp.resolve("one.txt");
        Files.write(one, lines, StandardCharsets.UTF_8);
        // the same lines across 13 files, one gzipped, in a directory
        Path dir = tmp.resolve("many");
        Files.createDirectories(dir);
        int per = lines.size() / 13 + 1;
        for (int f = 0; f * per < lines.size(); f++) {
            List<String> chunk = lines.subList(f * per, Math.min(lines.size(), (f + 1) * per));
            if (f == 3) {
                try (OutputStream o = new GZIPOutputStream(Files.newOutputStream(dir.resolve("part-" + f + ".txt.gz")))) {
                    o.write((String.join("\n", chunk) + "\n").getBytes(StandardCharsets.UTF_8));
                }
            } else {
                Files.write(dir.resolve("part-" + f + ".txt"), chunk, StandardCharsets.UTF_8);
            }
        }
        Files.writeString(dir.resolve("_SUCCESS"), "not data");
        int run = 0;
        for (int partitions : new int[] {1, 2, 7}) {
            // a file:// URI, a directory, and a glob plus a plain path naming the same files
            List<List<String>> inputs = List.of(List.of(one.toUri().toString()), List.of(dir.toString()),
                List.of(dir.toUri() + "/part-[0-5].txt*", dir.resolve("part-6.txt").toString(), dir + "/part-{7,8,9}.txt",
                    dir + "/part-1?.txt"));
            for (List<String> input : inputs) {
                Path out = tmp.resolve("out-" + run++);
                BpeTrainJob.Report r = BpeTrainJob.run(sc, params(input, out, vocab, BpeMode.BYTE,
                    partitions, false));
                assertEquals(expected, r.model(), "partitions " + partitions + " input " + input);
                assertEquals(expected, TokenizerFiles.load(out), "written tokenizer.json");
                assertEquals(LINES, r.json().at("/input/lines").asLong());
            }
        }
    }

    @Test
    void charEowModeMatchesDirectTraining() throws Exception {
        List<String> lines = brownLines(5000);
        Path in = tmp.resolve("in.txt");
        Files.write(in, lines, StandardCharsets.UTF_8);
        int vocab = 107 + 500;
        BpeTrainJob.Report r = BpeTrainJob.run(sc, params(List.of(in.toString()), tmp.resolve("o"), vocab,
            BpeMode.CHAR_EOW, 3, false));
        assertEquals(direct(lines, BpeMode.CHAR_EOW, vocab), r.model());
    }

    @Test
    void splitInputSplitsGiveTheSameMerges() throws Exception {
        // many small input splits inside one file (Hadoop's max split size), against one split
        List<String> lines = brownLines(8000);
        Path in = tmp.resolve("in.txt");
        Files.write(in, lines, StandardCharsets.UTF_8);
        int vocab = 107 + 256 + 300;
        String key = "mapreduce.input.fileinputformat.split.maxsize";
        String old = sc.hadoopConfiguration().get(key);
        sc.hadoopConfiguration().set(key, "65536");
        try {
            BpeTrainJob.Report r = BpeTrainJob.run(sc, params(List.of(in.toString()), tmp.resolve("o"), vocab,
                BpeMode.BYTE, 2, false));
            assertEquals(direct(lines, BpeMode.BYTE, vocab), r.model());
            assertEquals(8000, r.json().at("/input/lines").asLong());
        } finally {
            if (old == null) {
                sc.hadoopConfiguration().unset(key);
            } else {
                sc.hadoopConfiguration().set(key, old);
            }
        }
    }

    @Test
    void writesAllOutputsAndAReport() throws Exception {
        Path in = tmp.resolve("in.txt");
        Files.write(in, brownLines(3000), StandardCharsets.UTF_8);
        Path out = tmp.resolve("tok");
        BpeTrainJob.run(sc, params(List.of(in.toString()), out, 107 + 256 + 100, BpeMode.BYTE, 0, false));
        try (Stream<Path> s = Files.list(out)) {
            List<String> names = new ArrayList<>(s.map(p -> p.getFileName().toString()).sorted().toList());
            names.removeIf(n -> n.startsWith(".") && n.endsWith(".crc"));
            assertEquals(List.of("merges.txt", "report.json", "tokenizer.json", "vocab.json"), names);
        }
        JsonNode rep = new ObjectMapper().readTree(out.resolve("report.json").toFile());
        assertEquals(100, rep.at("/vocabulary/merge_counts").size());
        assertEquals(Files.size(in), rep.at("/input/bytes").asLong());
        assertTrue(rep.at("/input/unique_words").asLong() > 1000);
        assertTrue(rep.at("/memory/driver_peak_heap_bytes").asLong() > 0);
        for (String phase : List.of("count_words", "count_pairs", "collect_words", "merge", "write", "total")) {
            assertTrue(rep.at("/seconds/" + phase).isNumber(), phase);
        }
        // no temporary directory left beside the output
        try (Stream<Path> s = Files.list(tmp)) {
            assertFalse(s.anyMatch(p -> p.getFileName().toString().contains("_tmp-")));
        }
    }

    @Test
    void invalidUtf8IsReplacedAndCounted() throws Exception {
        Path in = tmp.resolve("bad.txt");
        byte[] text = "caf\u00e9 ok\nabc \u00ff\u00fe def\nhello world\n".getBytes(StandardCharsets.ISO_8859_1);
        Files.write(in, text);
        BpeTrainJob.Report r = BpeTrainJob.run(sc, params(List.of(in.toString()), tmp.resolve("o"), 107 + 256 + 5,
            BpeMode.BYTE, 0, false));
        assertEquals(3, r.json().at("/input/invalid_utf8_sequences").asLong()); // é, ÿ, þ as lone Latin-1 bytes
        assertEquals(3, r.json().at("/input/lines").asLong());
    }

    @Test
    void refusesExistingOutputWithoutOverwriteAndReplacesWithIt() throws Exception {
        Path in = tmp.resolve("in.txt");
        Files.write(in, brownLines(500), StandardCharsets.UTF_8);
        Path out = tmp.resolve("exists");
        Files.createDirectories(out);
        Files.writeString(out.resolve("keep.txt"), "precious");
        assertThrows(AtomicOutput.OutputExistsException.class, () -> BpeTrainJob.run(sc,
            params(List.of(in.toString()), out, 107 + 256 + 10, BpeMode.BYTE, 0, false)));
        assertEquals("precious", Files.readString(out.resolve("keep.txt")));
        BpeTrainJob.run(sc, params(List.of(in.toString()), out, 107 + 256 + 10, BpeMode.BYTE, 0, true));
        assertFalse(Files.exists(out.resolve("keep.txt")));
        assertTrue(Files.exists(out.resolve("tokenizer.json")));
    }

    @Test
    void badInputFailsBeforeWritingAnything() throws Exception {
        Path out = tmp.resolve("never");
        assertThrows(java.io.FileNotFoundException.class, () -> BpeTrainJob.run(sc,
            params(List.of(tmp.resolve("missing.txt").toString()), out, 1000, BpeMode.BYTE, 0, false)));
        Path empty = tmp.resolve("empty.txt");
        Files.write(empty, new byte[0]);
        assertThrows(UsageException.class, () -> BpeTrainJob.run(sc,
            params(List.of(empty.toString()), out, 1000, BpeMode.BYTE, 0, false)));
        Path blank = tmp.resolve("blank.txt");
        Files.writeString(blank, "\n   \n\t\n");
        assertThrows(UsageException.class, () -> BpeTrainJob.run(sc,
            params(List.of(blank.toString()), out, 1000, BpeMode.CHAR_EOW, 0, false)));
        // a vocabulary too small for the alphabet of the corpus (char-eow: known only after counting)
        Path in = tmp.resolve("in.txt");
        Files.write(in, brownLines(500), StandardCharsets.UTF_8);
        assertThrows(UsageException.class, () -> BpeTrainJob.run(sc,
            params(List.of(in.toString()), out, 110, BpeMode.CHAR_EOW, 0, false)));
        assertFalse(Files.exists(out));
        try (Stream<Path> s = Files.list(tmp)) {
            assertFalse(s.anyMatch(p -> p.getFileName().toString().contains("_tmp-")));
        }
    }

    @Test
    void minWordCountPrunesRareWordsBeforeMerging() throws Exception {
        List<String> lines = brownLines(4000);
        Path in = tmp.resolve("in.txt");
        Files.write(in, lines, StandardCharsets.UTF_8);
        int vocab = 107 + 256 + 300;
        BpeTrainJob.Report r = BpeTrainJob.run(sc, new BpeTrainJob.Params(List.of(in.toString()),
            tmp.resolve("o").toString(), vocab, BpeMode.BYTE, 2, SpecialTokens.DEFAULT, false, 2, 3));
        Map<String, Long> counts = countWords(lines, BpeMode.BYTE);
        BpeTrainer t = new BpeTrainer(new BpeTrainer.Config(BpeMode.BYTE, vocab, 2, SpecialTokens.DEFAULT));
        counts.forEach((w, c) -> {
            if (c >= 3) {
                t.addWord(w, c);
            }
        });
        BpeTrainer.Result pruned = t.train();
        assertEquals(pruned.model(), r.model());
        assertEquals(pruned.uniqueWords(), r.json().at("/input/unique_words").asLong());
        assertTrue(pruned.uniqueWords() < counts.size());
    }

    @Test
    void parseRejectsBadOptionsWithOneLine() {
        UsageException e = assertThrows(UsageException.class,
            () -> BpeTrainJob.parse(new String[] {"--input", "x", "--output", "y", "--vocab-size", "300"}));
        assertTrue(e.getMessage().contains("363"), e.getMessage());
        assertThrows(UsageException.class, () -> BpeTrainJob.parse(new String[] {"--output", "y"}));
        assertThrows(UsageException.class,
            () -> BpeTrainJob.parse(new String[] {"--input", "x", "--output", "y", "--mode", "word"}));
        assertThrows(UsageException.class,
            () -> BpeTrainJob.parse(new String[] {"--input", "x", "--output", "y", "--bogus"}));
        BpeTrainJob.Params p = BpeTrainJob.parse(new String[] {"--input", "a", "b*", "--output", "o"});
        assertEquals(List.of("a", "b*"), p.inputs());
        assertEquals(30000, p.vocabSize());
        assertEquals(BpeMode.BYTE, p.mode());
        assertEquals(2, p.minFrequency());
        assertEquals(SpecialTokens.DEFAULT, p.specialTokens());
    }
}
