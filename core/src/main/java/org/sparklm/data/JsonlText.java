package org.sparklm.data;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;

/**
 * Reads the document text out of one JSON Lines record: the value of a top-level field, or of a JSON pointer when the
 * field starts with {@code /} (e.g. {@code /meta/body}). Thread-safe.
 */
public final class JsonlText {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String field;
    private final JsonPointer pointer;

    public JsonlText(String field) {
        if (field == null || field.isEmpty()) {
            throw new IllegalArgumentException("the text field name is empty");
        }
        this.field = field;
        this.pointer = pointer(field);
    }

    private static String escape(String name) {
        return name.replace("~", "~0").replace("/", "~1");
    }

    /** A field name as a JSON pointer: itself when it starts with {@code /}, else the top-level field. */
    public static JsonPointer pointer(String field) {
        return field.startsWith("/") ? JsonPointer.compile(field) : JsonPointer.compile("/" + escape(field));
    }

    /** One line (UTF-8 bytes) as a JSON object; anything else is Malformed. */
    public static JsonNode object(byte[] line, int off, int len) throws Malformed {
        JsonNode root;
        try {
            root = JSON.readTree(line, off, len);
        } catch (JsonParseException e) {
            throw new Malformed("invalid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new Malformed("invalid JSON: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw new Malformed("not a JSON object");
        }
        return root;
    }

    /** The text of one line (UTF-8 bytes); a line that is not a JSON object holding a string there is Malformed. */
    public String text(byte[] line, int off, int len) throws Malformed {
        JsonNode v = object(line, off, len).at(pointer);
        if (v.isMissingNode() || v.isNull()) {
            throw new Malformed("no field '" + field + "'");
        }
        if (!v.isTextual()) {
            throw new Malformed("field '" + field + "' is a " + v.getNodeType().name().toLowerCase(java.util.Locale.ROOT)
                + ", not a string");
        }
        return v.textValue();
    }

    /** A line that does not hold a document. */
    public static final class Malformed extends Exception {
        private static final long serialVersionUID = 1L;

        public Malformed(String message) {
            super(message, null, false, false);
        }
    }
}
