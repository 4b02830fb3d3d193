package org.sparklm.report;

import java.io.IOException;
import java.io.OutputStream;
import java.util.UUID;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Replaces a small file as a whole on any Hadoop FileSystem: the content goes to a hidden sibling
 * {@code .NAME._tmp-UUID}, which is then renamed over the file. Appending is not available on every file system
 * (object stores), and a reader never sees a half-written file: on local file systems the rename replaces the file
 * atomically; where rename refuses to overwrite (HDFS), the old file is deleted first, and if the process dies between
 * the two steps the complete temporary file remains ({@link #TEMP_PREFIX}) for {@link MetricsLog} to recover.
 */
final class AtomicFile {
    static final String TEMP_PREFIX = "._tmp-";

    private AtomicFile() {
    }

    static String tempPrefix(Path file) {
        return "." + file.getName() + TEMP_PREFIX;
    }

    static void replace(FileSystem fs, Path file, byte[] content) throws IOException {
        Path parent = file.getParent();
        if (parent != null && !fs.exists(parent) && !fs.mkdirs(parent)) {
            throw new IOException("cannot create directory " + parent);
        }
        Path temp = new Path(parent, tempPrefix(file) + UUID.randomUUID());
        boolean done = false;
        try {
            try (OutputStream out = fs.create(temp, false)) {
                out.write(content);
            }
            if (!fs.rename(temp, file)) {
                if (!fs.exists(file) || !fs.delete(file, false) || !fs.rename(temp, file)) {
                    throw new IOException("cannot rename " + temp + " to " + file);
                }
            }
            done = true;
        } finally {
            if (!done) {
                try {
                    fs.delete(temp, false);
                } catch (IOException ignored) {
                    // the original failure matters more
                }
            }
        }
    }
}
