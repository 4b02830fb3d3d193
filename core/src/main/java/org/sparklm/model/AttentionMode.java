package org.sparklm.model;

import com.fasterxml.jackson.annotation.JsonCreator;
import org.sparklm.config.Keyed;
import org.sparklm.train.Objective;

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
public enum AttentionMode implements Keyed {
    CAUSAL,
    BIDIRECTIONAL;

    /** The attention a model trained for the objective needs: bidirectional for masked LM, else causal. */
    public static AttentionMode of(Objective objective) {
        return objective == Objective.MLM ? BIDIRECTIONAL : CAUSAL;
    }

    /** Parses {@code causal} or {@code bidirectional} (case-insensitive). */
    @JsonCreator
    public static AttentionMode parse(String s) {
        return Keyed.parse(AttentionMode.class, "attention", s);
    }
}
