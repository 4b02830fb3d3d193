package org.sparklm.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * {@code checkpoint.json}, the last file written into a checkpoint directory: the format, the global step, when it
 * was written, and every blob (including {@code state.json}) with its size in bytes and sha256. A checkpoint without
 * it is partial; a checkpoint whose blobs disagree with it is corrupt (see {@link CheckpointStore#verify}).
 *
 * @param formatVersion {@link #VERSION}
 * @param step          the global step the checkpoint was taken after
 * @param created       ISO-8601 UTC time of writing
 * @param blobs         the blobs in writing order
 */
public record CheckpointManifest(int formatVersion, long step, String created, List<Blob> blobs) {

    public static final String FILE = "checkpoint.json";
    public static final String FORMAT = "sparklm-checkpoint";
    public static final int VERSION = 1;

    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    /** One file of a checkpoint. */
    public record Blob(String name, long bytes, String sha256) {
        public Blob {
            CheckpointStore.checkBlobName(name);
            if (bytes < 0) {
                throw new IllegalArgumentException("negative size " + bytes + " of blob " + name);
            }
            if (sha256 == null || !SHA256.matcher(sha256).matches()) {
                throw new IllegalArgumentException("bad sha256 '" + sha256 + "' of blob " + name
                    + " (expected 64 lowercase hex digits)");
            }
        }
    }

    public CheckpointManifest {
        if (formatVersion != VERSION) {
            throw new IllegalArgumentException("unsupported checkpoint format_version " + formatVersion
                + " (this build reads " + VERSION + ")");
        }
        if (step < 0) {
            throw new IllegalArgumentException("negative step " + step);
        }
        blobs = List.copyOf(blobs);
        java.util.Set<String> names = new java.util.HashSet<>();
        for (Blob b : blobs) {
            if (!names.add(b.name())) {
                throw new IllegalArgumentException("blob " + b.name() + " listed twice");
            }
        }
    }

    /** The blob of that name, if listed. */
    public Optional<Blob> blob(String name) {
        return blobs.stream().filter(b -> b.name().equals(name)).findFirst();
    }

    /** The total size of the blobs. */
    public long bytes() {
        return blobs.stream().mapToLong(Blob::bytes).sum();
    }

    /** Writes the manifest as pretty-printed JSON. */
    public void write(OutputStream out) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.put("format", FORMAT);
        root.put("format_version", formatVersion);
        root.put("step", step);
        root.put("created", created);
        ArrayNode arr = root.putArray("blobs");
        for (Blob b : blobs) {
            ObjectNode o = arr.addObject();
            o.put("name", b.name());
            o.put("bytes", b.bytes());
            o.put("sha256", b.sha256());
        }
        json.writerWithDefaultPrettyPrinter().writeValue(out, root);
    }

    /**
     * Reads a manifest.
     *
     * @throws IOException when the JSON is malformed or a field is missing or invalid (the message names it)
     */
    public static CheckpointManifest read(InputStream in) throws IOException {
        JsonNode root = new ObjectMapper().readTree(in);
        if (root == null || !root.isObject()) {
            throw new IOException("not a JSON object");
        }
        if (!FORMAT.equals(root.path("format").asText())) {
            throw new IOException("format is '" + root.path("format").asText() + "', expected '" + FORMAT + "'");
        }
        try {
            List<Blob> blobs = new ArrayList<>();
            for (JsonNode b : required(root, "blobs")) {
                blobs.add(new Blob(required(b, "name").asText(), required(b, "bytes").asLong(),
                    required(b, "sha256").asText()));
            }
            return new CheckpointManifest(required(root, "format_version").asInt(), required(root, "step").asLong(),
                root.path("created").asText(""), blobs);
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    private static JsonNode required(JsonNode node, String field) throws IOException {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            throw new IOException("field '" + field + "' missing");
        }
        return v;
    }
}
