package org.sparklm.config;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * An enum named on the command line and in files by a lower-case key: its constant's name in lower case with
 * {@code _} as {@code -} ({@code PREFIX_LM} is {@code prefix-lm}). Each enum keeps a one-line {@code @JsonCreator}
 * {@code parse} that calls {@link #parse}, so options, config files and stored runs read it the same way.
 */
public interface Keyed {

    /** The name's key ({@code name()} in lower case, {@code _} as {@code -}). */
    String name();

    /** The key used on the command line and in files. */
    @JsonValue
    default String key() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /**
     * The constant of {@code type} whose key is {@code s} (case-insensitive, surrounding blanks ignored).
     *
     * @param what names the value in the error, as in "objective must be clm or mlm, got 'x'"
     * @throws IllegalArgumentException naming the keys when none matches
     */
    static <E extends Enum<E> & Keyed> E parse(Class<E> type, String what, String s) {
        E[] values = type.getEnumConstants();
        for (E e : values) {
            if (s != null && e.key().equalsIgnoreCase(s.strip())) {
                return e;
            }
        }
        throw new IllegalArgumentException(what + " must be " + choices(values) + ", got '" + s + "'");
    }

    /** The keys as "a, b or c". */
    static String choices(Keyed[] values) {
        List<String> keys = Arrays.stream(values).map(Keyed::key).toList();
        return keys.size() == 1 ? keys.get(0)
            : String.join(", ", keys.subList(0, keys.size() - 1)) + " or " + keys.get(keys.size() - 1);
    }
}
