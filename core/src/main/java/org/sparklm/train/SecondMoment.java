package org.sparklm.train;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** What parameter averaging does with Adam's second moment ({@code pretrain --second-moment}). */
public enum SecondMoment {
    /** The workers' mean, as dl4j-spark averages it (the mean of their squared batch-B gradients). */
    MEAN,
    /** An estimate of the combined batch's ({@link CombinedSecondMoment}). */
    COMBINED;

    @JsonValue
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    @JsonCreator
    public static SecondMoment parse(String s) {
        for (SecondMoment k : values()) {
            if (k.key().equalsIgnoreCase(s.trim())) {
                return k;
            }
        }
        throw new IllegalArgumentException("second moment must be mean or combined, got '" + s + "'");
    }
}
