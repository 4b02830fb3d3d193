package org.sparklm.finetune;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.sparklm.io.Json;

/**
 * Accuracy, macro-F1 and per-class precision, recall and F1 from a confusion matrix (rows: the true class, columns:
 * the predicted class). Macro-F1 is the unweighted mean of the classes' F1 (a class with no example and no prediction
 * counts as F1 0, as scikit-learn's {@code f1_score(average='macro')} with {@code zero_division=0} does when the class is
 * in the label set).
 */
public final class ClassificationMetrics {
    private final long[][] confusion;

    public ClassificationMetrics(int classes) {
        confusion = new long[classes][classes];
    }

    public void add(int truth, int predicted) {
        confusion[truth][predicted]++;
    }

    public long examples() {
        long n = 0;
        for (long[] row : confusion) {
            for (long c : row) {
                n += c;
            }
        }
        return n;
    }

    public double accuracy() {
        long n = examples();
        long hit = 0;
        for (int i = 0; i < confusion.length; i++) {
            hit += confusion[i][i];
        }
        return n == 0 ? 0 : (double) hit / n;
    }

    public double precision(int c) {
        long predicted = 0;
        for (long[] row : confusion) {
            predicted += row[c];
        }
        return predicted == 0 ? 0 : (double) confusion[c][c] / predicted;
    }

    public double recall(int c) {
        long actual = 0;
        for (long x : confusion[c]) {
            actual += x;
        }
        return actual == 0 ? 0 : (double) confusion[c][c] / actual;
    }

    public double f1(int c) {
        double p = precision(c);
        double r = recall(c);
        return p + r == 0 ? 0 : 2 * p * r / (p + r);
    }

    public double macroF1() {
        double s = 0;
        for (int c = 0; c < confusion.length; c++) {
            s += f1(c);
        }
        return s / confusion.length;
    }

    public long[][] confusion() {
        long[][] copy = new long[confusion.length][];
        for (int i = 0; i < confusion.length; i++) {
            copy[i] = confusion[i].clone();
        }
        return copy;
    }

    /** Accuracy, macro-F1, examples, and per class (by label) support, precision, recall, F1; the confusion matrix. */
    public ObjectNode toJson(LabelSet labels) {
        ObjectNode o = Json.object();
        o.put("accuracy", accuracy());
        o.put("macro_f1", macroF1());
        o.put("examples", examples());
        ObjectNode per = o.putObject("per_class");
        for (int c = 0; c < confusion.length; c++) {
            ObjectNode k = per.putObject(labels.label(c));
            long support = 0;
            for (long x : confusion[c]) {
                support += x;
            }
            k.put("support", support);
            k.put("precision", precision(c));
            k.put("recall", recall(c));
            k.put("f1", f1(c));
        }
        ArrayNode m = o.putArray("confusion");
        for (long[] row : confusion) {
            ArrayNode r = m.addArray();
            for (long x : row) {
                r.add(x);
            }
        }
        return o;
    }
}
