package org.sparklm.data;

import java.io.IOException;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Iterator;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

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
        try {
            this.sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Writes the documents as the shard {@code dir/file}: into a hidden attempt file {@code .FILE.attempt-ATTEMPT}
     * first, renamed to {@code file} once complete (replacing what a failed earlier attempt left there); a failure
     * deletes the attempt file.
     *
     * @return the shard as the manifest lists it
     */
    public static ShardManifest.Shard writeFile(FileSystem fs, Path dir, String file, long attempt,
                                                Iterator<int[]> documents, TokenDtype dtype) throws IOException {
        Path tmp = new Path(dir, "." + file + ".attempt-" + attempt);
        Path dst = new Path(dir, file);
        ShardWriter w = new ShardWriter(fs.create(tmp, true), dtype);
        String sha;
        try {
            while (documents.hasNext()) {
                w.writeDocument(documents.next());
            }
            sha = w.finish();
        } catch (IOException | RuntimeException e) {
            w.close();
            fs.delete(tmp, false);
            throw e;
        }
        if (fs.exists(dst)) {
            fs.delete(dst, false); // a failed earlier attempt of this task
        }
        if (!fs.rename(tmp, dst)) {
            throw new IOException("cannot rename " + tmp + " to " + dst);
        }
        return new ShardManifest.Shard(file, w.tokens(), w.documents(), sha);
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
        return HexFormat.of().formatHex(sha.digest());
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
