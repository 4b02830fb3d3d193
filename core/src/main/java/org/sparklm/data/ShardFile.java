package org.sparklm.data;

import java.io.IOException;
import java.io.InputStream;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.sparklm.io.Sha256;

/**
 * One shard opened for reading on any Hadoop FileSystem: fixed-length token windows by positioned reads, never the
 * whole shard in memory. Opening checks the file's size against the manifest (a truncated or altered shard is an
 * IOException naming the file); {@link #verifySha256} streams the file once and checks its hash.
 */
public final class ShardFile implements AutoCloseable {
    private final Path path;
    private final ShardManifest.Shard info;
    private final TokenDtype dtype;
    private final FSDataInputStream in;

    private ShardFile(Path path, ShardManifest.Shard info, TokenDtype dtype, FSDataInputStream in) {
        this.path = path;
        this.info = info;
        this.dtype = dtype;
        this.in = in;
    }

    /** Opens the shard {@code info.file()} inside {@code dir}; checks its size, and its sha256 when asked to. */
    public static ShardFile open(Configuration conf, Path dir, ShardManifest.Shard info, TokenDtype dtype,
                                 boolean verify) throws IOException {
        Path p = new Path(dir, info.file());
        FileSystem fs = p.getFileSystem(conf);
        if (!fs.exists(p)) {
            throw new IOException("shard " + p + " is missing");
        }
        long expected = info.tokens() * dtype.bytes();
        long actual = fs.getFileStatus(p).getLen();
        if (actual != expected) {
            throw new IOException("shard " + p + " is truncated or altered: " + actual + " bytes, the manifest says "
                + info.tokens() + " tokens (" + expected + " bytes)");
        }
        ShardFile f = new ShardFile(p, info, dtype, fs.open(p));
        if (verify) {
            f.verifySha256();
        }
        return f;
    }

    public long tokens() {
        return info.tokens();
    }

    public Path path() {
        return path;
    }

    /** Streams the whole file and compares its sha256 with the manifest's. */
    public void verifySha256() throws IOException {
        in.seek(0);
        String got = Sha256.of((InputStream) in);
        if (!got.equalsIgnoreCase(info.sha256())) {
            throw new IOException("shard " + path + " is altered: sha256 " + got + ", the manifest says "
                + info.sha256());
        }
    }

    /** Reads {@code count} tokens starting at token {@code offset}. */
    public int[] read(long offset, int count) throws IOException {
        if (offset < 0 || count < 0 || offset + count > info.tokens()) {
            throw new IndexOutOfBoundsException("tokens [" + offset + ", " + (offset + count) + ") outside shard "
                + path + " of " + info.tokens() + " tokens");
        }
        byte[] b = new byte[count * dtype.bytes()];
        in.readFully(offset * dtype.bytes(), b, 0, b.length);
        int[] out = new int[count];
        if (dtype == TokenDtype.UINT16) {
            for (int i = 0; i < count; i++) {
                out[i] = (b[2 * i] & 0xFF) | (b[2 * i + 1] & 0xFF) << 8;
            }
        } else {
            for (int i = 0; i < count; i++) {
                out[i] = (b[4 * i] & 0xFF) | (b[4 * i + 1] & 0xFF) << 8 | (b[4 * i + 2] & 0xFF) << 16
                    | (b[4 * i + 3] & 0xFF) << 24;
            }
        }
        return out;
    }

    /** Consecutive windows of {@code length} tokens, each starting {@code length} after the previous; a tail shorter
     * than a window is left out. */
    public Iterator<int[]> sequentialWindows(int length) {
        return windows(length, tokens() / Math.max(1, length), i -> i * (long) length);
    }

    /**
     * {@code count} windows of {@code length} tokens at offsets drawn uniformly from {@code [0, tokens - length]}
     * by a generator seeded from (seed, epoch): the same seed and epoch give the same windows everywhere.
     */
    public Iterator<int[]> randomWindows(int length, long count, long seed, int epoch) {
        long span = tokens() - length + 1;
        if (span <= 0) {
            return windows(length, 0, i -> 0);
        }
        SplittableRandom rnd = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + epoch);
        return windows(length, count, i -> rnd.nextLong(span));
    }

    private Iterator<int[]> windows(int length, long count, java.util.function.LongUnaryOperator offsetOf) {
        if (length < 1) {
            throw new IllegalArgumentException("window length must be positive, got " + length);
        }
        return new Iterator<>() {
            private long i;

            @Override
            public boolean hasNext() {
                return i < count;
            }

            @Override
            public int[] next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                try {
                    return read(offsetOf.applyAsLong(i++), length);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
        };
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
