package org.sparklm.data;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import org.sparklm.io.Sha256;

/**
 * The seeded identity hash of a document, which decides its split (train or validation) and its place in the
 * shuffled order of the shards. Both depend only on the seed, the file's input-relative name and the document's
 * position in that file (a byte offset, or 0 for whole-file documents), never on the cluster, the partitioning or
 * the order of the work; so the same input and seed give the same split and the same shards everywhere.
 *
 * <p>Definition (docs/FORMATS.md): {@code h = sha256(utf8(seed + "\n" + name + "\n" + position))} with the numbers
 * in decimal; {@code split} is bytes 0-7 of h as an unsigned big-endian integer and {@code (orderHi, orderLo)} bytes
 * 8-23. A document is in the validation split when {@code split < threshold} (unsigned), with threshold
 * {@code floor(valFraction * 2^64)} unless adjusted (see the shard job); the shards hold documents in increasing
 * unsigned {@code (orderHi, orderLo)} order.
 *
 * <p>Not thread-safe (holds a MessageDigest); make one per task.
 */
public final class DocumentKey {
    private final MessageDigest sha;
    private final byte[] prefix;
    private long split;
    private long orderHi;
    private long orderLo;

    public DocumentKey(long seed) {
        sha = Sha256.digest();
        prefix = (seed + "\n").getBytes(StandardCharsets.UTF_8);
    }

    /** Hashes one identity; read the result with {@link #split()}, {@link #orderHi()}, {@link #orderLo()}. */
    public DocumentKey hash(String name, long position) {
        sha.reset();
        sha.update(prefix);
        sha.update((name + "\n" + position).getBytes(StandardCharsets.UTF_8));
        byte[] h = sha.digest();
        split = longAt(h, 0);
        orderHi = longAt(h, 8);
        orderLo = longAt(h, 16);
        return this;
    }

    public long split() {
        return split;
    }

    public long orderHi() {
        return orderHi;
    }

    public long orderLo() {
        return orderLo;
    }

    private static long longAt(byte[] b, int off) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | (b[off + i] & 0xFF);
        }
        return v;
    }

    /** {@code floor(fraction * 2^64)} as an unsigned 64-bit value; fraction in [0, 1). */
    public static long threshold(double fraction) {
        if (!(fraction >= 0 && fraction < 1)) {
            throw new IllegalArgumentException("fraction must be in [0, 1), got " + fraction);
        }
        // fraction * 2^63 < 2^63 is exact to double precision; doubling keeps it unsigned
        return ((long) (fraction * 0x1p63)) << 1;
    }

    /** Whether a document with this split hash is in the validation split. */
    public static boolean isValidation(long split, long threshold) {
        return Long.compareUnsigned(split, threshold) < 0;
    }
}
