package org.sparklm.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparklm.io.StoredTokenizer;
import org.sparklm.tokenizer.SpecialTokens;
import org.sparklm.tokenizer.bpe.BpeMode;
import org.sparklm.tokenizer.bpe.BpeModel;
import org.sparklm.tokenizer.bpe.BpeTrainer;
import org.sparklm.tokenizer.bpe.TokenizerFiles;

class ShardFormatTest {
    @TempDir
    Path tmp;

    private ShardManifest.Shard write(Path file, TokenDtype dtype, List<int[]> docs) throws IOException {
        ShardWriter w = new ShardWriter(Files.newOutputStream(file), dtype);
        for (int[] d : docs) {
            w.writeDocument(d);
        }
        String sha = w.finish();
        return new ShardManifest.Shard(file.getFileName().toString(), w.tokens(), w.documents(), sha);
    }

    private static List<int[]> docs(long seed, int n, int maxId) {
        Random r = new Random(seed);
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[] d = new int[1 + r.nextInt(50)];
            for (int j = 0; j < d.length; j++) {
                d[j] = r.nextInt(maxId);
            }
            out.add(d);
        }
        return out;
    }

    @Test
    void bytesAreWhatNumpyMemmapReads() throws IOException {
        for (TokenDtype dtype : TokenDtype.values()) {
            int maxId = dtype == TokenDtype.UINT16 ? 65_536 : Integer.MAX_VALUE;
            List<int[]> d = docs(1, 200, maxId);
            Path f = tmp.resolve("s-" + dtype.numpyName() + ".bin");
            ShardManifest.Shard s = write(f, dtype, d);
            ByteBuffer bb = ByteBuffer.wrap(Files.readAllBytes(f)).order(ByteOrder.LITTLE_ENDIAN);
            assertEquals(s.tokens() * dtype.bytes(), Files.size(f));
            for (int[] doc : d) {
                for (int id : doc) {
                    long raw = dtype == TokenDtype.UINT16 ? Short.toUnsignedInt(bb.getShort())
                        : Integer.toUnsignedLong(bb.getInt());
                    assertEquals(id, raw);
                }
            }
            assertEquals(200, s.documents());
        }
        assertEquals(TokenDtype.UINT16, TokenDtype.forVocabulary(65_536));
        assertEquals(TokenDtype.UINT32, TokenDtype.forVocabulary(65_537));
        ShardWriter w = new ShardWriter(OutputStream.nullOutputStream(), TokenDtype.UINT16);
        assertThrows(IllegalArgumentException.class, () -> w.write(65_536));
    }

    @Test
    void manifestRoundTripsAndWindowsReadTheRightTokens() throws IOException {
        List<int[]> d = docs(2, 300, 5000);
        ShardManifest.Shard s = write(tmp.resolve("train-00000.bin"), TokenDtype.UINT16, d);
        ShardManifest m = new ShardManifest(1, "ab".repeat(32), 5000, TokenDtype.UINT16, 3,
            Map.of("train", List.of(s), "val", List.of()));
        try (OutputStream o = Files.newOutputStream(tmp.resolve(ShardManifest.FILE))) {
            m.write(o, null);
        }
        ShardManifest back;
        try (InputStream in = Files.newInputStream(tmp.resolve(ShardManifest.FILE))) {
            back = ShardManifest.read(in);
        }
        assertEquals(m, back);
        int[] all = d.stream().flatMapToInt(java.util.Arrays::stream).toArray();
        org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(tmp.toUri());
        try (ShardFile f = ShardFile.open(new Configuration(), dir, s, TokenDtype.UINT16, true)) {
            Iterator<int[]> seq = f.sequentialWindows(64);
            int k = 0;
            while (seq.hasNext()) {
                assertArrayEquals(java.util.Arrays.copyOfRange(all, k * 64, k * 64 + 64), seq.next());
                k++;
            }
            assertEquals(all.length / 64, k);
            List<int[]> a = new ArrayList<>();
            f.randomWindows(32, 20, 7, 0).forEachRemaining(a::add);
            List<int[]> b = new ArrayList<>();
            f.randomWindows(32, 20, 7, 0).forEachRemaining(b::add);
            List<int[]> c = new ArrayList<>();
            f.randomWindows(32, 20, 7, 1).forEachRemaining(c::add);
            assertEquals(20, a.size());
            for (int i = 0; i < 20; i++) {
                assertArrayEquals(a.get(i), b.get(i));
            }
            assertNotEquals(java.util.Arrays.deepToString(a.toArray()), java.util.Arrays.deepToString(c.toArray()));
            // every random window is a real slice of the stream
            for (int[] w : a) {
                boolean found = false;
                for (int off = 0; off + 32 <= all.length && !found; off++) {
                    found = java.util.Arrays.equals(all, off, off + 32, w, 0, 32);
                }
                assertTrue(found);
            }
        }
    }

    @Test
    void truncatedOrAlteredShardsAreDetectedByName() throws IOException {
        Path f = tmp.resolve("train-00001.bin");
        ShardManifest.Shard s = write(f, TokenDtype.UINT16, docs(3, 100, 1000));
        org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(tmp.toUri());
        byte[] bytes = Files.readAllBytes(f);
        Files.write(f, java.util.Arrays.copyOf(bytes, bytes.length - 2));
        IOException trunc = assertThrows(IOException.class,
            () -> ShardFile.open(new Configuration(), dir, s, TokenDtype.UINT16, false));
        assertTrue(trunc.getMessage().contains("train-00001.bin") && trunc.getMessage().contains("truncated"),
            trunc.getMessage());
        bytes[10] ^= 1;
        Files.write(f, bytes);
        ShardFile.open(new Configuration(), dir, s, TokenDtype.UINT16, false).close(); // size still matches
        IOException altered = assertThrows(IOException.class,
            () -> ShardFile.open(new Configuration(), dir, s, TokenDtype.UINT16, true));
        assertTrue(altered.getMessage().contains("train-00001.bin") && altered.getMessage().contains("sha256"),
            altered.getMessage());
        Files.delete(f);
        assertThrows(IOException.class, () -> ShardFile.open(new Configuration(), dir, s, TokenDtype.UINT16, false));
    }

    @Test
    void manifestRejectsOtherFormatsAndMissingFields() {
        assertThrows(IOException.class, () -> ShardManifest.read(new java.io.ByteArrayInputStream(
            "{\"format\":\"other\"}".getBytes())));
        assertThrows(IOException.class, () -> ShardManifest.read(new java.io.ByteArrayInputStream(
            "{\"format\":\"sparklm-shards\",\"format_version\":1,\"splits\":{}}".getBytes())));
    }

    @Test
    void writeFileCommitsWholeShardsOnlyAndReplacesAFailedAttempt() throws IOException {
        org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(tmp.toUri());
        FileSystem fs = FileSystem.getLocal(new Configuration()).getRaw();
        Files.writeString(tmp.resolve("train-00000-of-00001.bin"), "left by a failed attempt");
        List<int[]> d = docs(4, 50, 1000);
        ShardManifest.Shard s = ShardWriter.writeFile(fs, dir, "train-00000-of-00001.bin", d.iterator(),
            TokenDtype.UINT16);
        assertEquals(write(tmp.resolve("expected.bin"), TokenDtype.UINT16, d).sha256(), s.sha256());
        assertArrayEquals(Files.readAllBytes(tmp.resolve("expected.bin")),
            Files.readAllBytes(tmp.resolve("train-00000-of-00001.bin")));
        assertEquals(50, s.documents());
        // a failure while writing leaves neither the shard nor the attempt file
        Iterator<int[]> failing = new Iterator<>() {
            private int n;

            @Override
            public boolean hasNext() {
                return true;
            }

            @Override
            public int[] next() {
                if (n++ == 3) {
                    throw new IllegalStateException("task killed");
                }
                return new int[] {1, 2, 3};
            }
        };
        assertThrows(IllegalStateException.class, () -> ShardWriter.writeFile(fs, dir, "val-00000-of-00001.bin",
            failing, TokenDtype.UINT16));
        try (var files = Files.list(tmp)) {
            assertEquals(List.of("expected.bin", "train-00000-of-00001.bin"),
                files.map(f -> f.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void theManifestNamesTheDirectorysTokenizerAndLoadsItCheckingItsSha256() throws IOException {
        BpeTrainer t = new BpeTrainer(new BpeTrainer.Config(BpeMode.BYTE, 107 + 256 + 3, 1, SpecialTokens.DEFAULT));
        t.addWord("hello", 3);
        BpeModel model = t.train().model();
        TokenizerFiles.save(model, tmp);
        byte[] tokBytes = Files.readAllBytes(tmp.resolve(ShardManifest.TOKENIZER_FILE));
        String sha = org.sparklm.io.Sha256.of(tokBytes);
        ShardManifest m = new ShardManifest(1, sha, ShardManifest.TOKENIZER_FILE, model.vocabSize(),
            TokenDtype.UINT16, 3, Map.of("train", List.of()));
        try (OutputStream o = Files.newOutputStream(tmp.resolve(ShardManifest.FILE))) {
            m.write(o, null);
        }
        assertTrue(Files.readString(tmp.resolve(ShardManifest.FILE)).contains("\"tokenizer_file\" : \"tokenizer.json\""));
        org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(tmp.toUri());
        Configuration conf = new Configuration();
        ShardManifest back = ShardWindows.manifest(conf, dir);
        assertEquals(m, back);
        StoredTokenizer tok = back.tokenizer(conf, dir);
        assertEquals(model, tok.model());
        assertArrayEquals(tokBytes, tok.bytes());

        // another tokenizer under the name: refused, naming both hashes
        ShardManifest other = new ShardManifest(1, "ab".repeat(32), ShardManifest.TOKENIZER_FILE, 5000,
            TokenDtype.UINT16, 3, Map.of());
        IOException e = assertThrows(IOException.class, () -> other.tokenizer(conf, dir));
        assertTrue(e.getMessage().contains("ab".repeat(32)) && e.getMessage().contains(sha), e.getMessage());
        // a manifest of shards made before the directory carried its tokenizer still reads; it names none
        ShardManifest old = ShardManifest.read(new java.io.ByteArrayInputStream(("{\"format\": \"sparklm-shards\","
            + " \"format_version\": 1, \"tokenizer_sha256\": \"" + sha + "\", \"vocab_size\": 366,"
            + " \"dtype\": \"uint16\", \"eos_id\": 3, \"splits\": {\"train\": []}}").getBytes()));
        assertEquals(null, old.tokenizerFile());
        assertEquals(sha, old.tokenizerSha256());
        assertThrows(java.io.FileNotFoundException.class, () -> old.tokenizer(conf, dir));
        Files.delete(tmp.resolve(ShardManifest.TOKENIZER_FILE));
        assertThrows(java.io.FileNotFoundException.class, () -> back.tokenizer(conf, dir));
        assertThrows(IllegalArgumentException.class, () -> new ShardManifest(1, sha, "../tokenizer.json", 366,
            TokenDtype.UINT16, 3, Map.of()));
    }
}
