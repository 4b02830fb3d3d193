package org.sparklm.finetune;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;

/**
 * A classifier's validation figures: the mean cross-entropy over the examples, and accuracy, macro-F1, per-class
 * figures and the confusion matrix of its most probable class (ties to the lowest class id).
 *
 * @param loss    mean cross-entropy per example, in nats
 * @param metrics the predictions' metrics
 */
public record ClassifierEvaluation(double loss, ClassificationMetrics metrics) {

    public double accuracy() {
        return metrics.accuracy();
    }

    /** Evaluates every example of the set, in consecutive minibatches of {@code batch} (inference: no dropout). */
    public static ClassifierEvaluation of(ComputationGraph net, ExampleSet set, int batch, int padId, int classes) {
        ClassificationMetrics m = new ClassificationMetrics(classes);
        double loss = 0;
        for (int from = 0; from < set.size(); from += batch) {
            int to = Math.min(set.size(), from + batch);
            int[] idx = new int[to - from];
            for (int i = 0; i < idx.length; i++) {
                idx[i] = from + i;
            }
            MultiDataSet b = ClassBatches.of(set, idx, padId);
            INDArray p = net.output(false, b.getFeatures(), b.getFeaturesMaskArrays())[0];   // [b, classes]
            for (int i = 0; i < idx.length; i++) {
                int truth = set.label(idx[i]);
                int best = 0;
                for (int c = 1; c < classes; c++) {
                    if (p.getDouble(i, c) > p.getDouble(i, best)) {
                        best = c;
                    }
                }
                m.add(truth, best);
                loss -= Math.log(Math.max(p.getDouble(i, truth), Float.MIN_NORMAL));
            }
        }
        return new ClassifierEvaluation(set.size() == 0 ? Double.NaN : loss / set.size(), m);
    }
}
