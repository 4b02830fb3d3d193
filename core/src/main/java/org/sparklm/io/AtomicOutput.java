package org.sparklm.io;

import java.io.IOException;
import java.io.OutputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An output directory committed atomically on any Hadoop FileSystem: everything is written into a hidden sibling
 * {@code .NAME._tmp-UUID}, then renamed to {@code NAME} by {@link #commit()}. A failed run leaves nothing at the
 * output (call {@link #abort()}, which deletes the temporary directory). An existing output is refused unless
 * overwrite is set; then it is moved aside, replaced, and deleted.
 *
 * <p>Rename is atomic on HDFS and local file systems; on object stores (s3a) it is a copy, so a reader may briefly
 * see a partial output there.
 */
public final class AtomicOutput implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AtomicOutput.class);

    private final FileSystem fs;
    private final Path target;
    private final Path temp;
    private final boolean overwrite;
    private boolean done;

    private AtomicOutput(FileSystem fs, Path target, Path temp, boolean overwrite) {
        this.fs = fs;
        this.target = target;
        this.temp = temp;
        this.overwrite = overwrite;
    }

    /**
     * Checks that the output may be written (fails fast when it exists without overwrite) and creates the
     * temporary directory.
     */
    public static AtomicOutput begin(Configuration conf, String output, boolean overwrite) throws IOException {
        Path target = new Path(output);
        FileSystem fs = HadoopFiles.forWriting(conf, target);
        target = fs.makeQualified(target);
        checkWritable(fs, target, overwrite);
        Path parent = target.getParent();
        if (parent != null && !fs.exists(parent)) {
            fs.mkdirs(parent);
        }
        Path temp = AtomicCommit.tempSibling(target);
        if (!fs.mkdirs(temp)) {
            throw new IOException("cannot create temporary output directory " + temp);
        }
        return new AtomicOutput(fs, target, temp, overwrite);
    }

    /** Fails when the output exists and overwrite is not set. */
    public static void checkWritable(FileSystem fs, Path target, boolean overwrite) throws IOException {
        if (!overwrite && fs.exists(target)) {
            throw new OutputExistsException("output " + target + " already exists (use --overwrite to replace it)");
        }
    }

    public FileSystem fs() {
        return fs;
    }

    /** The final location. */
    public Path target() {
        return target;
    }

    /** Where to write until commit. */
    public Path temp() {
        return temp;
    }

    /** Creates a file inside the temporary directory. */
    public OutputStream create(String relative) throws IOException {
        return fs.create(new Path(temp, relative), false);
    }

    /** Writes a whole file inside the temporary directory. */
    public void write(String relative, byte[] bytes) throws IOException {
        try (OutputStream o = create(relative)) {
            o.write(bytes);
        }
    }

    /** Moves the temporary directory into place. */
    public void commit() throws IOException {
        if (done) {
            throw new IllegalStateException("already committed or aborted");
        }
        AtomicCommit.rename(fs, temp, target, overwrite);
        done = true;
    }

    /** Deletes the temporary directory; the target is untouched. */
    public void abort() {
        if (done) {
            return;
        }
        done = true;
        try {
            fs.delete(temp, true);
        } catch (IOException e) {
            LOG.warn("could not delete temporary output {}: {}", temp, e.toString());
        }
    }

    /** Aborts unless committed. */
    @Override
    public void close() {
        abort();
    }

    /** The output exists and --overwrite was not given. */
    public static final class OutputExistsException extends IOException {
        private static final long serialVersionUID = 1L;

        public OutputExistsException(String message) {
            super(message);
        }
    }
}
