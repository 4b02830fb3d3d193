package org.sparklm.io;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.type.LogicalType;

/**
 * The one JSON mapper of the project. Records bind with snake_case keys ({@code batchSizePerWorker} is
 * {@code batch_size_per_worker}), strictly: an unknown key, a missing primitive or a value of the wrong type (a string
 * where a number belongs, a fraction where an integer belongs) is an error naming the key. Files we wrote ourselves
 * and may have been written by a later version (checkpoint state) are read with {@link #LENIENT}, which ignores
 * unknown keys.
 */
public final class Json {

    /** Strict: unknown keys and type mismatches are errors. */
    public static final ObjectMapper MAPPER = build(true);

    /** Like {@link #MAPPER} but ignores unknown keys (reading our own files of later versions). */
    public static final ObjectMapper LENIENT = build(false);

    private Json() {
    }

    private static ObjectMapper build(boolean strict) {
        JsonMapper m = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, strict)
            .configure(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES, true)
            .configure(DeserializationFeature.ACCEPT_FLOAT_AS_INT, false)
            .configure(MapperFeature.ALLOW_COERCION_OF_SCALARS, false)
            .build();
        // "3" is not a number and 3 is not a string
        m.coercionConfigFor(LogicalType.Textual).setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
            .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
            .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail);
        return m;
    }

    /** A new empty object node. */
    public static ObjectNode object() {
        return MAPPER.createObjectNode();
    }

    /** Pretty printing (two-space indentation), for files people read. */
    public static ObjectWriter pretty() {
        return MAPPER.writerWithDefaultPrettyPrinter();
    }

    /** A reader of {@code type} with the strict rules. */
    public static ObjectReader reader(Class<?> type) {
        return MAPPER.readerFor(type);
    }
}
