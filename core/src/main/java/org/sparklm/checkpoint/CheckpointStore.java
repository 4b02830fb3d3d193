package org.sparklm.checkpoint;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.FileNotFoundException;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparklm.io.AtomicCommit;
import org.sparklm.io.HadoopFiles;
import org.sparklm.io.IOConsumer;
import org.sparklm.io.Json;
import org.sparklm.io.Sha256;

/**
 * The checkpoints of one training run, on any Hadoop FileSystem (file, hdfs, s3a). Layout under the run's output
 * directory:
 *
 * <pre>
 * checkpoints/
 *   step-00001000/        one directory per checkpoint, named by the global step (8 digits, more when needed)
 *     model.zip           blobs written by the caller's callbacks, any names
 *     state.json          the caller's training state (an ObjectNode)
 *     checkpoint.json     written last: every blob with its size and sha256 ({@link CheckpointManifest})
 *   step-00002000/
 *   .step-00003000._tmp-UUID   a write in progress (or interrupted): ignored by readers
 * </pre>
 *
 * <p><b>Writing</b> ({@link #write}) is atomic: the blobs, then {@code state.json}, then {@code checkpoint.json} go
 * into a hidden temporary directory beside the others, which is renamed to {@code step-N} once complete. After a
 * successful write the store keeps the {@code keepLast} newest checkpoints and deletes the older ones, any checkpoint
 * with a <em>higher</em> step than the one just written (left over from a run that was resumed from an earlier
 * checkpoint, usually because the newer one was corrupt), and leftover temporary directories. One writer per run
 * directory is assumed (the training driver).
 *
 * <p><b>Reading</b> ({@link #latestIntact}) lists the checkpoints newest first and returns the first that verifies:
 * {@code checkpoint.json} exists and parses, and every blob it lists exists with the recorded size (and, optionally,
 * sha256). Each newer checkpoint skipped is logged as a warning with the reason and reported in the result.
 *
 * <p>Rename is atomic on HDFS and local file systems. On object stores (s3a) it is a copy, so a crash during the
 * rename can leave a partial {@code step-N}; verification detects it (a missing {@code checkpoint.json} or a blob of
 * the wrong size), and that checkpoint is skipped.
 */
public final class CheckpointStore {
    private static final Logger LOG = LoggerFactory.getLogger(CheckpointStore.class);

    /** The directory under the run's output directory. */
    public static final String DIR = "checkpoints";
    /** The training-state blob every checkpoint has. */
    public static final String STATE = "state.json";

    private static final Pattern STEP_DIR = Pattern.compile("step-(\\d{8,18})");
    private static final Pattern LEFTOVER = Pattern.compile("\\.step-\\d+\\._(tmp|old)-.*");
    private static final Pattern BLOB_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,254}");

    private final FileSystem fs;
    private final Path root;
    private final int keepLast;

    private CheckpointStore(FileSystem fs, Path root, int keepLast) {
        this.fs = fs;
        this.root = root;
        this.keepLast = keepLast;
    }

    /**
     * The checkpoint store of a run. Nothing is created until the first {@link #write}.
     *
     * @param runDir   the run's output directory (any Hadoop URI); checkpoints go to {@code runDir/checkpoints}
     * @param keepLast how many checkpoints to keep (at least 1; {@link Integer#MAX_VALUE} keeps all)
     */
    public static CheckpointStore open(Configuration conf, String runDir, int keepLast) throws IOException {
        if (keepLast < 1) {
            throw new IllegalArgumentException("keepLast must be at least 1, got " + keepLast);
        }
        Path run = new Path(runDir);
        FileSystem fs = HadoopFiles.forWriting(conf, run);
        return new CheckpointStore(fs, new Path(fs.makeQualified(run), DIR), keepLast);
    }

    /**
     * Reads and verifies one checkpoint directory (e.g. {@code evaluate --checkpoint DIR}).
     *
     * @throws CorruptCheckpointException naming the directory and what is wrong with it
     */
    public static Checkpoint load(Configuration conf, String checkpointDir, boolean verifySha256) throws IOException {
        Path dir = new Path(checkpointDir);
        FileSystem fs = HadoopFiles.forWriting(conf, dir);
        dir = fs.makeQualified(dir);
        if (!fs.exists(dir)) {
            throw new FileNotFoundException("checkpoint directory " + dir + " does not exist");
        }
        return verify(fs, dir, verifySha256);
    }

    /** The {@code checkpoints} directory. */
    public Path root() {
        return root;
    }

    public int keepLast() {
        return keepLast;
    }

    /** The directory name of a step: {@code step-00001234}. */
    public static String dirName(long step) {
        if (step < 0) {
            throw new IllegalArgumentException("negative step " + step);
        }
        return String.format(Locale.ROOT, "step-%08d", step);
    }

    /**
     * Writes a checkpoint atomically, then prunes (see the class comment).
     *
     * @param step  the global step the state belongs to
     * @param state the training state, written as {@code state.json}
     * @param blobs the other files by name (e.g. {@code "model.zip"}), each written by its callback into the stream
     *              it is given, in the map's order; a callback need not close the stream (closing it is harmless)
     * @return the written checkpoint
     * @throws IOException when a callback or the file system fails; nothing is then left at {@code step-N}
     */
    public Checkpoint write(long step, ObjectNode state, Map<String, IOConsumer<OutputStream>> blobs)
        throws IOException {
        String name = dirName(step);
        if (state == null) {
            throw new IllegalArgumentException("state of checkpoint " + name + " is null");
        }
        for (String blob : blobs.keySet()) {
            checkBlobName(blob);
            if (blob.equals(STATE) || blob.equals(CheckpointManifest.FILE)) {
                throw new IllegalArgumentException("blob name " + blob + " is reserved for the checkpoint store");
            }
        }
        long start = System.nanoTime();
        Path target = new Path(root, name);
        Path temp = AtomicCommit.tempSibling(target);
        if (!fs.mkdirs(temp)) {
            throw new IOException("cannot create temporary checkpoint directory " + temp);
        }
        boolean committed = false;
        try {
            List<CheckpointManifest.Blob> written = new ArrayList<>();
            Map<String, IOConsumer<OutputStream>> all = new LinkedHashMap<>(blobs);
            all.put(STATE, out -> Json.pretty().writeValue(out, state));
            for (Map.Entry<String, IOConsumer<OutputStream>> e : all.entrySet()) {
                written.add(writeBlob(new Path(temp, e.getKey()), e.getKey(), e.getValue(), name));
            }
            CheckpointManifest manifest = new CheckpointManifest(CheckpointManifest.VERSION, step,
                Instant.now().toString(), written);
            try (OutputStream out = fs.create(new Path(temp, CheckpointManifest.FILE), false)) {
                manifest.write(out);
            }
            commit(temp, target);
            committed = true;
            LOG.info("checkpoint {} written: {} blobs, {} bytes, {} ms", target, written.size(), manifest.bytes(),
                (System.nanoTime() - start) / 1_000_000);
            prune(step);
            return new Checkpoint(fs, target, manifest);
        } finally {
            if (!committed) {
                deleteQuietly(temp);
            }
        }
    }

    private CheckpointManifest.Blob writeBlob(Path file, String blob, IOConsumer<OutputStream> writer, String name)
        throws IOException {
        MessageDigest sha = Sha256.digest();
        CountingOutputStream counted;
        try (OutputStream raw = fs.create(file, false)) {
            counted = new CountingOutputStream(new DigestOutputStream(raw, sha));
            try {
                writer.accept(new CloseShield(counted));
            } catch (IOException | RuntimeException e) {
                throw new IOException("writing blob " + blob + " of checkpoint " + name + " failed: " + e, e);
            }
            counted.flush();
        }
        return new CheckpointManifest.Blob(blob, counted.count, Sha256.hex(sha));
    }

    private void commit(Path temp, Path target) throws IOException {
        if (fs.exists(target)) {
            LOG.warn("checkpoint {} already exists: replacing it", target);
        }
        AtomicCommit.rename(fs, temp, target, true);
    }

    /** Deletes older checkpoints beyond keepLast, newer (stale) ones, and leftover temporary directories. */
    private void prune(long written) throws IOException {
        int kept = 0;
        for (long step : steps()) {
            Path dir = new Path(root, dirName(step));
            if (step > written) {
                LOG.warn("deleting checkpoint {}: its step is after the checkpoint just written (step {}), so it "
                    + "belongs to a run that was resumed from an earlier checkpoint", dir, written);
                deleteQuietly(dir);
            } else if (++kept > keepLast) {
                LOG.info("deleting checkpoint {} (keeping the last {})", dir, keepLast);
                deleteQuietly(dir);
            }
        }
        deleteLeftovers();
    }

    /**
     * Deletes the hidden temporary directories that interrupted writes left behind. Only the run's single writer
     * may call this (it would delete a write in progress); {@link #write} calls it after each checkpoint.
     *
     * @return how many were deleted
     */
    public int deleteLeftovers() throws IOException {
        int n = 0;
        for (Path p : leftovers()) {
            LOG.info("deleting leftover temporary checkpoint directory {}", p);
            deleteQuietly(p);
            n++;
        }
        return n;
    }

    /** The steps of the committed checkpoint directories (verified or not), newest first. */
    public List<Long> steps() throws IOException {
        List<Long> steps = new ArrayList<>();
        for (FileStatus st : listRoot()) {
            Matcher m = STEP_DIR.matcher(st.getPath().getName());
            if (st.isDirectory() && m.matches()) {
                steps.add(Long.parseLong(m.group(1)));
            }
        }
        steps.sort(Comparator.reverseOrder());
        return steps;
    }

    /** The directory of a step's checkpoint (which may not exist). */
    public Path dir(long step) {
        return new Path(root, dirName(step));
    }

    private List<Path> leftovers() throws IOException {
        List<Path> out = new ArrayList<>();
        for (FileStatus st : listRoot()) {
            if (LEFTOVER.matcher(st.getPath().getName()).matches()) {
                out.add(st.getPath());
            }
        }
        out.sort(null);
        return out;
    }

    private FileStatus[] listRoot() throws IOException {
        try {
            return fs.listStatus(root);
        } catch (FileNotFoundException e) {
            return new FileStatus[0];
        }
    }

    /**
     * The newest checkpoint that verifies. Partial or corrupt newer ones are skipped, each logged as a warning and
     * listed with the reason; leftover temporary directories are ignored and listed (not deleted: see
     * {@link #deleteLeftovers}). Reads only.
     *
     * @param verifySha256 also hash every blob (reads all of them) rather than comparing sizes only
     */
    public LatestIntact latestIntact(boolean verifySha256) throws IOException {
        List<LatestIntact.Skipped> skipped = new ArrayList<>();
        List<Path> leftovers = leftovers();
        for (Path p : leftovers) {
            LOG.info("ignoring temporary checkpoint directory {} (an interrupted or ongoing write)", p);
        }
        for (long step : steps()) {
            Path dir = dir(step);
            try {
                Checkpoint c = verify(fs, dir, verifySha256);
                if (c.step() != step) {
                    throw new CorruptCheckpointException(dir, CheckpointManifest.FILE + " says step " + c.step()
                        + " but the directory is named for step " + step);
                }
                return new LatestIntact(c, skipped, leftovers);
            } catch (CorruptCheckpointException e) {
                LOG.warn("skipping checkpoint {}: {}", dir, e.reason());
                skipped.add(new LatestIntact.Skipped(dir, e.reason()));
            }
        }
        return new LatestIntact(null, skipped, leftovers);
    }

    /**
     * Verifies one checkpoint directory: {@code checkpoint.json} exists and parses, lists {@code state.json}, and
     * every blob it lists exists with the recorded size and, if asked, sha256.
     *
     * @throws CorruptCheckpointException with the reason when it does not verify
     * @throws IOException                when the file system fails otherwise
     */
    public static Checkpoint verify(FileSystem fs, Path dir, boolean verifySha256) throws IOException {
        Path manifestFile = new Path(dir, CheckpointManifest.FILE);
        CheckpointManifest manifest;
        try (InputStream in = fs.open(manifestFile)) {
            manifest = CheckpointManifest.read(in);
        } catch (FileNotFoundException e) {
            throw new CorruptCheckpointException(dir, "no " + CheckpointManifest.FILE + " (partial write)");
        } catch (IOException e) {
            throw new CorruptCheckpointException(dir, CheckpointManifest.FILE + " unreadable: " + e.getMessage());
        }
        if (manifest.blob(STATE).isEmpty()) {
            throw new CorruptCheckpointException(dir, CheckpointManifest.FILE + " lists no " + STATE);
        }
        for (CheckpointManifest.Blob b : manifest.blobs()) {
            Path file = new Path(dir, b.name());
            FileStatus st;
            try {
                st = fs.getFileStatus(file);
            } catch (FileNotFoundException e) {
                throw new CorruptCheckpointException(dir, "blob " + b.name() + " is missing");
            }
            if (st.getLen() != b.bytes()) {
                throw new CorruptCheckpointException(dir, "blob " + b.name() + " has " + st.getLen()
                    + " bytes, " + CheckpointManifest.FILE + " says " + b.bytes()
                    + (st.getLen() < b.bytes() ? " (truncated)" : ""));
            }
            if (verifySha256) {
                String sha = Sha256.of(fs, file);
                if (!sha.equals(b.sha256())) {
                    throw new CorruptCheckpointException(dir, "blob " + b.name() + " has sha256 " + sha + ", "
                        + CheckpointManifest.FILE + " says " + b.sha256());
                }
            }
        }
        return new Checkpoint(fs, dir, manifest);
    }

    static void checkBlobName(String name) {
        if (name == null || !BLOB_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("bad checkpoint blob name '" + name
                + "': letters, digits, '.', '_' and '-' only, not starting with '.', '_' or '-'");
        }
    }

    private void deleteQuietly(Path p) {
        try {
            if (!fs.delete(p, true) && fs.exists(p)) {
                LOG.warn("could not delete {}", p);
            }
        } catch (IOException e) {
            LOG.warn("could not delete {}: {}", p, e.toString());
        }
    }

    /** A checkpoint directory that is partial or corrupt; {@link #reason()} says why. */
    public static final class CorruptCheckpointException extends IOException {
        private static final long serialVersionUID = 1L;
        private final String reason;

        public CorruptCheckpointException(Path dir, String reason) {
            super("checkpoint " + dir + " is not intact: " + reason);
            this.reason = reason;
        }

        public String reason() {
            return reason;
        }
    }

    /** Counts bytes on their way to the digest and the file. */
    private static final class CountingOutputStream extends FilterOutputStream {
        long count;

        CountingOutputStream(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
        }
    }

    /** What a blob callback writes to: closing it only flushes, the store closes the file. */
    private static final class CloseShield extends FilterOutputStream {
        CloseShield(OutputStream out) {
            super(out);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
        }

        @Override
        public void close() throws IOException {
            out.flush();
        }
    }
}
