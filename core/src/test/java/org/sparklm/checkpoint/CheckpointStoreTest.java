package org.sparklm.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparklm.io.IOConsumer;

class CheckpointStoreTest {
    @TempDir
    Path tmp;

    private final Configuration conf = new Configuration();

    private String runUri() {
        return tmp.resolve("run").toUri().toString(); // file:///...
    }

    private static byte[] bytes(long seed, int n) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static ObjectNode state(long step) {
        ObjectNode s = new ObjectMapper().createObjectNode();
        s.put("global_step", step);
        s.put("tokens_seen", step * 2048);
        s.putObject("data_position").put("epoch", 0).put("window", step * 16);
        s.put("rng_state", "seed=7;draws=" + step);
        s.put("tokenizer_sha256", "ab".repeat(32));
        return s;
    }

    private static Map<String, IOConsumer<OutputStream>> blobs(long step) {
        Map<String, IOConsumer<OutputStream>> m = new LinkedHashMap<>();
        m.put("model.zip", out -> out.write(bytes(step, 10_000)));
        m.put("updater.bin", out -> {
            out.write(bytes(step + 1, 3_000));
            out.close(); // a callback that closes its stream, as some serializers do
        });
        return m;
    }

    private Checkpoint write(CheckpointStore store, long step) throws IOException {
        return store.write(step, state(step), blobs(step));
    }

    private Path dir(long step) {
        return tmp.resolve("run").resolve(CheckpointStore.DIR).resolve(CheckpointStore.dirName(step));
    }

    @Test
    void roundTripOnLocalFsWithFileUris() throws IOException {
        CheckpointStore store = CheckpointStore.open(conf, runUri(), 3);
        Checkpoint written = write(store, 1234);
        assertEquals("step-00001234", written.dir().getName());
        assertTrue(written.dir().toString().startsWith("file:"), written.dir().toString());

        LatestIntact latest = store.latestIntact(true);
        assertTrue(latest.skipped().isEmpty());
        Checkpoint c = latest.latest().orElseThrow();
        assertEquals(1234, c.step());
        assertEquals(state(1234).toString(), c.readState().toString()); // same JSON (numbers may read back as ints)
        try (InputStream in = c.open("model.zip")) {
            assertArrayEquals(bytes(1234, 10_000), in.readAllBytes());
        }
        try (InputStream in = c.open("updater.bin")) {
            assertArrayEquals(bytes(1235, 3_000), in.readAllBytes());
        }
        assertThrows(java.io.FileNotFoundException.class, () -> c.open("missing.bin"));

        // the manifest lists every blob with its size, state.json included; blobs in writing order
        List<CheckpointManifest.Blob> listed = c.manifest().blobs();
        assertEquals(List.of("model.zip", "updater.bin", "state.json"),
            listed.stream().map(CheckpointManifest.Blob::name).toList());
        assertEquals(10_000, listed.get(0).bytes());
        // no hidden .crc files on the local file system, nothing else in the directory
        try (Stream<Path> files = Files.list(dir(1234))) {
            assertEquals(List.of("checkpoint.json", "model.zip", "state.json", "updater.bin"),
                files.map(p -> p.getFileName().toString()).sorted().toList());
        }
        // load() verifies a single directory (evaluate --checkpoint DIR)
        Checkpoint loaded = CheckpointStore.load(conf, dir(1234).toUri().toString(), true);
        assertEquals(1234, loaded.step());
        assertEquals(c.manifest(), loaded.manifest());
    }

    @Test
    void keepsTheLastK() throws IOException {
        CheckpointStore store = CheckpointStore.open(conf, runUri(), 2);
        for (long step = 100; step <= 500; step += 100) {
            write(store, step);
        }
        assertEquals(List.of(500L, 400L), store.steps());
        assertFalse(Files.exists(dir(300)));
        assertEquals(500, store.latestIntact(false).latest().orElseThrow().step());
    }

    @Test
    void stepsSortNumericallyBeyondEightDigits() throws IOException {
        CheckpointStore store = CheckpointStore.open(conf, runUri(), 5);
        write(store, 99_999_999);
        write(store, 100_000_000);
        assertEquals("step-100000000", store.dir(100_000_000).getName());
        assertEquals(List.of(100_000_000L, 99_999_999L), store.steps());
    }

    @Test
    void truncatedBlobInNewestFallsBackToPreviousWithReason() throws IOException {
        CheckpointStore store = CheckpointStore.open(conf, runUri(), 3);
        write(store, 100);
        write(store, 200);
        try (RandomAccessFile f = new RandomAccessFile(dir(200).resolve("model.zip").toFile(), "rw")) {
            f.setLength(4_000);
        }
        LatestIntact latest = store.latestIntact(false);
        assertEquals(100, latest.latest().orElseThrow().step());
        assertEquals(1, latest.skipped().size());
        assertEquals("step-00000200", latest.skipped().get(0).dir().getName());
        assertEquals("blob model.zip has 4000 bytes, checkpoint.json says 10000 (truncated)",
            latest.skipped().get(0).reason());

        CheckpointStore.CorruptCheckpointException e = assertThrows(CheckpointStore.CorruptCheckpointException.class,
            () -> CheckpointStore.load(conf, dir(200).toString(), false));
        assertTrue(e.getMessage().contains("step-00000200") && e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void sameSizeCorruptionIsCaughtOnlyBySha256() throws IOException {
        CheckpointStore store = CheckpointStore.open(conf, runUri(), 3);
        write(store, 100);
        write(store, 200);
        try (RandomAccessFile f = new RandomAccessFile(dir(200).resolve("updater.bin").toFile(), "rw")) {
            f.seek(17);
            int b = f.read();
            f.seek(17);
            f.write(b ^ 0xFF);
        }
        assertEquals(200, store.latestIntact(false).latest().orElseThrow().step());
        LatestIntact checked = store.latestIntact(true);
        assertEquals(100, checked.latest().orElseThrow().step());
        assertTrue(checked.skipped().get(0).reason().startsWith("blob updater.bin has sha256 "),
            checked.skipped().get(0).reason());
    }

    @Test
    void missingManifestOrBlobIsPartial() throws IOException {
        CheckpointStore store = CheckpointStore.open(conf, runUri(), 5);
        write(store, 100);
        write(store, 200);
        write(store, 300);
        Files.delete(dir(300).resolve(CheckpointManifest.FILE));
        Files.delete(dir(200).resolve("state.json"));
        LatestIntact latest = store.latestIntact(true);
        assertEquals(100, latest.latest().orElseThrow().step());
        assertEquals(List.of("no checkpoint.json (partial write)", "blob state.json is missing"),
            latest.skipped().stream().map(LatestIntact.Skipped::reason).toList());
    }

    @Test
    void garbageManifestIsSkipped() throws IOException {
        CheckpointStore store = CheckpointStore.open(conf, runUri(), 5);
        write(store, 100);
        write(store, 200);
        Files.writeString(dir(200).resolve(CheckpointManifest.FILE), "{\"format\": \"sparklm-checkpoint\", \"blo");
        LatestIntact latest = store.latestIntact(false);
        assertEquals(100, latest.latest().orElseThrow().step());
        assertTrue(latest.skipped().get(0).reason().startsWith("checkpoint.json unreadable: "),
            latest.skipped().get(0).reason());
    }

    @Test
    void temporaryDirectoriesAreIgnoredThenCleanedByTheWriter() throws IOException {
        CheckpointStore store = CheckpointStore.open(conf, runUri(), 5);
        write(store, 100);
        // an interrupted write of step 200: complete-looking, but never renamed
        Path leftover = dir(100).resolveSibling(".step-00000200._tmp-1234");
        Files.createDirectories(leftover);
        Files.write(leftover.resolve("model.zip"), bytes(1, 10));
        LatestIntact latest = store.latestIntact(true);
        assertEquals(100, latest.latest().orElseThrow().step());
        assertTrue(latest.skipped().isEmpty());
        assertEquals(List.of(".step-00000200._tmp-1234"),
            latest.leftovers().stream().map(org.apache.hadoop.fs.Path::getName).toList());
        assertTrue(Files.exists(leftover), "latestIntact only reads");

        write(store, 200);
        assertFalse(Files.exists(leftover), "the writer deletes leftovers after a checkpoint");
        assertEquals(List.of(200L, 100L), store.steps());
    }

    @Test
    void failingCallbackLeavesNothing() throws IOException {
        CheckpointStore store = CheckpointStore.open(conf, runUri(), 5);
        write(store, 100);
        Map<String, IOConsumer<OutputStream>> bad = new LinkedHashMap<>();
        bad.put("model.zip", out -> {
            out.write(new byte[100]);
            throw new IOException("disk full");
        });
        IOException e = assertThrows(IOException.class, () -> store.write(200, state(200), bad));
        assertTrue(e.getMessage().contains("model.zip") && e.getMessage().contains("disk full"), e.getMessage());
        try (Stream<Path> files = Files.list(dir(100).getParent())) {
            assertEquals(List.of("step-00000100"), files.map(p -> p.getFileName().toString()).toList());
        }
    }

    @Test
    void resumedRunReplacesAndDropsNewerCheckpoints() throws IOException {
        CheckpointStore store = CheckpointStore.open(conf, runUri(), 5);
        write(store, 100);
        write(store, 200);
        write(store, 300);
        // 300 is partial, so the run resumes from 200; its next checkpoint (another interval: 250) makes the stale
        // 300 go, else it would count among the kept ones and be skipped by every later resume
        Files.delete(dir(300).resolve(CheckpointManifest.FILE));
        assertEquals(200, store.latestIntact(false).latest().orElseThrow().step());
        write(store, 250);
        assertEquals(List.of(250L, 200L, 100L), store.steps());
        // writing an existing step replaces it
        Checkpoint again = store.write(250, state(7), blobs(250));
        assertEquals(state(7).toString(), store.latestIntact(true).latest().orElseThrow().readState().toString());
        assertEquals(250, again.step());
    }

    @Test
    void rejectsBadArguments() throws IOException {
        assertThrows(IllegalArgumentException.class, () -> CheckpointStore.open(conf, runUri(), 0));
        CheckpointStore store = CheckpointStore.open(conf, runUri(), 1);
        assertThrows(IllegalArgumentException.class, () -> store.write(-1, state(1), Map.of()));
        for (String name : List.of("state.json", "checkpoint.json", "../x", ".hidden", "a/b", "")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> store.write(1, state(1), Map.of(name, out -> out.write(1))));
            assertTrue(e.getMessage().contains(name), e.getMessage());
        }
        assertTrue(store.steps().isEmpty());
        assertTrue(store.latestIntact(true).latest().isEmpty());
        assertThrows(java.io.FileNotFoundException.class,
            () -> CheckpointStore.load(conf, tmp.resolve("nope").toString(), false));
    }

    @Test
    void manifestJsonIsWhatTheFormatSays() throws IOException {
        CheckpointStore store = CheckpointStore.open(conf, runUri(), 1);
        store.write(42, state(42), Map.of("model.zip", out -> out.write("abc".getBytes(StandardCharsets.UTF_8))));
        var json = new ObjectMapper().readTree(dir(42).resolve(CheckpointManifest.FILE).toFile());
        assertEquals("sparklm-checkpoint", json.get("format").asText());
        assertEquals(1, json.get("format_version").asInt());
        assertEquals(42, json.get("step").asLong());
        var model = json.get("blobs").get(0);
        assertEquals("model.zip", model.get("name").asText());
        assertEquals(3, model.get("bytes").asLong());
        assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", model.get("sha256").asText());
    }
}
