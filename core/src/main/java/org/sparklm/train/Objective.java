package org.sparklm.train;

import java.util.Locale;
import org.sparklm.model.AttentionMode;

/** What the model learns to reconstruct. */
public enum Objective {
    /** Causal language modelling: predict each next token (GPT); causal attention. */
    CLM(AttentionMode.CAUSAL),
    /** Masked language modelling: fill in chosen tokens from both sides (BERT, RoBERTa); bidirectional attention. */
    MLM(AttentionMode.BIDIRECTIONAL);

    private final AttentionMode attention;

    Objective(AttentionMode attention) {
        this.attention = attention;
    }

    /** The attention mode a model for this objective needs. */
    public AttentionMode attention() {
        return attention;
    }

    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Objective parse(String s) {
        for (Objective o : values()) {
            if (o.key().equalsIgnoreCase(s.trim())) {
                return o;
            }
        }
        throw new IllegalArgumentException("objective must be clm or mlm, got '" + s + "'");
    }
}
