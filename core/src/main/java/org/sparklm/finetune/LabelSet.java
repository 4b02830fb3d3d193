package org.sparklm.finetune;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.sparklm.io.Json;

/**
 * The classes of a classifier: the distinct labels of the training data, sorted (by their UTF-16 code units), so the
 * class ids do not depend on the data's order or partitioning. Stored with the model as {@code labels.json}.
 */
public final class LabelSet implements Serializable {
    private static final long serialVersionUID = 1L;

    public static final String FILE = "labels.json";

    private final List<String> labels;
    private final Map<String, Integer> ids = new HashMap<>();

    public LabelSet(Collection<String> labels) {
        this.labels = List.copyOf(new TreeSet<>(labels));
        if (this.labels.size() < 2) {
            throw new IllegalArgumentException("a classifier needs at least 2 labels in the training data, found "
                + this.labels.size() + (this.labels.isEmpty() ? "" : " (" + this.labels.get(0) + ")"));
        }
        for (int i = 0; i < this.labels.size(); i++) {
            ids.put(this.labels.get(i), i);
        }
    }

    public int size() {
        return labels.size();
    }

    public List<String> labels() {
        return labels;
    }

    public String label(int id) {
        return labels.get(id);
    }

    /** The class id of a label, or -1 when training never saw it. */
    public int id(String label) {
        Integer i = ids.get(label);
        return i == null ? -1 : i;
    }

    public ObjectNode toJson() {
        ObjectNode o = Json.object();
        var a = o.putArray("labels");
        labels.forEach(a::add);
        return o;
    }

    public static LabelSet fromJson(JsonNode n) {
        JsonNode a = n.path("labels");
        if (!a.isArray()) {
            throw new IllegalArgumentException(FILE + ": expected {\"labels\": [...]}");
        }
        List<String> l = new ArrayList<>();
        a.forEach(x -> l.add(x.asText()));
        LabelSet s = new LabelSet(l);
        if (!s.labels.equals(l)) {
            throw new IllegalArgumentException(FILE + ": labels must be distinct and sorted, got " + l);
        }
        return s;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LabelSet s && s.labels.equals(labels);
    }

    @Override
    public int hashCode() {
        return labels.hashCode();
    }

    @Override
    public String toString() {
        return labels.toString();
    }
}
