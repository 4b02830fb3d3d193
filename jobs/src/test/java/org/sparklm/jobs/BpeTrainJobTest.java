package org.sparklm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
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
import org.sparklm.UsageException;
import org.sparklm.data.DocFormat;
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

    private BpeTrainJob.Params params(List<String> inputs, Path out, int vocab, DocFormat format, String field,
                                      boolean strict) {
        return new BpeTrainJob.Params(inputs, out.toString(), vocab, BpeMode.BYTE, 2, SpecialTokens.DEFAULT, false,
            2, 1, format, field, strict);
    }

    /** A JSON string literal: escapes quotes, backslashes, control characters and (some) non-ASCII. */
    static String json(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20 || c > 0x7e && !Character.isSurrogate(c) && c % 3 == 0) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }

    @Test
    void jsonlGivesTheMergesOfTheSameTextsAsLines() throws Exception {
        List<String> texts = new ArrayList<>(brownLines(6000));
        texts.set(5, "Caf\u00e9 \"quoted\" back\\slash \u6f22\u5b57 \ud83d\ude42 and a {\"brace\": 1}");
        int vocab = 107 + 256 + 400;
        Path lines = tmp.resolve("lines.txt");
        Files.write(lines, texts, StandardCharsets.UTF_8);
        // the same texts as JSON objects, with other fields, blank texts, malformed lines and a BOM
        List<String> jsonl = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            jsonl.add("{\"id\": " + i + ", \"text\": " + json(texts.get(i)) + ", \"meta\": {\"n\": [1, 2]}}");
            if (i == 10) {
                jsonl.add("{\"id\": \"no text\"}");
                jsonl.add("");
                jsonl.add("{\"text\": \"   \"}");
            }
            if (i == 20) {
                jsonl.add("{\"text\": [\"not\", \"a string\"]}");
                jsonl.add("{broken");
            }
        }
        Path j = tmp.resolve("corpus.jsonl");
        Files.write(j, ("\uFEFF" + String.join("\n", jsonl) + "\n").getBytes(StandardCharsets.UTF_8));

        BpeModel expected = direct(texts, BpeMode.BYTE, vocab);
        BpeTrainJob.Report asLines = BpeTrainJob.run(sc, params(List.of(lines.toString()), tmp.resolve("l"), vocab,
            DocFormat.LINE, "text", false));
        BpeTrainJob.Report asJsonl = BpeTrainJob.run(sc, params(List.of(j.toString()), tmp.resolve("j"), vocab,
            DocFormat.JSONL, "text", false));
        assertEquals(expected, asLines.model());
        assertEquals(expected, asJsonl.model());
        assertEquals(Files.readString(tmp.resolve("l/merges.txt")), Files.readString(tmp.resolve("j/merges.txt")));
        assertEquals(asLines.json().at("/vocabulary/merge_counts"), asJsonl.json().at("/vocabulary/merge_counts"));
        assertEquals(asLines.json().at("/input/words"), asJsonl.json().at("/input/words"));

        JsonNode in = asJsonl.json().at("/input");
        assertEquals(texts.size() + 5, in.path("records").asLong());
        assertEquals(texts.size(), in.path("documents").asLong());
        assertEquals(2, in.path("empty_documents_skipped").asLong());
        assertEquals(3, in.path("malformed_records_skipped").asLong());
        assertEquals(List.of(12L, 25L, 26L), List.of(in.at("/first_malformed/0/line").asLong(),
            in.at("/first_malformed/1/line").asLong(), in.at("/first_malformed/2/line").asLong()));
        assertTrue(in.at("/first_malformed/0/reason").asText().contains("no field 'text'"), in.toString());
        assertEquals("jsonl", asJsonl.json().at("/config/doc_format").asText());
        assertEquals("text", asJsonl.json().at("/config/text_field").asText());
        assertEquals(in.path("records"), in.path("lines"));

        // --strict: the same corpus is an error naming the malformed lines, and nothing is written
        UsageException e = assertThrows(UsageException.class, () -> BpeTrainJob.run(sc, params(List.of(j.toString()),
            tmp.resolve("strict"), vocab, DocFormat.JSONL, "text", true)));
        assertTrue(e.getMessage().startsWith("bpe-train: 3 malformed JSON line(s) (--strict): ")
            && e.getMessage().contains("corpus.jsonl:12: no field 'text'")
            && e.getMessage().contains("corpus.jsonl:26: invalid JSON"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("strict")));
        // a JSON pointer
        Path nested = tmp.resolve("nested.jsonl");
        List<String> n = new ArrayList<>();
        for (String t : texts) {
            n.add("{\"meta\": {\"body\": " + json(t) + "}, \"text\": \"decoy\"}");
        }
        Files.write(nested, n, StandardCharsets.UTF_8);
        assertEquals(expected, BpeTrainJob.run(sc, params(List.of(nested.toString()), tmp.resolve("n"), vocab,
            DocFormat.JSONL, "/meta/body", true)).model());
    }

    @Test
    void aDocumentsNewlinesAreWhitespaceOfOneTextInJsonlAndFileAlike() throws Exception {
        // documents of several lines, joined by newlines (paragraph breaks of 1-3 newlines, some after spaces)
        List<String> lines = brownLines(6000);
        java.util.Random r = new java.util.Random(5);
        List<String> docs = new ArrayList<>();
        for (int i = 0; i < lines.size(); ) {
            int k = 1 + r.nextInt(6);
            StringBuilder d = new StringBuilder();
            for (int m = 0; m < k && i < lines.size(); m++, i++) {
                if (m > 0) {
                    d.append(List.of("\n", "\n\n", " \n", "\n\n\n", "\r\n").get(r.nextInt(5)));
                }
                d.append(lines.get(i));
            }
            docs.add(d.toString());
        }
        Path j = tmp.resolve("docs.jsonl");
        Files.write(j, docs.stream().map(d -> "{\"text\": " + json(d) + "}").toList(), StandardCharsets.UTF_8);
        Path dir = tmp.resolve("files");
        Files.createDirectories(dir);
        for (int i = 0; i < docs.size(); i++) {
            Files.writeString(dir.resolve(String.format("doc-%05d.txt", i)), docs.get(i)); // no final newline
        }
        int vocab = 107 + 256 + 400;
        BpeTrainJob.Report asJsonl = BpeTrainJob.run(sc, params(List.of(j.toString()), tmp.resolve("j"), vocab,
            DocFormat.JSONL, "text", false));
        BpeTrainJob.Report asFiles = BpeTrainJob.run(sc, params(List.of(dir.toString()), tmp.resolve("f"), vocab,
            DocFormat.FILE, "text", false));
        // each document split whole by the pre-tokenizer, on one thread
        BpeModel expected = direct(docs, BpeMode.BYTE, vocab);
        assertEquals(expected, asJsonl.model());
        assertEquals(expected, asFiles.model());
        assertEquals(docs.size(), asFiles.json().at("/input/records").asLong());
        assertEquals(docs.size(), asFiles.json().at("/input/documents").asLong());
        assertEquals(asJsonl.json().at("/input/words"), asFiles.json().at("/input/words"));
        // the newlines are words of their own (and pairs of "\n\n"), which splitting at line breaks would lose
        long splitWords = countWords(lines, BpeMode.BYTE).values().stream().mapToLong(Long::longValue).sum();
        assertTrue(asJsonl.json().at("/input/words").asLong() > splitWords);
        assertNotEquals(direct(lines, BpeMode.BYTE, vocab), asJsonl.model());
    }

    @Test
    void blankLinesAreSkippedAndCounted() throws Exception {
        Path in = tmp.resolve("in.txt");
        List<String> lines = new ArrayList<>(brownLines(2000));
        lines.add(7, "");
        lines.add(9, "   \t ");
        Files.write(in, lines, StandardCharsets.UTF_8);
        BpeTrainJob.Report r = BpeTrainJob.run(sc, params(List.of(in.toString()), tmp.resolve("o"), 107 + 256 + 50,
            DocFormat.LINE, "text", false));
        assertEquals(2002, r.json().at("/input/records").asLong());
        assertEquals(2000, r.json().at("/input/documents").asLong());
        assertEquals(2, r.json().at("/input/empty_documents_skipped").asLong());
        assertEquals(direct(brownLines(2000), BpeMode.BYTE, 107 + 256 + 50), r.model());
    }

    @Test
    void parseTakesTheDocumentOptionsOfShardWithTheSameHelpAndErrors() {
        BpeTrainJob.Params p = BpeTrainJob.parse(new String[] {"--input", "a", "--output", "o", "--doc-format",
            "jsonl", "--text-field", "/meta/body", "--strict"});
        assertEquals(DocFormat.JSONL, p.format());
        assertEquals("/meta/body", p.textField());
        assertTrue(p.strict());
        BpeTrainJob.Params d = BpeTrainJob.parse(new String[] {"--input", "a", "--output", "o"});
        assertEquals(DocFormat.LINE, d.format());
        assertEquals("text", d.textField());
        assertFalse(d.strict());
        UsageException e = assertThrows(UsageException.class, () -> BpeTrainJob.parse(new String[] {"--input", "a",
            "--output", "o", "--doc-format", "csv"}));
        assertEquals("bpe-train: --doc-format: unknown document format 'csv' (line, file or jsonl)", e.getMessage());
        e = assertThrows(UsageException.class, () -> ShardJob.parse(new String[] {"--input", "a", "--output", "o",
            "--tokenizer", "t", "--doc-format", "csv"}));
        assertEquals("shard: --doc-format: unknown document format 'csv' (line, file or jsonl)", e.getMessage());
        e = assertThrows(UsageException.class, () -> BpeTrainJob.parse(new String[] {"--input", "a", "--output", "o",
            "--text-field", ""}));
        assertEquals("bpe-train: --text-field is empty", e.getMessage());
        String bpeHelp = BpeTrainJob.options().help();
        String shardHelp = ShardJob.options().help();
        for (String option : List.of("--doc-format", "--text-field", "--strict")) {
            String a = helpOf(bpeHelp, option);
            assertEquals(helpOf(shardHelp, option), a, option);
            assertTrue(a.length() > 40, a);
        }
    }

    /** The help lines of one option (its line and the continuation lines). */
    private static String helpOf(String help, String option) {
        StringBuilder b = new StringBuilder();
        boolean in = false;
        for (String line : help.split("\n")) {
            if (line.strip().startsWith("--")) {
                in = line.strip().startsWith(option + " ");
            }
            if (in) {
                b.append(line.strip()).append('\n');
            }
        }
        return b.toString();
    }
}
