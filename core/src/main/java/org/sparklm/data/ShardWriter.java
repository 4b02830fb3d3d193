package org.sparklm.data;

import java.io.IOException;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.util.Iterator;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.sparklm.io.AtomicCommit;
import org.sparklm.io.Sha256;

/**
 * Writes a flat little-endian token stream (a shard) to an output stream, counting tokens and documents and computing
 * the sha256 of the bytes written. Not thread-safe; closes the stream on {@link #close()}. {@link #writeFile} writes
 * one shard file so that a retried or concurrent attempt can never leave a partial shard under its name.
 */
public final class ShardWriter implements AutoCloseable {
    private final OutputStream out;
    private final TokenDtype dtype;
    private final long maxId;
    private final MessageDigest sha;
    private final byte[] buf = new byte[1 << 16];
    private int used;
    private long tokens;
    private long documents;

    public ShardWriter(OutputStream out, TokenDtype dtype) {
        this.out = out;
        this.dtype = dtype;
        this.maxId = dtype == TokenDtype.UINT16 ? 0xFFFFL : 0xFFFFFFFFL;
        this.sha = Sha256.digest();
    }

    /**
     * Writes the documents as the shard {@code dir/file}, committed atomically ({@link AtomicCommit}): a retried or
     * concurrent attempt of the task can never leave a partial shard under its name, and replaces what a failed
     * earlier attempt left there.
     *
     * @return the shard as the manifest lists it
     */
    public static ShardManifest.Shard writeFile(FileSystem fs, Path dir, String file, Iterator<int[]> documents,
                                                TokenDtype dtype) throws IOException {
        ShardManifest.Shard[] out = new ShardManifest.Shard[1];
        AtomicCommit.writeFile(fs, new Path(dir, file), o -> {
            ShardWriter w = new ShardWriter(o, dtype);
            while (documents.hasNext()) {
                w.writeDocument(documents.next());
            }
            out[0] = new ShardManifest.Shard(file, w.tokens(), w.documents(), w.finish());
        }, true);
        return out[0];
    }

    /** Appends one document's tokens. */
    public void writeDocument(int[] ids) throws IOException {
        for (int id : ids) {
            write(id);
        }
        documents++;
    }

    /** Appends one token. */
    public void write(int id) throws IOException {
        if (id < 0 || id > maxId) {
            throw new IllegalArgumentException("token id " + id + " does not fit " + dtype.numpyName());
        }
        if (used + 4 > buf.length) {
            flushBuffer();
        }
        buf[used++] = (byte) id;
        buf[used++] = (byte) (id >>> 8);
        if (dtype == TokenDtype.UINT32) {
            buf[used++] = (byte) (id >>> 16);
            buf[used++] = (byte) (id >>> 24);
        }
        tokens++;
    }

    private void flushBuffer() throws IOException {
        sha.update(buf, 0, used);
        out.write(buf, 0, used);
        used = 0;
    }

    public long tokens() {
        return tokens;
    }

    public long documents() {
        return documents;
    }

    /** Flushes, closes the stream and returns the sha256 (hex) of everything written. */
    public String finish() throws IOException {
        flushBuffer();
        out.close();
        return Sha256.hex(sha);
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
