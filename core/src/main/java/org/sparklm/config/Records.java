package org.sparklm.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.lang.reflect.RecordComponent;
import java.util.Locale;
import java.util.Set;
import org.sparklm.io.Json;

/** Comparing stored run descriptions with requested ones, component by component. */
public final class Records {
    private Records() {
    }

    /**
     * The first component in which {@code stored} and {@code requested} differ, as
     * {@code "steps is 12 but this run asks for 24"} (snake_case names, JSON values); null when they agree. Numbers
     * compare by value (12 and 12L agree).
     *
     * @param ignore component names (camelCase) that do not count
     */
    public static <R extends Record> String firstDifference(R stored, R requested, Set<String> ignore) {
        for (RecordComponent c : stored.getClass().getRecordComponents()) {
            if (ignore.contains(c.getName())) {
                continue;
            }
            JsonNode mine = value(c, stored);
            JsonNode theirs = value(c, requested);
            if (!mine.equals(theirs)) {
                return c.getName().replaceAll("([a-z0-9])([A-Z])", "$1_$2").toLowerCase(Locale.ROOT) + " is " + mine
                    + " but this run asks for " + theirs;
            }
        }
        return null;
    }

    private static JsonNode value(RecordComponent c, Record r) {
        try {
            return normalise(Json.MAPPER.valueToTree(c.getAccessor().invoke(r)));
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    private static JsonNode normalise(JsonNode n) {
        if (n.isNumber()) {
            return n.canConvertToExactIntegral() ? Json.MAPPER.getNodeFactory().numberNode(n.asLong())
                : Json.MAPPER.getNodeFactory().numberNode(n.asDouble());
        }
        if (n.isObject()) {
            var o = Json.object();
            n.fields().forEachRemaining(e -> o.set(e.getKey(), normalise(e.getValue())));
            return o;
        }
        if (n.isArray()) {
            var a = Json.MAPPER.createArrayNode();
            n.forEach(x -> a.add(normalise(x)));
            return a;
        }
        return n;
    }
}
