package org.sparklm.export;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Optional;

/** The export layouts, by {@code --layout} key: {@code hf} ({@link Gpt2Layout}) and {@code native}. */
public final class ModelLayouts {

    /** Every layout; import tries them in this order on {@code config.json}. */
    public static final List<ModelLayout> ALL = List.of(new Gpt2Layout(), new NativeLayout());

    private ModelLayouts() {
    }

    /** The layout of a {@code --layout} value. */
    public static Optional<ModelLayout> byKey(String key) {
        return ALL.stream().filter(l -> l.key().equals(key)).findFirst();
    }

    /** The keys, for messages: {@code hf, native}. */
    public static String keys() {
        return String.join(", ", ALL.stream().map(ModelLayout::key).toList());
    }

    /** The layout an export's {@code config.json} is in. */
    public static Optional<ModelLayout> detect(JsonNode config) {
        return ALL.stream().filter(l -> l.recognises(config)).findFirst();
    }
}
