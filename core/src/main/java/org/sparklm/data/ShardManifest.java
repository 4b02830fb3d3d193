package org.sparklm.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code manifest.json} of a shard directory (docs/FORMATS.md): the format version, the tokenizer it was encoded
 * with (sha256 of its tokenizer.json), vocabulary size, token dtype, the EOS id, and per split the shard files with
 * their token count, document count and sha256.
 */
public record ShardManifest(int formatVersion, String tokenizerSha256, int vocabSize, TokenDtype dtype, int eosId,
                            Map<String, List<Shard>> splits) implements java.io.Serializable {

    public static final String FILE = "manifest.json";
    public static final String FORMAT = "sparklm-shards";
    public static final int VERSION = 1;

    /** One shard file. */
    public record Shard(String file, long tokens, long documents, String sha256) implements java.io.Serializable {
        public Shard {
            if (tokens < 0 || documents < 0) {
                throw new IllegalArgumentException("negative count in shard " + file);
            }
        }
    }

    public ShardManifest {
        splits = Map.copyOf(splits);
    }

    /** The shards of a split, or an empty list. */
    public List<Shard> shards(String split) {
        return splits.getOrDefault(split, List.of());
    }

    public long tokens(String split) {
        return shards(split).stream().mapToLong(Shard::tokens).sum();
    }

    public long documents(String split) {
        return shards(split).stream().mapToLong(Shard::documents).sum();
    }

    /** Writes the manifest, with an optional report object. */
    public void write(OutputStream out, ObjectNode report) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.put("format", FORMAT);
        root.put("format_version", formatVersion);
        root.put("tokenizer_sha256", tokenizerSha256);
        root.put("vocab_size", vocabSize);
        root.put("dtype", dtype.numpyName());
        root.put("byte_order", "little");
        root.put("eos_id", eosId);
        ObjectNode sp = root.putObject("splits");
        for (String name : new java.util.TreeSet<>(splits.keySet())) {
            ArrayNode arr = sp.putArray(name);
            for (Shard s : splits.get(name)) {
                ObjectNode o = arr.addObject();
                o.put("file", s.file());
                o.put("tokens", s.tokens());
                o.put("documents", s.documents());
                o.put("sha256", s.sha256());
            }
        }
        if (report != null) {
            root.set("report", report);
        }
        json.writerWithDefaultPrettyPrinter().writeValue(out, root);
    }

    /** Reads a manifest; a missing field or another format is an IOException naming it. */
    public static ShardManifest read(InputStream in) throws IOException {
        JsonNode root = new ObjectMapper().readTree(in);
        if (root == null || !FORMAT.equals(root.path("format").asText())) {
            throw new IOException("not a " + FORMAT + " manifest (field 'format')");
        }
        int version = root.path("format_version").asInt(-1);
        if (version != VERSION) {
            throw new IOException("unsupported shard format version " + version + " (this build reads " + VERSION
                + ")");
        }
        Map<String, List<Shard>> splits = new LinkedHashMap<>();
        var it = root.path("splits").fields();
        while (it.hasNext()) {
            var e = it.next();
            List<Shard> list = new ArrayList<>();
            for (JsonNode s : e.getValue()) {
                list.add(new Shard(required(s, "file").asText(), required(s, "tokens").asLong(),
                    required(s, "documents").asLong(), required(s, "sha256").asText()));
            }
            splits.put(e.getKey(), list);
        }
        try {
            return new ShardManifest(version, required(root, "tokenizer_sha256").asText(),
                required(root, "vocab_size").asInt(), TokenDtype.parse(required(root, "dtype").asText()),
                required(root, "eos_id").asInt(), splits);
        } catch (IllegalArgumentException e) {
            throw new IOException("manifest: " + e.getMessage(), e);
        }
    }

    private static JsonNode required(JsonNode n, String field) throws IOException {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            throw new IOException("manifest: missing field '" + field + "'");
        }
        return v;
    }
}
