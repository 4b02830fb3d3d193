package org.sparklm.scaling;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.sparklm.UsageException;
import org.sparklm.io.HadoopFiles;
import org.sparklm.io.Json;
import org.sparklm.model.AttentionMode;
import org.sparklm.model.TransformerConfig;

/**
 * A family of model configs to choose from (docs/FORMATS.md, "Model family file"): a JSON object with
 * {@code vocab_size}, an optional family-wide {@code context_length}, and {@code models}, each with {@code name},
 * {@code layers}, {@code d_model}, {@code heads} and optionally {@code d_ff} (default 4 d_model) and
 * {@code context_length}. Built in: {@code gpt} ({@code conf/families/gpt.json}).
 *
 * @param name   the family's name or file
 * @param models the members, in the file's order
 */
public record ModelFamily(String name, List<Member> models) {

    /** Classpath folder of the built-in families (copied from {@code conf/families}). */
    public static final String RESOURCE_DIR = "org/sparklm/families/";

    private static final Set<String> TOP = Set.of("description", "vocab_size", "context_length", "models");
    private static final Set<String> MODEL = Set.of("name", "layers", "d_model", "heads", "d_ff", "context_length");

    /** One member: its name and config. */
    public record Member(String name, TransformerConfig config) {
        public long parameters() {
            return Scaling.parameters(config);
        }
    }

    public ModelFamily {
        if (models.isEmpty()) {
            throw new UsageException("model family " + name + ": no models");
        }
        models = List.copyOf(models);
    }

    /** The same models at another vocabulary (the tokenizer the planned model will use). */
    public ModelFamily withVocabSize(int vocab) {
        return new ModelFamily(name + " (vocabulary " + vocab + ")", models.stream()
            .map(m -> new Member(m.name(), m.config().withVocabSize(vocab))).toList());
    }

    /** The member whose N is nearest to {@code n} in log scale. */
    public Member nearest(double n) {
        Member best = null;
        double bestDist = Double.POSITIVE_INFINITY;
        for (Member m : models) {
            double dist = Math.abs(Math.log(m.parameters()) - Math.log(n));
            if (dist < bestDist) {
                bestDist = dist;
                best = m;
            }
        }
        return best;
    }

    /** {@code gpt} (built in) or a family file on any Hadoop file system. */
    public static ModelFamily load(Configuration conf, String nameOrFile) throws IOException {
        if (HadoopFiles.isFile(conf, nameOrFile)) {
            try (InputStream in = HadoopFiles.open(conf, nameOrFile)) {
                return parse(Json.MAPPER.readTree(in), nameOrFile);
            } catch (com.fasterxml.jackson.core.JacksonException e) {
                throw new UsageException("model family " + nameOrFile + ": not JSON: "
                    + e.getOriginalMessage().split("\n")[0]);
            }
        }
        try {
            if (nameOrFile.matches("[A-Za-z0-9_-]+")) {
                try (InputStream in = ModelFamily.class.getClassLoader().getResourceAsStream(RESOURCE_DIR + nameOrFile
                    + ".json")) {
                    if (in != null) {
                        return parse(Json.MAPPER.readTree(in), nameOrFile);
                    }
                }
            }
        } catch (IOException e) {
            throw new UsageException("model family " + nameOrFile + ": not JSON: " + e.getMessage().split("\n")[0]);
        }
        throw new UsageException("--family: no such family: '" + nameOrFile + "' (built in: gpt; or a family file)");
    }

    /** Reads a family file's JSON. */
    public static ModelFamily parse(JsonNode o, String name) {
        String where = "model family " + name;
        if (o == null || !o.isObject()) {
            throw new UsageException(where + ": expected a JSON object with vocab_size and models");
        }
        unknown(o, TOP, where);
        if (!o.path("vocab_size").canConvertToInt()) {
            throw new UsageException(where + ": vocab_size (an integer) is required");
        }
        int vocab = o.get("vocab_size").asInt();
        JsonNode ctx = o.get("context_length");
        JsonNode list = o.get("models");
        if (list == null || !list.isArray() || list.isEmpty()) {
            throw new UsageException(where + ": models (a non-empty array) is required");
        }
        List<Member> members = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            JsonNode m = list.get(i);
            String at = where + ": models[" + i + "]";
            if (!m.isObject()) {
                throw new UsageException(at + ": expected an object");
            }
            unknown(m, MODEL, at);
            int d = integer(m, "d_model", at, null);
            JsonNode t = m.has("context_length") ? m.get("context_length") : ctx;
            try {
                TransformerConfig c = new TransformerConfig(vocab, integer(m, "layers", at, null), d,
                    integer(m, "heads", at, null), integer(m, "d_ff", at, 4 * d),
                    integer(t == null ? m : m.has("context_length") ? m : o, "context_length", at, null), 0.0,
                    AttentionMode.CAUSAL);
                members.add(new Member(m.path("name").asText("model" + i), c));
            } catch (IllegalArgumentException e) {
                throw new UsageException(at + ": " + e.getMessage());
            }
        }
        return new ModelFamily(name, members);
    }

    private static int integer(JsonNode o, String key, String where, Integer dflt) {
        JsonNode v = o.get(key);
        if (v == null) {
            if (dflt != null) {
                return dflt;
            }
            throw new UsageException(where + ": " + key + " (an integer) is required");
        }
        if (!v.canConvertToInt() || !v.isIntegralNumber()) {
            throw new UsageException(where + ": " + key + " must be an integer, got " + v);
        }
        return v.asInt();
    }

    private static void unknown(JsonNode o, Set<String> known, String where) {
        for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!known.contains(k)) {
                throw new UsageException(where + ": unknown key '" + k + "' (known: " + String.join(", ", known)
                    + ")");
            }
        }
    }
}
