package org.sparklm.io;

import java.io.IOException;
import java.io.OutputStream;
import java.util.UUID;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.sparklm.io.IOConsumer;

/**
 * "Write aside, then rename": the one way outputs are committed on any Hadoop FileSystem, for directories (job
 * outputs, checkpoints) and single files (metrics, reports, shards). Content is written under a hidden sibling name
 * {@code .NAME._tmp-UUID} and renamed to {@code NAME} only when complete, so a reader never sees a partial output and
 * a failure leaves nothing at {@code NAME}. An existing {@code NAME} is replaced only when asked: it is moved aside to
 * {@code .NAME._old-UUID}, the new one renamed in, and the old one deleted (on a failure in between, the old one is
 * moved back). Rename is atomic on HDFS and local file systems; on object stores (s3a) it is a copy, which readers of
 * our formats detect by sizes and sha256.
 */
public final class AtomicCommit {

    /** The infix of temporary siblings: {@code .NAME._tmp-UUID}. */
    public static final String TEMP = "._tmp-";
    /** The infix of replaced outputs waiting for deletion: {@code .NAME._old-UUID}. */
    public static final String OLD = "._old-";

    private AtomicCommit() {
    }

    /** The prefix of every temporary sibling of {@code target}: {@code .NAME._tmp-}. */
    public static String tempPrefix(Path target) {
        return "." + target.getName() + TEMP;
    }

    /** A fresh temporary sibling of {@code target}. */
    public static Path tempSibling(Path target) {
        return new Path(target.getParent(), tempPrefix(target) + UUID.randomUUID());
    }

    /**
     * Renames the complete {@code temp} to {@code target}.
     *
     * @param replace whether an existing target may be replaced; when false an existing target is an
     *                {@link AtomicOutput.OutputExistsException} and nothing changes
     */
    public static void rename(FileSystem fs, Path temp, Path target, boolean replace) throws IOException {
        Path old = null;
        if (fs.exists(target)) {
            if (!replace) {
                throw new AtomicOutput.OutputExistsException("output " + target + " appeared while the job ran;"
                    + " left untouched");
            }
            // a local file system replaces a file in one rename; elsewhere (HDFS) rename refuses to overwrite
            if (fs.getFileStatus(target).isFile() && fs.rename(temp, target)) {
                return;
            }
            old = new Path(target.getParent(), "." + target.getName() + OLD + UUID.randomUUID());
            if (!fs.rename(target, old)) {
                throw new IOException("cannot move the existing " + target + " aside to " + old);
            }
        }
        if (!fs.rename(temp, target)) {
            if (old != null) {
                fs.rename(old, target);
            }
            throw new IOException("cannot rename " + temp + " to " + target);
        }
        if (old != null) {
            deleteQuietly(fs, old);
        }
    }

    /**
     * Writes a file atomically: {@code content} writes into a temporary sibling, which is then renamed over
     * {@code file} (replacing it when {@code replace}). The parent directory is created if needed.
     */
    public static void writeFile(FileSystem fs, Path file, IOConsumer<OutputStream> content, boolean replace)
        throws IOException {
        Path parent = file.getParent();
        if (parent != null && !fs.exists(parent) && !fs.mkdirs(parent)) {
            throw new IOException("cannot create directory " + parent);
        }
        Path temp = tempSibling(file);
        boolean done = false;
        try {
            try (OutputStream out = fs.create(temp, false)) {
                content.accept(out);
            }
            rename(fs, temp, file, replace);
            done = true;
        } finally {
            if (!done) {
                deleteQuietly(fs, temp);
            }
        }
    }

    /** Deletes a path recursively, ignoring failures (cleanup after another failure, which matters more). */
    public static void deleteQuietly(FileSystem fs, Path p) {
        try {
            fs.delete(p, true);
        } catch (IOException ignored) {
            // the caller's own failure matters more
        }
    }
}
