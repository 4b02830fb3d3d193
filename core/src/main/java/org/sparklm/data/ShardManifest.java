package org.sparklm.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.sparklm.io.StoredTokenizer;

/**
 * {@code manifest.json} of a shard directory (docs/FORMATS.md): the format version, the tokenizer it was encoded
 * with (sha256 of its tokenizer.json, and the name of the directory's copy of it), vocabulary size, token dtype, the
 * EOS id, and per split the shard files with their token count, document count and sha256.
 *
 * @param tokenizerFile the copy of the tokenizer.json inside the shard directory ({@link #TOKENIZER_FILE}), or null
 *     when the directory holds none (shards written before the directory carried its tokenizer)
 */
public record ShardManifest(int formatVersion, String tokenizerSha256, String tokenizerFile, int vocabSize,
                            TokenDtype dtype, int eosId, Map<String, List<Shard>> splits)
    implements java.io.Serializable {

    public static final String FILE = "manifest.json";
    public static final String FORMAT = "sparklm-shards";
    /**
     * The format version. {@code tokenizer_file} was added within version 1: it is optional, and a reader that
     * ignores it reads the shards exactly as before.
     */
    public static final int VERSION = 1;
    /** The name of the shard directory's copy of its tokenizer. */
    public static final String TOKENIZER_FILE = "tokenizer.json";

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
        if (tokenizerFile != null && (tokenizerFile.isEmpty() || tokenizerFile.contains("/")
            || tokenizerFile.contains("\\") || tokenizerFile.equals(".") || tokenizerFile.equals(".."))) {
            throw new IllegalArgumentException("tokenizer_file must be a file name inside the shard directory, got '"
                + tokenizerFile + "'");
        }
    }

    /** A manifest without a tokenizer file in the directory. */
    public ShardManifest(int formatVersion, String tokenizerSha256, int vocabSize, TokenDtype dtype, int eosId,
                         Map<String, List<Shard>> splits) {
        this(formatVersion, tokenizerSha256, null, vocabSize, dtype, eosId, splits);
    }

    /**
     * The tokenizer the shards of {@code dir} (the directory of this manifest) were encoded with: the directory's copy
     * ({@link #tokenizerFile()}), checked against {@link #tokenizerSha256()}.
     *
     * @throws FileNotFoundException when the manifest names no tokenizer file (shards made before the directory
     *     carried its tokenizer: give the tokenizer explicitly) or the file is missing
     * @throws IOException when the file is not the tokenizer the manifest names (another sha256)
     */
    public StoredTokenizer tokenizer(Configuration conf, Path dir) throws IOException {
        if (tokenizerFile == null) {
            throw new FileNotFoundException(dir + " holds no tokenizer (its " + FILE + " names no tokenizer_file:"
                + " shards made before shard directories carried their tokenizer); give the tokenizer explicitly");
        }
        Path f = new Path(dir, tokenizerFile);
        FileSystem fs = f.getFileSystem(conf);
        if (!fs.exists(f)) {
            throw new FileNotFoundException(f + " is missing (" + FILE + " names it as the shards' tokenizer)");
        }
        StoredTokenizer tok = StoredTokenizer.read(conf, f.toString());
        if (!tok.sha256().equals(tokenizerSha256)) {
            throw new IOException(f + " is not the tokenizer the shards were encoded with (sha256 " + tok.sha256()
                + ", " + FILE + " says " + tokenizerSha256 + ")");
        }
        return tok;
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
        if (tokenizerFile != null) {
            root.put("tokenizer_file", tokenizerFile);
        }
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
            JsonNode tf = root.get("tokenizer_file");
            return new ShardManifest(version, required(root, "tokenizer_sha256").asText(),
                tf == null || tf.isNull() ? null : tf.asText(), required(root, "vocab_size").asInt(), TokenDtype.parse(required(root, "dtype").asText()),
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
