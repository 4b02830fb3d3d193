package org.sparklm.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ShardWindowsTest {
    @TempDir
    Path tmp;

    /** Two train shards holding 0..99 and 100..129 (so window contents name their position), one tiny val shard. */
    private ShardManifest fixture() throws IOException {
        List<ShardManifest.Shard> train = new ArrayList<>();
        int next = 0;
        for (int[] size : new int[][] {{100}, {30}}) {
            String name = "train-" + train.size() + ".bin";
            ShardWriter w = new ShardWriter(Files.newOutputStream(tmp.resolve(name)), TokenDtype.UINT16);
            for (int i = 0; i < size[0]; i++) {
                w.write(next++);
            }
            String sha = w.finish();
            train.add(new ShardManifest.Shard(name, w.tokens(), 1, sha));
        }
        ShardWriter w = new ShardWriter(Files.newOutputStream(tmp.resolve("val-0.bin")), TokenDtype.UINT16);
        w.writeDocument(new int[] {7, 8, 9});
        String sha = w.finish();
        ShardManifest m = new ShardManifest(1, "x", 65536, TokenDtype.UINT16, 3, Map.of("train", train, "val",
            List.of(new ShardManifest.Shard("val-0.bin", 3, 1, sha))));
        try (OutputStream o = Files.newOutputStream(tmp.resolve(ShardManifest.FILE))) {
            m.write(o, null);
        }
        return m;
    }

    @Test
    void windowsMapPositionsToShardsWithoutCrossingABoundary() throws IOException {
        fixture();
        Configuration conf = new Configuration();
        org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(tmp.toUri());
        ShardManifest m = ShardWindows.manifest(conf, dir);
        try (ShardWindows w = ShardWindows.open(conf, dir, m, "train", 10, true)) {
            assertEquals(130, w.tokens());
            assertEquals(91 + 21, w.positions());
            assertArrayEquals(range(0, 10), w.window(0));
            assertArrayEquals(range(90, 100), w.window(90));
            assertArrayEquals(range(100, 110), w.window(91));
            assertArrayEquals(range(120, 130), w.window(111));
            assertThrows(IndexOutOfBoundsException.class, () -> w.window(112));
            List<int[]> seq = new ArrayList<>();
            w.sequential(Long.MAX_VALUE).forEachRemaining(seq::add);
            assertEquals(10 + 3, seq.size()); // 10 from the first shard, 3 from the second
            assertArrayEquals(range(100, 110), seq.get(10));
            Iterator<int[]> two = w.sequential(2);
            two.next();
            two.next();
            assertTrue(!two.hasNext());
        }
        try (ShardWindows v = ShardWindows.open(conf, dir, m, "val", 10, false)) {
            assertEquals(0, v.positions());
            assertThrows(IllegalArgumentException.class, () -> ShardWindows.randomPosition(1, 0, 0, 0, v.positions()));
        }
    }

    @Test
    void randomPositionsArePureUniformAndDifferPerStepWorkerAndIndex() {
        long n = 1000;
        int[] hist = new int[10];
        for (int step = 0; step < 200; step++) {
            for (int worker = 0; worker < 5; worker++) {
                for (int i = 0; i < 20; i++) {
                    long p = ShardWindows.randomPosition(42, step, worker, i, n);
                    assertEquals(p, ShardWindows.randomPosition(42, step, worker, i, n));
                    hist[(int) (p / 100)]++;
                }
            }
        }
        for (int h : hist) { // 20 000 draws, 2 000 expected per decile, sd ~42
            assertTrue(Math.abs(h - 2000) < 250, Arrays.toString(hist));
        }
        assertNotEquals(ShardWindows.randomPosition(42, 1, 0, 0, 1L << 40), ShardWindows.randomPosition(42, 2, 0, 0,
            1L << 40));
        assertNotEquals(ShardWindows.randomPosition(42, 1, 0, 0, 1L << 40), ShardWindows.randomPosition(42, 1, 1, 0,
            1L << 40));
        assertNotEquals(ShardWindows.randomPosition(42, 1, 0, 0, 1L << 40), ShardWindows.randomPosition(42, 1, 0, 1,
            1L << 40));
        assertNotEquals(ShardWindows.randomPosition(42, 1, 0, 0, 1L << 40), ShardWindows.randomPosition(43, 1, 0, 0,
            1L << 40));
    }

    private static int[] range(int from, int to) {
        int[] r = new int[to - from];
        for (int i = 0; i < r.length; i++) {
            r[i] = from + i;
        }
        return r;
    }
}
