package org.sparklm.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparklm.UsageException;
import org.sparklm.data.DocFormat;
import org.sparklm.data.ShardFile;
import org.sparklm.data.ShardManifest;
import org.sparklm.data.TokenDtype;
import org.sparklm.io.AtomicOutput;
import org.sparklm.io.StoredTokenizer;
import org.sparklm.tokenizer.bpe.BpeMode;
import org.sparklm.tokenizer.bpe.BpeModel;
import org.sparklm.tokenizer.bpe.BpeTokenizer;
import org.sparklm.tokenizer.bpe.TokenizerFiles;

class ShardJobTest extends SparkTestBase {
    private static BpeModel model;
    private static BpeTokenizer tokenizer;

    @TempDir
    Path tmp;
    private Path tokDir;
    /** Input files (name below tmp/in -> lines as written, blank ones included). */
    private final Map<String, List<String>> corpus = new LinkedHashMap<>();

    @BeforeEach
    void setUp() throws IOException {
        synchronized (ShardJobTest.class) {
            if (model == null) {
                model = BpeTrainJobTest.direct(BpeTrainJobTest.brownLines(3000), BpeMode.BYTE, 1200);
                tokenizer = new BpeTokenizer(model);
            }
        }
        tokDir = tmp.resolve("tok");
        TokenizerFiles.save(model, tokDir);
        List<String> brown = BpeTrainJobTest.brownLines(4000);
        List<String> a = new ArrayList<>(brown.subList(0, 1800));
        a.add(3, "");
        a.add(10, "   \t ");
        a.add(20, "Ünïcödé — 漢字 and emoji 🙂 plus the literal [EOS] text");
        corpus.put("a.txt", a);
        corpus.put("sub/b.txt", brown.subList(1800, 3400));
        corpus.put("c.txt.gz", brown.subList(3400, 4000));
        for (var e : corpus.entrySet()) {
            Path f = tmp.resolve("in").resolve(e.getKey());
            Files.createDirectories(f.getParent());
            byte[] text = (String.join("\n", e.getValue()) + "\n").getBytes(StandardCharsets.UTF_8);
            try (OutputStream o = e.getKey().endsWith(".gz") ? new GZIPOutputStream(Files.newOutputStream(f))
                : Files.newOutputStream(f)) {
                o.write(text);
            }
        }
    }

    private ShardJob.Params params(List<String> in, Path out, double val, int shards, DocFormat format,
                                   int partitions, boolean strict, boolean overwrite) {
        return new ShardJob.Params(in, tokDir.toString(), out.toString(), val, shards, format, "text", 7,
            "[EOS]", partitions, strict, overwrite);
    }

    private ShardJob.Params params(Path out, int partitions) {
        return params(List.of(tmp.resolve("in").toString()), out, 0.1, 3, DocFormat.LINE, partitions, false, false);
    }

    /** sha256(seed \n name \n position) as docs/FORMATS.md defines it: {split, orderHi, orderLo}. */
    static long[] identity(long seed, String name, long position) throws Exception {
        byte[] h = MessageDigest.getInstance("SHA-256")
            .digest((seed + "\n" + name + "\n" + position).getBytes(StandardCharsets.UTF_8));
        ByteBuffer b = ByteBuffer.wrap(h);
        return new long[] {b.getLong(0), b.getLong(8), b.getLong(16)};
    }

    /** The expected token stream of each split: documents in (orderHi, orderLo) order, each encoded + EOS. */
    private Map<String, int[]> expectedStreams(long seed, double val) throws Exception {
        long threshold = ((long) (val * 0x1p63)) << 1;
        List<Object[]> docs = new ArrayList<>(); // {split, hi, lo, tokens}
        int eos = model.id("[EOS]");
        for (var e : corpus.entrySet()) {
            long pos = 0;
            for (String line : e.getValue()) {
                if (!line.isBlank()) {
                    long[] id = identity(seed, e.getKey(), pos);
                    int[] ids = tokenizer.encode(line, false);
                    int[] t = Arrays.copyOf(ids, ids.length + 1);
                    t[ids.length] = eos;
                    docs.add(new Object[] {Long.compareUnsigned(id[0], threshold) < 0 ? "val" : "train", id[1], id[2],
                        t});
                }
                pos += line.getBytes(StandardCharsets.UTF_8).length + 1;
            }
        }
        docs.sort((x, y) -> {
            int c = Long.compareUnsigned((long) x[1], (long) y[1]);
            return c != 0 ? c : Long.compareUnsigned((long) x[2], (long) y[2]);
        });
        Map<String, int[]> out = new LinkedHashMap<>();
        for (String split : List.of("train", "val")) {
            out.put(split, docs.stream().filter(d -> d[0].equals(split)).flatMapToInt(d -> Arrays.stream((int[]) d[3]))
                .toArray());
        }
        return out;
    }

    private static ShardManifest manifest(Path dir) throws IOException {
        try (InputStream in = Files.newInputStream(dir.resolve(ShardManifest.FILE))) {
            return ShardManifest.read(in);
        }
    }

    /** A shard read the way numpy.memmap(path, dtype=uint16) reads it: little-endian unsigned 16-bit integers. */
    static int[] numpyRead(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        int[] out = new int[b.remaining() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = b.getShort() & 0xFFFF;
        }
        return out;
    }

    private static int[] concat(Path dir, List<ShardManifest.Shard> shards) throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (ShardManifest.Shard s : shards) {
            all.write(Files.readAllBytes(dir.resolve(s.file())));
        }
        Path f = Files.createTempFile("concat", ".bin");
        Files.write(f, all.toByteArray());
        int[] out = numpyRead(f);
        Files.delete(f);
        return out;
    }

    @Test
    void shardsHoldTheDirectEncodingInTheSeededOrderAndTheManifestMatches() throws Exception {
        Path out = tmp.resolve("shards");
        ShardJob.Result r = ShardJob.run(sc, params(out, 2));
        ShardManifest m = manifest(out);
        assertEquals(r.manifest().splits(), m.splits());
        assertEquals(TokenDtype.UINT16, m.dtype());
        assertEquals(model.vocabSize(), m.vocabSize());
        assertEquals(model.id("[EOS]"), m.eosId());
        assertEquals(org.sparklm.io.Sha256.of(Files.readAllBytes(tokDir.resolve("tokenizer.json"))), m.tokenizerSha256());
        Map<String, int[]> expected = expectedStreams(7, 0.1);
        assertEquals(3, m.shards("train").size());
        assertEquals(1, m.shards("val").size());
        for (String split : List.of("train", "val")) {
            assertArrayEquals(expected.get(split), concat(out, m.shards(split)), split);
            for (ShardManifest.Shard s : m.shards(split)) {
                Path f = out.resolve(s.file());
                byte[] bytes = Files.readAllBytes(f);
                assertEquals(s.tokens() * 2, bytes.length);
                assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)), s.sha256());
                long eos = Arrays.stream(numpyRead(f)).filter(t -> t == m.eosId()).count();
                assertEquals(s.documents(), eos, "documents = EOS count in " + s.file());
            }
        }
        long docs = m.documents("train") + m.documents("val");
        long nonBlank = corpus.values().stream().flatMap(List::stream).filter(l -> !l.isBlank()).count();
        assertEquals(nonBlank, docs);
        double valShare = (double) m.documents("val") / docs;
        assertTrue(valShare > 0.08 && valShare < 0.12, "val share " + valShare);
        assertEquals(2, r.report().at("/input/empty_documents_skipped").asLong());
        assertEquals(m.tokens("train"), r.report().at("/splits/train/tokens").asLong());
        assertTrue(r.report().path("bytes_per_token").asDouble() > 1.5, r.report().toString());
        assertTrue(Files.isRegularFile(out.resolve("manifest.json")));
        try (Stream<Path> s = Files.list(tmp)) {
            assertFalse(s.anyMatch(p -> p.getFileName().toString().startsWith(".shards")), "temporary dir left");
        }
        try (Stream<Path> s = Files.list(out)) {
            assertFalse(s.anyMatch(p -> p.getFileName().toString().startsWith(".")), "attempt files left");
        }
    }

    @Test
    void sameShardsAndSplitForOneTwoAndFivePartitions() throws Exception {
        Map<String, byte[]> first = null;
        ShardManifest firstManifest = null;
        for (int parts : new int[] {1, 2, 5}) {
            Path out = tmp.resolve("p" + parts);
            ShardJob.run(sc, params(out, parts));
            ShardManifest m = manifest(out);
            Map<String, byte[]> files = new LinkedHashMap<>();
            for (String split : List.of("train", "val")) {
                for (ShardManifest.Shard s : m.shards(split)) {
                    files.put(s.file(), Files.readAllBytes(out.resolve(s.file())));
                }
            }
            if (first == null) {
                first = files;
                firstManifest = m;
            } else {
                assertEquals(firstManifest.splits(), m.splits(), parts + " partitions");
                assertEquals(first.keySet(), files.keySet());
                for (String f : first.keySet()) {
                    assertArrayEquals(first.get(f), files.get(f), f + " with " + parts + " partitions");
                }
            }
        }
    }

    @Test
    void shardsAreBalancedByTokensAndTheSeedChangesTheOrder() throws Exception {
        Path out = tmp.resolve("balanced");
        ShardJob.run(sc, new ShardJob.Params(List.of(tmp.resolve("in").toString()), tokDir.toString(),
            out.toString(), 0.01, 4, DocFormat.LINE, "text", 99, "[EOS]", 3, false, false));
        ShardManifest m = manifest(out);
        long[] tokens = m.shards("train").stream().mapToLong(ShardManifest.Shard::tokens).toArray();
        long max = Arrays.stream(tokens).max().orElseThrow();
        long min = Arrays.stream(tokens).min().orElseThrow();
        assertEquals(4, tokens.length);
        assertTrue(max - min <= 0.01 * max, "shards " + Arrays.toString(tokens));
        assertArrayEquals(expectedStreams(99, 0.01).get("train"), concat(out, m.shards("train")));
        assertFalse(Arrays.equals(expectedStreams(7, 0.01).get("train"), concat(out, m.shards("train"))));
    }

    @Test
    void readerStreamsWindowsAndDetectsTruncatedOrAlteredShards() throws Exception {
        Path out = tmp.resolve("shards");
        ShardJob.run(sc, params(out, 2));
        ShardManifest m = manifest(out);
        ShardManifest.Shard s = m.shards("train").get(0);
        Configuration conf = new Configuration();
        org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(out.toUri());
        int[] raw = numpyRead(out.resolve(s.file()));
        try (ShardFile f = ShardFile.open(conf, dir, s, m.dtype(), true)) {
            var it = f.sequentialWindows(64);
            int[] w0 = it.next();
            int[] w1 = it.next();
            assertArrayEquals(Arrays.copyOfRange(raw, 0, 64), w0);
            assertArrayEquals(Arrays.copyOfRange(raw, 64, 128), w1);
        }
        byte[] bytes = Files.readAllBytes(out.resolve(s.file()));
        Files.write(out.resolve(s.file()), Arrays.copyOf(bytes, bytes.length - 2));
        IOException e = assertThrows(IOException.class, () -> ShardFile.open(conf, dir, s, m.dtype(), false));
        assertTrue(e.getMessage().contains(s.file()) && e.getMessage().contains("truncated"), e.getMessage());
        bytes[100] ^= 1;
        Files.write(out.resolve(s.file()), bytes);
        ShardFile.open(conf, dir, s, m.dtype(), false).close(); // same size: only the hash can tell
        e = assertThrows(IOException.class, () -> ShardFile.open(conf, dir, s, m.dtype(), true));
        assertTrue(e.getMessage().contains(s.file()) && e.getMessage().contains("sha256"), e.getMessage());
    }

    @Test
    void jsonlTakesTheTextFieldAndCountsMalformedLinesWithTheirNumbers() throws Exception {
        Path in = tmp.resolve("j.jsonl");
        List<String> lines = List.of(
            "{\"text\": \"The first document.\", \"id\": 1}",
            "{\"text\": \"\"}",
            "not json at all",
            "{\"title\": \"no text field\"}",
            "",
            "{\"text\": \"Second \\u00e9 document\\nwith a newline.\"}",
            "{\"text\": 42}",
            "{\"text\": \"Third.\"}");
        Files.writeString(in, String.join("\n", lines) + "\n");
        Path out = tmp.resolve("j");
        ShardJob.Result r = ShardJob.run(sc, params(List.of(in.toString()), out, 0, 1, DocFormat.JSONL, 2, false,
            false));
        assertEquals(3, r.report().at("/input/documents").asLong());
        assertEquals(2, r.report().at("/input/empty_documents_skipped").asLong());
        assertEquals(3, r.report().at("/input/malformed_records_skipped").asLong());
        var bad = r.report().at("/input/first_malformed");
        assertEquals(List.of(3L, 4L, 7L), List.of(bad.get(0).path("line").asLong(), bad.get(1).path("line").asLong(),
            bad.get(2).path("line").asLong()));
        assertTrue(bad.get(1).path("reason").asText().contains("no field 'text'"), bad.toString());
        int[] stream = concat(out, manifest(out).shards("train"));
        int eos = model.id("[EOS]");
        List<String> texts = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < stream.length; i++) {
            if (stream[i] == eos) {
                texts.add(tokenizer.decode(Arrays.copyOfRange(stream, start, i)));
                start = i + 1;
            }
        }
        texts.sort(null);
        assertEquals(List.of("Second é document\nwith a newline.", "The first document.", "Third."), texts);

        UsageException e = assertThrows(UsageException.class, () -> ShardJob.run(sc,
            params(List.of(in.toString()), tmp.resolve("strict"), 0, 1, DocFormat.JSONL, 2, true, false)));
        assertTrue(e.getMessage().contains("3 malformed") && e.getMessage().contains(":3: invalid JSON"),
            e.getMessage());
        assertFalse(Files.exists(tmp.resolve("strict")));

        Path nested = tmp.resolve("n.jsonl");
        Files.writeString(nested, "{\"meta\": {\"body\": \"Nested text.\"}}\n");
        Path out2 = tmp.resolve("n");
        ShardJob.run(sc, new ShardJob.Params(List.of(nested.toString()), tokDir.toString(), out2.toString(), 0, 1,
            DocFormat.JSONL, "/meta/body", 7, "[EOS]", 1, true, false));
        int[] t = tokenizer.encode("Nested text.");
        int[] expected = Arrays.copyOf(t, t.length + 1);
        expected[t.length] = eos;
        assertArrayEquals(expected, concat(out2, manifest(out2).shards("train")));
    }

    @Test
    void fileFormatMakesOneDocumentPerFile() throws Exception {
        Path out = tmp.resolve("files");
        ShardJob.Result r = ShardJob.run(sc, params(List.of(tmp.resolve("in").toString()), out, 0.0, 1,
            DocFormat.FILE, 2, false, false));
        ShardManifest m = manifest(out);
        assertEquals(3, m.documents("train"));
        assertEquals(0, m.documents("val"));
        assertTrue(m.shards("val").isEmpty());
        int eos = model.id("[EOS]");
        long expectedTokens = 0;
        for (List<String> lines : corpus.values()) {
            expectedTokens += tokenizer.encode(String.join("\n", lines) + "\n").length + 1;
        }
        assertEquals(expectedTokens, m.tokens("train"));
        assertEquals(3, Arrays.stream(concat(out, m.shards("train"))).filter(t -> t == eos).count());
        assertEquals(3, r.report().at("/input/records").asLong());
    }

    @Test
    void atLeastOneValidationDocumentWhenThereAreTwo() throws Exception {
        Path in = tmp.resolve("two.txt");
        Files.writeString(in, "first document\nsecond document\n");
        Path out = tmp.resolve("two");
        ShardJob.run(sc, params(List.of(in.toString()), out, 0.0001, 0, DocFormat.LINE, 1, false, false));
        ShardManifest m = manifest(out);
        assertEquals(1, m.documents("train"));
        assertEquals(1, m.documents("val"));
    }

    @Test
    void badInputFailsWithOneMessageAndWritesNothing() throws Exception {
        Path out = tmp.resolve("never");
        List<String> in = List.of(tmp.resolve("in").toString());
        UsageException e = assertThrows(UsageException.class, () -> ShardJob.run(sc, new ShardJob.Params(in,
            tmp.resolve("missing").toString(), out.toString(), 0.01, 0, DocFormat.LINE, "text", 1, "[EOS]", 0, false,
            false)));
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
        Files.createDirectories(tmp.resolve("emptydir"));
        e = assertThrows(UsageException.class, () -> ShardJob.run(sc, new ShardJob.Params(in,
            tmp.resolve("emptydir").toString(), out.toString(), 0.01, 0, DocFormat.LINE, "text", 1, "[EOS]", 0, false,
            false)));
        assertTrue(e.getMessage().contains("holds no tokenizer.json"), e.getMessage());
        Files.writeString(tmp.resolve("emptydir/tokenizer.json"), "{\"model\": 12");
        e = assertThrows(UsageException.class, () -> ShardJob.run(sc, new ShardJob.Params(in,
            tmp.resolve("emptydir").toString(), out.toString(), 0.01, 0, DocFormat.LINE, "text", 1, "[EOS]", 0, false,
            false)));
        assertTrue(e.getMessage().contains("invalid tokenizer"), e.getMessage());
        e = assertThrows(UsageException.class, () -> ShardJob.run(sc, new ShardJob.Params(in, tokDir.toString(),
            out.toString(), 0.01, 0, DocFormat.LINE, "text", 1, "<|endoftext|>", 0, false, false)));
        assertTrue(e.getMessage().contains("<|endoftext|>"), e.getMessage());
        assertThrows(java.io.FileNotFoundException.class, () -> ShardJob.run(sc,
            params(List.of(tmp.resolve("nope/*.txt").toString()), out, 0.01, 0, DocFormat.LINE, 0, false, false)));
        Path blank = tmp.resolve("blank.txt");
        Files.writeString(blank, "\n  \n\t\n");
        e = assertThrows(UsageException.class, () -> ShardJob.run(sc,
            params(List.of(blank.toString()), out, 0.01, 0, DocFormat.LINE, 0, false, false)));
        assertTrue(e.getMessage().contains("no document") && e.getMessage().contains("3 empty"), e.getMessage());
        assertFalse(Files.exists(out));
        try (Stream<Path> s = Files.list(tmp)) {
            assertFalse(s.anyMatch(p -> p.getFileName().toString().startsWith(".never")), "temporary dir left");
        }
    }

    @Test
    void refusesAnExistingOutputUnlessOverwrite() throws Exception {
        Path out = tmp.resolve("shards");
        Files.createDirectories(out);
        Files.writeString(out.resolve("keep.txt"), "precious");
        assertThrows(AtomicOutput.OutputExistsException.class, () -> ShardJob.run(sc, params(out, 2)));
        assertEquals("precious", Files.readString(out.resolve("keep.txt")));
        ShardJob.run(sc, params(List.of(tmp.resolve("in").toString()), out, 0.1, 3, DocFormat.LINE, 2, false, true));
        assertFalse(Files.exists(out.resolve("keep.txt")));
        assertTrue(Files.exists(out.resolve("manifest.json")));
    }

    @Test
    void parseRejectsBadOptions() {
        assertThrows(UsageException.class, () -> ShardJob.parse(new String[] {"--input", "x", "--output", "y"}));
        assertThrows(UsageException.class, () -> ShardJob.parse(new String[] {"--input", "x", "--output", "y",
            "--tokenizer", "t", "--val-fraction", "1"}));
        assertThrows(UsageException.class, () -> ShardJob.parse(new String[] {"--input", "x", "--output", "y",
            "--tokenizer", "t", "--doc-format", "csv"}));
        ShardJob.Params p = ShardJob.parse(new String[] {"--input", "a", "b", "--output", "y", "--tokenizer", "t",
            "--doc-format", "jsonl", "--text-field", "body", "--strict"});
        assertEquals(List.of("a", "b"), p.inputs());
        assertEquals(DocFormat.JSONL, p.format());
        assertEquals("body", p.textField());
        assertTrue(p.strict());
        assertEquals(0.01, p.valFraction());
    }

    @Test
    void theShardDirectoryCarriesItsTokenizer() throws Exception {
        Path out = tmp.resolve("shards");
        ShardJob.Result r = ShardJob.run(sc, params(out, 2));
        Set<String> names = new TreeSet<>();
        try (Stream<Path> s = Files.list(out)) {
            s.forEach(f -> names.add(f.getFileName().toString()));
        }
        assertEquals(Set.of("manifest.json", "tokenizer.json", "train-00000-of-00003.bin", "train-00001-of-00003.bin",
            "train-00002-of-00003.bin", "val-00000-of-00001.bin"), names);
        assertArrayEquals(Files.readAllBytes(tokDir.resolve("tokenizer.json")),
            Files.readAllBytes(out.resolve("tokenizer.json")));
        assertTrue(Files.readString(out.resolve("manifest.json")).contains("\"tokenizer_file\" : \"tokenizer.json\""));
        ShardManifest m = manifest(out);
        assertEquals(ShardManifest.TOKENIZER_FILE, m.tokenizerFile());
        assertEquals(r.manifest(), m);
        Configuration conf = new Configuration();
        org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(out.toUri());
        StoredTokenizer tok = m.tokenizer(conf, dir);
        assertEquals(model, tok.model());
        assertEquals(m.tokenizerSha256(), tok.sha256());
        // the shard directory itself is a tokenizer directory
        assertEquals(model, StoredTokenizer.read(conf, out.toString()).model());
    }
}
