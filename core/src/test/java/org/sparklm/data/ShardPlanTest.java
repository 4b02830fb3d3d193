package org.sparklm.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ShardPlanTest {
    /** A document as the plan sees it: split (0 train, 1 val), order hash, length. */
    private record Doc(int split, long hi, long lo, long length) {
    }

    private static final Comparator<Doc> ORDER = Comparator.comparingInt(Doc::split)
        .thenComparing(Doc::hi, Long::compareUnsigned).thenComparing(Doc::lo, Long::compareUnsigned);

    private static List<Doc> docs(long seed, int n, double valShare) {
        Random r = new Random(seed);
        List<Doc> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            // a few equal hi values so that lo decides some comparisons
            long hi = r.nextInt(10) == 0 ? Long.MIN_VALUE + r.nextInt(3) : r.nextLong();
            out.add(new Doc(r.nextDouble() < valShare ? 1 : 0, hi, r.nextLong(), 1 + r.nextInt(r.nextInt(10) == 0
                ? 5000 : 200)));
        }
        return out;
    }

    /** The rule applied directly: each split's documents end to end in order, the midpoint decides. */
    private static int[] direct(List<Doc> sorted, int trainShards, int valShards) {
        long[] total = new long[2];
        for (Doc d : sorted) {
            total[d.split()] += d.length();
        }
        long[] offset = new long[2];
        int[] out = new int[sorted.size()];
        for (int i = 0; i < sorted.size(); i++) {
            Doc d = sorted.get(i);
            int shards = d.split() == 0 ? trainShards : valShards;
            long mid2 = 2 * offset[d.split()] + d.length();
            int s = (int) Math.min(shards - 1, mid2 * shards / (2 * total[d.split()]));
            out[i] = d.split() == 0 ? s : trainShards + s;
            offset[d.split()] += d.length();
        }
        return out;
    }

    /** The plan's steps over the sorted documents cut into consecutive partitions at {@code cuts}. */
    private static ShardPlan plan(List<Doc> sorted, int[] cuts, int requested) {
        List<List<Doc>> parts = new ArrayList<>();
        int from = 0;
        for (int c : cuts) {
            parts.add(sorted.subList(from, c));
            from = c;
        }
        parts.add(sorted.subList(from, sorted.size()));
        List<long[]> sums = new ArrayList<>();
        for (List<Doc> p : parts) {
            ShardPlan.Sums s = new ShardPlan.Sums();
            p.forEach(d -> s.add(d.split(), d.length()));
            sums.add(s.toArray());
        }
        ShardPlan plan = ShardPlan.fromSums(sums, requested);
        List<long[]> runs = new ArrayList<>();
        for (int i = parts.size() - 1; i >= 0; i--) { // run starts may arrive in any order
            ShardPlan.RunStarts r = plan.runStarts(i);
            parts.get(i).forEach(d -> r.add(d.split(), d.hi(), d.lo(), d.length()));
            runs.addAll(r.starts());
        }
        assertTrue(runs.size() <= parts.size() * 2 + plan.totalShards(), "run starts: " + runs.size());
        return plan.withRuns(runs);
    }

    @Test
    void distributedPlanEqualsTheRuleWhateverThePartitioning() {
        for (long seed = 1; seed <= 5; seed++) {
            List<Doc> sorted = new ArrayList<>(docs(seed, 3000, 0.1));
            sorted.sort(ORDER);
            Random r = new Random(seed);
            int[][] cutSets = {{}, {sorted.size() / 2}, r.ints(13, 0, sorted.size()).sorted().toArray(),
                {0, 0, 5, 5, sorted.size(), sorted.size()}};
            int[] first = null;
            for (int[] cuts : cutSets) {
                ShardPlan plan = plan(sorted, cuts, 7);
                assertEquals(7, plan.shards(ShardPlan.TRAIN));
                long valDocs = sorted.stream().filter(d -> d.split() == 1).count();
                assertEquals(valDocs, plan.documents(ShardPlan.VAL));
                int[] expected = direct(sorted, plan.shards(ShardPlan.TRAIN), plan.shards(ShardPlan.VAL));
                int[] got = sorted.stream().mapToInt(d -> plan.shard(d.split() == 1, d.hi(), d.lo())).toArray();
                assertArrayEquals(expected, got, "seed " + seed + " cuts " + Arrays.toString(cuts));
                if (first == null) {
                    first = got;
                }
                assertArrayEquals(first, got);
            }
        }
    }

    @Test
    void shardsAreBalancedAndNamedBySplit() {
        List<Doc> sorted = new ArrayList<>(docs(11, 5000, 0.2));
        sorted.sort(ORDER);
        ShardPlan plan = plan(sorted, new int[] {1000, 2000, 4500}, 4);
        long[] tokens = new long[plan.totalShards()];
        for (Doc d : sorted) {
            tokens[plan.shard(d.split() == 1, d.hi(), d.lo())] += d.length();
        }
        long perShard = plan.tokens(ShardPlan.TRAIN) / 4;
        for (int i = 0; i < 4; i++) {
            assertTrue(Math.abs(tokens[i] - perShard) <= 5000, "shard " + i + ": " + Arrays.toString(tokens));
        }
        assertEquals(1, plan.shards(ShardPlan.VAL)); // validation shards sized like training shards
        assertEquals("train-00003-of-00004.bin", plan.fileName(3));
        assertEquals("val-00000-of-00001.bin", plan.fileName(4));
        assertEquals("val", plan.splitName(4));
        List<ShardManifest.Shard> written = new ArrayList<>();
        for (int i = 0; i < plan.totalShards(); i++) {
            written.add(new ShardManifest.Shard(plan.fileName(i), tokens[i], 1, "x"));
        }
        Map<String, List<ShardManifest.Shard>> splits = plan.splits(written);
        assertEquals(List.of("train", "val"), List.copyOf(splits.keySet()));
        assertEquals(4, splits.get("train").size());
        assertThrows(IllegalStateException.class, () -> ShardPlan.fromSums(List.of(new long[4]), 1).shard(false, 0,
            0));
    }

    @Test
    void theThresholdMovesOnlyToKeepBothSplitsNonEmpty() {
        EncodeStats s = new EncodeStats();
        s.read.documents = 10;
        s.minSplit = 1000;
        s.maxSplit = -5;
        long nominal = DocumentKey.threshold(0.0001);
        s.nominalValidation = 0;
        assertEquals(1001, ShardPlan.finalThreshold(0.0001, nominal, s)); // the smallest hash goes to val
        s.nominalValidation = 10;
        assertEquals(-5, ShardPlan.finalThreshold(0.9999, nominal, s)); // the largest stays in train
        s.nominalValidation = 3;
        assertEquals(nominal, ShardPlan.finalThreshold(0.3, nominal, s));
        s.nominalValidation = 0;
        assertEquals(0, ShardPlan.finalThreshold(0, 0, s)); // --val-fraction 0: no validation at all
        s.read.documents = 1;
        assertEquals(nominal, ShardPlan.finalThreshold(0.0001, nominal, s));
    }
}
