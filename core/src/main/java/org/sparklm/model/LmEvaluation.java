package org.sparklm.model;

import java.util.List;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.sparklm.train.Objective;

/**
 * A language model's loss on evaluation minibatches: the mean cross-entropy per counted token (every label position
 * for clm, the chosen positions for mlm, weighted by the label mask) and, for mlm, the accuracy of the most probable
 * token at the chosen positions.
 *
 * @param loss      mean cross-entropy per counted token, in nats
 * @param accuracy  masked-token accuracy (mlm), else 0
 * @param positions counted positions
 */
public record LmEvaluation(double loss, double accuracy, long positions) {

    /** Perplexity, exp(loss). */
    public double perplexity() {
        return Math.exp(loss);
    }

    /** Evaluates the network on the batches (inference mode: no dropout); null when nothing is counted. */
    public static LmEvaluation of(ComputationGraph net, List<MultiDataSet> batches, Objective objective) {
        double lossSum = 0;
        long counted = 0;
        long correct = 0;
        for (MultiDataSet b : batches) {
            INDArray labelMask = b.getLabelsMaskArray(0);
            long n = labelMask == null ? b.getLabels(0).length() : Math.round(labelMask.sumNumber().doubleValue());
            if (n == 0) {
                continue;
            }
            net.score(b, false);
            lossSum += TransformerLm.lastLoss(net) * n;
            counted += n;
            if (objective == Objective.MLM) {
                INDArray probs = net.output(false, b.getFeatures(), b.getFeaturesMaskArrays())[0]; // [b, t, v]
                INDArray predicted = probs.argMax(2).castTo(DataType.FLOAT);                       // [b, t]
                INDArray labels = b.getLabels(0).reshape(predicted.shape());
                INDArray hit = predicted.eq(labels).castTo(DataType.FLOAT);
                correct += Math.round(hit.mul(labelMask).sumNumber().doubleValue());
            }
        }
        return counted == 0 ? null : new LmEvaluation(lossSum / counted, (double) correct / counted, counted);
    }
}
