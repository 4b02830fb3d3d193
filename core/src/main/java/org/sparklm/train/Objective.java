package org.sparklm.train;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** What the model learns to reconstruct. */
public enum Objective {
    /** Causal language modelling: predict each next token (GPT); causal attention. */
    CLM,
    /** Masked language modelling: fill in chosen tokens from both sides (BERT, RoBERTa); bidirectional attention. */
    MLM,
    /**
     * T5's span corruption (Raffel et al. 2020): random spans of the input replaced by sentinels, the decoder
     * produces each sentinel and its span ({@link SpanCorruption}); an encoder-decoder.
     */
    SPAN,
    /** Prefix LM: the encoder reads the first part of a window, the decoder produces the rest ({@link PrefixLm}). */
    PREFIX_LM;

    /** The lower-case name used on the command line and in files ({@code prefix-lm} with a hyphen). */
    @JsonValue
    public String key() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** Whether the objective trains an encoder-decoder (its minibatches are {@link Seq2SeqBatches}). */
    public boolean isSeq2Seq() {
        return this == SPAN || this == PREFIX_LM;
    }

    @JsonCreator
    public static Objective parse(String s) {
        for (Objective o : values()) {
            if (o.key().equalsIgnoreCase(s.trim())) {
                return o;
            }
        }
        throw new IllegalArgumentException("objective must be clm, mlm, span or prefix-lm, got '" + s + "'");
    }
}
