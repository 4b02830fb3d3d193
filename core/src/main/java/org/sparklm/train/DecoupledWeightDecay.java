package org.sparklm.train;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.learning.regularization.WeightDecay;
import org.nd4j.linalg.schedule.FixedSchedule;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * AdamW's decoupled weight decay (Loshchilov and Hutter 2019): after the optimizer step, {@code lr * coeff * w} is
 * subtracted from each decayed weight; exactly DL4J's {@code WeightDecay(coeff, applyLR = true)}. The difference: it
 * adds nothing to the score. Decoupled decay is not a term of the loss, and DL4J's {@code 0.5 coeff |w|^2} would
 * otherwise dominate the reported loss of a small model (about 20 of 28 at initialisation for the 1.85M-parameter
 * benchmark model) and cost a norm over every weight per step.
 */
public final class DecoupledWeightDecay extends WeightDecay {

    private static final long serialVersionUID = 1L;

    public DecoupledWeightDecay(double coeff) {
        this(new FixedSchedule(coeff));
    }

    @JsonCreator
    public DecoupledWeightDecay(@JsonProperty("coeff") ISchedule coeff) {
        super(coeff, true);
    }

    @Override
    public double score(INDArray param, int iteration, int epoch) {
        return 0;
    }

    @Override
    public Regularization clone() {
        return new DecoupledWeightDecay(coeff.clone());
    }
}
