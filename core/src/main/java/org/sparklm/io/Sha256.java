package org.sparklm.io;

import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * SHA-256, the one hash of the project's files (tokenizers, shards, checkpoint blobs) and of document identities:
 * its definition is one line anyone can reproduce (Python's {@code hashlib.sha256}), written as lower-case hex.
 */
public final class Sha256 {
    private Sha256() {
    }

    /** A new digest (not thread-safe: one per thread or stream). */
    public static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JVM has no SHA-256", e);
        }
    }

    /** Lower-case hex of a digest's result (the digest is reset). */
    public static String hex(MessageDigest d) {
        return HexFormat.of().formatHex(d.digest());
    }

    /** The sha256 of bytes, lower-case hex. */
    public static String of(byte[] bytes) {
        return HexFormat.of().formatHex(digest().digest(bytes));
    }

    /** The sha256 of a stream's remaining bytes (the stream is read to its end, not closed). */
    public static String of(InputStream in) throws IOException {
        MessageDigest d = digest();
        byte[] buf = new byte[1 << 16];
        for (int n; (n = in.read(buf)) > 0; ) {
            d.update(buf, 0, n);
        }
        return hex(d);
    }

    /** The sha256 of a file on any Hadoop FileSystem. */
    public static String of(FileSystem fs, Path file) throws IOException {
        try (InputStream in = fs.open(file)) {
            return of(in);
        }
    }
}
