package org.sparklm.train;

import com.fasterxml.jackson.annotation.JsonCreator;
import org.sparklm.config.Keyed;

/** What parameter averaging does with Adam's second moment ({@code pretrain --second-moment}). */
public enum SecondMoment implements Keyed {
    /** The workers' mean, as dl4j-spark averages it (the mean of their squared batch-B gradients). */
    MEAN,
    /** An estimate of the combined batch's ({@link CombinedSecondMoment}). */
    COMBINED;

    @JsonCreator
    public static SecondMoment parse(String s) {
        return Keyed.parse(SecondMoment.class, "second moment", s);
    }
}
