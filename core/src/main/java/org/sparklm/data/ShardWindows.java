package org.sparklm.data;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Fixed-length token windows over all shards of one split, read with positioned reads (never a whole shard in
 * memory). A window never crosses a shard boundary. Two ways to take windows:
 * <ul>
 *   <li>random: {@link #randomPosition} maps (seed, step, worker, index) to one of the {@link #positions()} valid start
 *       positions, uniformly (every token equally likely to start a window), so any worker on any machine draws the
 *       same windows for the same step: training data order is a pure function of the seed and the global step,
 *       which is what makes a resumed run follow the uninterrupted one;</li>
 *   <li>sequential: consecutive non-overlapping windows, shard after shard (evaluation).</li>
 * </ul>
 */
public final class ShardWindows implements AutoCloseable {
    private final List<ShardFile> files = new ArrayList<>();
    private final long[] firstPosition; // cumulative valid start positions before each shard
    private final int length;
    private final long positions;

    private ShardWindows(List<ShardFile> files, int length) {
        this.files.addAll(files);
        this.length = length;
        this.firstPosition = new long[files.size() + 1];
        for (int i = 0; i < files.size(); i++) {
            firstPosition[i + 1] = firstPosition[i] + Math.max(0, files.get(i).tokens() - length + 1);
        }
        this.positions = firstPosition[files.size()];
    }

    /** Reads {@code DIR/manifest.json}. */
    public static ShardManifest manifest(Configuration conf, Path dir) throws IOException {
        Path p = new Path(dir, ShardManifest.FILE);
        FileSystem fs = p.getFileSystem(conf);
        if (!fs.exists(p)) {
            throw new java.io.FileNotFoundException("no " + ShardManifest.FILE + " in " + dir
                + " (make shards with the shard job)");
        }
        try (InputStream in = fs.open(p)) {
            return ShardManifest.read(in);
        }
    }

    /** Opens every shard of {@code split} (sizes checked; sha256 too when {@code verify}). */
    public static ShardWindows open(Configuration conf, Path dir, ShardManifest m, String split, int length,
                                    boolean verify) throws IOException {
        if (length < 1) {
            throw new IllegalArgumentException("window length must be positive, got " + length);
        }
        List<ShardFile> files = new ArrayList<>();
        try {
            for (ShardManifest.Shard s : m.shards(split)) {
                files.add(ShardFile.open(conf, dir, s, m.dtype(), verify));
            }
        } catch (IOException | RuntimeException e) {
            for (ShardFile f : files) {
                f.close();
            }
            throw e;
        }
        return new ShardWindows(files, length);
    }

    public int length() {
        return length;
    }

    /** Number of valid window start positions (0 when every shard is shorter than a window). */
    public long positions() {
        return positions;
    }

    /** Tokens in the split. */
    public long tokens() {
        return files.stream().mapToLong(ShardFile::tokens).sum();
    }

    /** The window starting at valid position {@code p} (0 <= p < positions()). */
    public int[] window(long p) throws IOException {
        if (p < 0 || p >= positions) {
            throw new IndexOutOfBoundsException("window position " + p + " outside [0, " + positions + ")");
        }
        int lo = 0;
        int hi = files.size() - 1;
        while (lo < hi) { // last shard whose first position <= p
            int mid = (lo + hi + 1) >>> 1;
            if (firstPosition[mid] <= p) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return files.get(lo).read(p - firstPosition[lo], length);
    }

    /**
     * The start position of window {@code index} of {@code worker} at global step {@code step}: uniform over
     * {@code [0, positions)}, a pure function of its arguments.
     */
    public static long randomPosition(long seed, long step, int worker, int index, long positions) {
        if (positions <= 0) {
            throw new IllegalArgumentException("no window fits: every shard is shorter than a window");
        }
        long s = seed;
        s = mix(s ^ mix(step + 0x632BE59BD9B4E019L));
        s = mix(s ^ mix(((long) worker << 32 | (index & 0xFFFFFFFFL)) + 0x9E3779B97F4A7C15L));
        return new SplittableRandom(s).nextLong(positions);
    }

    private static long mix(long z) { // SplitMix64's finaliser
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Consecutive non-overlapping windows, shard after shard, at most {@code max}. */
    public Iterator<int[]> sequential(long max) {
        return new Iterator<>() {
            private int shard;
            private long offset;
            private long taken;

            @Override
            public boolean hasNext() {
                while (shard < files.size() && offset + length > files.get(shard).tokens()) {
                    shard++;
                    offset = 0;
                }
                return taken < max && shard < files.size();
            }

            @Override
            public int[] next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                try {
                    int[] w = files.get(shard).read(offset, length);
                    offset += length;
                    taken++;
                    return w;
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
        };
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (ShardFile f : files) {
            try {
                f.close();
            } catch (IOException e) {
                first = first == null ? e : first;
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
