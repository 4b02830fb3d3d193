package org.sparklm.model;

import java.util.Locale;

/**
 * Which positions a position may attend to.
 *
 * <ul>
 *   <li>{@link #CAUSAL}: only itself and earlier positions (a decoder, GPT; Radford et al. 2019). The triangular mask
 *       is built by the model, DL4J 1.0.0-M2.x attention having no causal option.</li>
 *   <li>{@link #BIDIRECTIONAL}: every non-padding position (an encoder, BERT; Devlin et al. 2019). Padding comes
 *       from the features mask of the minibatch.</li>
 * </ul>
 */
public enum AttentionMode {
    CAUSAL,
    BIDIRECTIONAL;

    /** The lower-case name used in config files and on the command line. */
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses {@code causal} or {@code bidirectional} (case-insensitive). */
    public static AttentionMode parse(String s) {
        for (AttentionMode m : values()) {
            if (m.key().equalsIgnoreCase(s.trim())) {
                return m;
            }
        }
        throw new IllegalArgumentException("attention must be causal or bidirectional, got '" + s + "'");
    }
}
