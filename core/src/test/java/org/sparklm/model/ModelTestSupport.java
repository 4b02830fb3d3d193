package org.sparklm.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.IUpdater;
import org.sparklm.tokenizer.SpecialTokens;
import org.sparklm.tokenizer.bpe.BpeMode;
import org.sparklm.tokenizer.bpe.BpeTokenizer;
import org.sparklm.tokenizer.bpe.BpeTrainer;

/** Small models, random windows and a small tokenizer for the model tests. */
final class ModelTestSupport {

    private ModelTestSupport() {
    }

    /**
     * One ND4J and BLAS thread: tiny models spend their time in per-op overhead, which thread hand-offs multiply
     * (2-3x on a busy 2-core machine). Returns the previous settings for {@link #restoreThreads}.
     */
    static int[] singleThread() {
        int[] saved = {Nd4j.getEnvironment().maxThreads(), Nd4j.getEnvironment().maxMasterThreads(),
            Nd4j.factory().blas().getMaxThreads()};
        Nd4j.getEnvironment().setMaxThreads(1);
        Nd4j.getEnvironment().setMaxMasterThreads(1);
        Nd4j.factory().blas().setMaxThreads(1);
        return saved;
    }

    static void restoreThreads(int[] saved) {
        Nd4j.getEnvironment().setMaxThreads(saved[0]);
        Nd4j.getEnvironment().setMaxMasterThreads(saved[1]);
        Nd4j.factory().blas().setMaxThreads(saved[2]);
    }

    static ComputationGraph network(TransformerConfig c, IUpdater updater, long seed, DataType type) {
        ComputationGraph net = new ComputationGraph(TransformerLm.configuration(c, updater, 0,
            GradientNormalization.None, 1, seed, type));
        net.init();
        return net;
    }

    /** {@code n} windows of {@code len} ids uniform in [lo, vocab). */
    static List<int[]> windows(int n, int len, int lo, int vocab, long seed) {
        Random r = new Random(seed);
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[] w = new int[len];
            for (int j = 0; j < len; j++) {
                w[j] = lo + r.nextInt(vocab - lo);
            }
            out.add(w);
        }
        return out;
    }

    /** A byte-level tokenizer with the default special tokens (107) and a few merges. */
    static BpeTokenizer tokenizer() {
        BpeTrainer t = new BpeTrainer(new BpeTrainer.Config(BpeMode.BYTE, 107 + 256 + 40, 1, SpecialTokens.DEFAULT));
        for (String w : List.of("the", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog")) {
            t.addWord(w, 5);
        }
        return new BpeTokenizer(t.train().model());
    }
}
