package org.sparklm.finetune;

import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import org.sparklm.data.JsonlText;

/**
 * Reads one labelled example from one line of a labelled-text file: JSON Lines (the text and the label in fields named
 * by {@code textField} and {@code labelField}, each a top-level name or a JSON pointer such as {@code /meta/topic}) or
 * TSV ({@code label<TAB>text}: the label up to the first tab, the text after it). A label may be a JSON string, number
 * or boolean (its text is the label). Thread-safe.
 */
public final class LabelledText implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The file format of labelled text. */
    public enum Format {
        JSONL, TSV;

        @com.fasterxml.jackson.annotation.JsonValue
        public String key() {
            return name().toLowerCase(Locale.ROOT);
        }

        @com.fasterxml.jackson.annotation.JsonCreator
        public static Format parse(String s) {
            for (Format f : values()) {
                if (f.key().equalsIgnoreCase(s.trim())) {
                    return f;
                }
            }
            throw new IllegalArgumentException("format must be jsonl or tsv, got '" + s + "'");
        }
    }

    /** A text and its label. */
    public record Example(String text, String label) {
    }

    /** A line that holds no example (the reason is the message). */
    public static final class Malformed extends Exception {
        private static final long serialVersionUID = 1L;

        public Malformed(String message) {
            super(message, null, false, false);
        }
    }

    private static JsonPointer pointer(String field) {
        return JsonlText.pointer(field);
    }

    private final Format format;
    private final String textField;
    private final String labelField;
    private transient JsonPointer textPointer;
    private transient JsonPointer labelPointer;

    public LabelledText(Format format, String textField, String labelField) {
        if (textField == null || textField.isEmpty() || labelField == null || labelField.isEmpty()) {
            throw new IllegalArgumentException("the text and label field names must not be empty");
        }
        this.format = format;
        this.textField = textField;
        this.labelField = labelField;
    }


    /** The example on a line (UTF-8 bytes, without its line terminator). */
    public Example parse(byte[] line, int off, int len) throws Malformed {
        if (format == Format.TSV) {
            String s = new String(line, off, len, StandardCharsets.UTF_8);
            int tab = s.indexOf('\t');
            if (tab < 0) {
                throw new Malformed("no tab: expected label<TAB>text");
            }
            String label = s.substring(0, tab).strip();
            if (label.isEmpty()) {
                throw new Malformed("empty label");
            }
            return new Example(s.substring(tab + 1), label);
        }
        if (textPointer == null) {
            textPointer = pointer(textField);
            labelPointer = pointer(labelField);
        }
        JsonNode root;
        try {
            root = JsonlText.object(line, off, len);
        } catch (JsonlText.Malformed e) {
            throw new Malformed(e.getMessage());
        }
        JsonNode t = root.at(textPointer);
        if (t.isMissingNode() || t.isNull()) {
            throw new Malformed("no field '" + textField + "'");
        }
        if (!t.isTextual()) {
            throw new Malformed("field '" + textField + "' is not a string");
        }
        JsonNode l = root.at(labelPointer);
        if (l.isMissingNode() || l.isNull()) {
            throw new Malformed("no label field '" + labelField + "'");
        }
        if (!l.isValueNode() || l.asText().isBlank()) {
            throw new Malformed("label field '" + labelField + "' is not a string, number or boolean");
        }
        return new Example(t.textValue(), l.asText().strip());
    }

    public Format format() {
        return format;
    }
}
