package org.sparklm.train;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** What the model learns to reconstruct. */
public enum Objective {
    /** Causal language modelling: predict each next token (GPT); causal attention. */
    CLM,
    /** Masked language modelling: fill in chosen tokens from both sides (BERT, RoBERTa); bidirectional attention. */
    MLM;

    /** The lower-case name used on the command line and in files. */
    @JsonValue
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    @JsonCreator
    public static Objective parse(String s) {
        for (Objective o : values()) {
            if (o.key().equalsIgnoreCase(s.trim())) {
                return o;
            }
        }
        throw new IllegalArgumentException("objective must be clm or mlm, got '" + s + "'");
    }
}
