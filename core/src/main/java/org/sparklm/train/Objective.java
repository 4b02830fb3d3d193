package org.sparklm.train;

import com.fasterxml.jackson.annotation.JsonCreator;
import org.sparklm.config.Keyed;

/** What the model learns to reconstruct. */
public enum Objective implements Keyed {
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

    /** Whether the objective trains an encoder-decoder (its minibatches are {@link Seq2SeqBatches}). */
    public boolean isSeq2Seq() {
        return this == SPAN || this == PREFIX_LM;
    }

    @JsonCreator
    public static Objective parse(String s) {
        return Keyed.parse(Objective.class, "objective", s);
    }
}
