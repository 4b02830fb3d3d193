package org.sparklm.eval;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.sparklm.io.Json;

/**
 * The mean loss (negative log-probability, nats) of scored tokens by their context position (how many ids they were
 * predicted from, the conditioning [EOS] included), and Olsson et al. 2022's in-context-learning score: the loss at a
 * late position minus the loss at an early one (they used the 500th and the 50th token). Negative when later tokens
 * are predicted better, i.e. the model uses its context.
 */
public final class PositionLoss {
    private final double[] sum;
    private final double[] sumSq;
    private final long[] count;

    public PositionLoss(int context) {
        sum = new double[context + 1];
        sumSq = new double[context + 1];
        count = new long[context + 1];
    }

    public void add(TextScorer.Scored s) {
        for (int i = 0; i < s.ids().length; i++) {
            int p = s.contexts()[i];
            double loss = -s.logProbs()[i];
            sum[p] += loss;
            sumSq[p] += loss * loss;
            count[p]++;
        }
    }

    public long count(int position) {
        return count[position];
    }

    /** The mean loss at a position (NaN when no token was scored there). */
    public double mean(int position) {
        return count[position] == 0 ? Double.NaN : sum[position] / count[position];
    }

    /** The standard error of the mean at a position. */
    public double stderr(int position) {
        long n = count[position];
        if (n < 2) {
            return Double.NaN;
        }
        double m = mean(position);
        double var = (sumSq[position] - n * m * m) / (n - 1);
        return Math.sqrt(Math.max(0, var) / n);
    }

    /** loss(late) - loss(early). */
    public double iclScore(int early, int late) {
        return mean(late) - mean(early);
    }

    /** Every position's mean loss and the score with its standard error. */
    public ObjectNode toJson(int early, int late) {
        if (early < 1 || late >= sum.length || early >= late) {
            throw new IllegalArgumentException("need 1 <= early < late <= " + (sum.length - 1) + " (the context),"
                + " got early " + early + ", late " + late);
        }
        ObjectNode o = Json.object();
        long tokens = 0;
        double total = 0;
        for (int p = 1; p < sum.length; p++) {
            tokens += count[p];
            total += sum[p];
        }
        o.put("tokens", tokens);
        o.put("mean_loss", tokens == 0 ? Double.NaN : total / tokens);
        ObjectNode icl = o.putObject("icl_score");
        icl.put("early", early);
        icl.put("late", late);
        icl.put("loss_early", mean(early));
        icl.put("loss_late", mean(late));
        icl.put("tokens_early", count[early]);
        icl.put("tokens_late", count[late]);
        icl.put("score", iclScore(early, late));
        icl.put("stderr", Math.hypot(stderr(early), stderr(late)));
        ArrayNode a = o.putArray("positions");
        for (int p = 1; p < sum.length; p++) {
            a.addObject().put("context", p).put("tokens", count[p]).put("loss", mean(p));
        }
        return o;
    }
}
