package org.sparklm.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A committed checkpoint directory that passed verification ({@link CheckpointStore#verify}): its step, location and
 * {@code checkpoint.json}, and the means to read its blobs. A handle on a file system, not a value.
 */
public final class Checkpoint {
    private final FileSystem fs;
    private final Path dir;
    private final CheckpointManifest manifest;

    Checkpoint(FileSystem fs, Path dir, CheckpointManifest manifest) {
        this.fs = fs;
        this.dir = dir;
        this.manifest = manifest;
    }

    /** The global step the checkpoint was taken after. */
    public long step() {
        return manifest.step();
    }

    /** The checkpoint directory ({@code .../checkpoints/step-00001234}). */
    public Path dir() {
        return dir;
    }

    public CheckpointManifest manifest() {
        return manifest;
    }

    /**
     * Opens a blob for reading.
     *
     * @throws java.io.FileNotFoundException when {@code checkpoint.json} does not list it
     */
    public InputStream open(String blob) throws IOException {
        if (manifest.blob(blob).isEmpty()) {
            throw new java.io.FileNotFoundException("checkpoint " + dir + " has no blob '" + blob + "' (it has "
                + manifest.blobs().stream().map(CheckpointManifest.Blob::name).toList() + ")");
        }
        return fs.open(new Path(dir, blob));
    }

    /** Reads {@code state.json}, the training state the caller gave to {@link CheckpointStore#write}. */
    public ObjectNode readState() throws IOException {
        try (InputStream in = open(CheckpointStore.STATE)) {
            JsonNode node = new ObjectMapper().readTree(in);
            if (node == null || !node.isObject()) {
                throw new IOException(new Path(dir, CheckpointStore.STATE) + " is not a JSON object");
            }
            return (ObjectNode) node;
        }
    }

    @Override
    public String toString() {
        return dir.toString();
    }
}
