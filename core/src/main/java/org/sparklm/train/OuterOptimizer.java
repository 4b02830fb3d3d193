package org.sparklm.train;

import com.fasterxml.jackson.annotation.JsonCreator;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.sparklm.config.Keyed;

/**
 * The outer optimizer of parameter averaging (local SGD): after a round, the workers' mean {@code m} of the
 * parameters is turned into a pseudo-gradient {@code g = p - m} against the parameters {@code p} the round started
 * from, and an outer step is taken from {@code p}. Plain averaging is outer SGD with learning rate 1 ({@code p - g =
 * m}). DiLoCo (Douillard et al. 2023, "DiLoCo: Distributed Low-Communication Training of Language Models") uses SGD
 * with Nesterov momentum, in PyTorch's form ({@code torch.optim.SGD(nesterov=True)}, dampening 0):
 *
 * <pre>
 *   v = mu v + g          (v = g at the first step)
 *   p = p - lr (g + mu v)
 * </pre>
 *
 * The momentum buffer {@code v} is state to checkpoint with the run. Runs on the driver, once per round.
 */
public final class OuterOptimizer {

    /** Which outer step. */
    public enum Kind implements Keyed {
        /** p = the workers' mean (outer SGD, lr 1, no momentum): dl4j-spark's parameter averaging. */
        AVERAGE,
        /** SGD with Nesterov momentum on the pseudo-gradient (DiLoCo). */
        NESTEROV;

        @JsonCreator
        public static Kind parse(String s) {
            return Keyed.parse(Kind.class, "outer optimizer", s);
        }
    }

    private final Kind kind;
    private final double lr;
    private final double momentum;
    private INDArray velocity;

    public OuterOptimizer(Kind kind, double lr, double momentum) {
        if (kind == Kind.NESTEROV && !(lr > 0 && momentum >= 0 && momentum < 1)) {
            throw new IllegalArgumentException("Nesterov outer step needs lr > 0 and 0 <= momentum < 1, got lr " + lr
                + ", momentum " + momentum);
        }
        this.kind = kind;
        this.lr = lr;
        this.momentum = momentum;
    }

    public Kind kind() {
        return kind;
    }

    /**
     * The parameters after the round, in place in {@code start}: the workers' mean for {@link Kind#AVERAGE}, the
     * Nesterov step on {@code g = start - mean} otherwise.
     *
     * @param start the parameters the round started from (overwritten with the result)
     * @param mean  the workers' mean (not modified)
     */
    public void step(INDArray start, INDArray mean) {
        if (kind == Kind.AVERAGE) {
            start.assign(mean);
            return;
        }
        INDArray g = start.sub(mean);
        if (velocity == null) {
            velocity = g.dup();
        } else {
            velocity.muli(momentum).addi(g);
        }
        start.subi(g.addi(velocity.mul(momentum)).muli(lr));
    }

    /** The momentum buffer (null before the first Nesterov step, and always for averaging). */
    public INDArray velocity() {
        return velocity;
    }

    /** Restores the momentum buffer of a checkpoint (null: none yet). */
    public void setVelocity(INDArray v) {
        this.velocity = v == null ? null : v.dup();
    }
}
