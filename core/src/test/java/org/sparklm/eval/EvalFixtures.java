package org.sparklm.eval;

import java.util.List;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.sparklm.model.AttentionMode;
import org.sparklm.model.LanguageModel;
import org.sparklm.model.TransformerConfig;
import org.sparklm.model.TransformerLm;
import org.sparklm.tokenizer.SpecialTokens;
import org.sparklm.tokenizer.bpe.BpeMode;
import org.sparklm.tokenizer.bpe.BpeTokenizer;
import org.sparklm.tokenizer.bpe.BpeTrainer;
import org.sparklm.train.OptimizerConfig;

/** A small causal model with every parameter random (so its distributions are far from uniform) and a tokenizer. */
final class EvalFixtures {
    private EvalFixtures() {
    }

    static BpeTokenizer tokenizer() {
        BpeTrainer t = new BpeTrainer(new BpeTrainer.Config(BpeMode.BYTE, 107 + 256 + 40, 1, SpecialTokens.DEFAULT));
        for (String w : List.of("the", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog")) {
            t.addWord(w, 5);
        }
        return new BpeTokenizer(t.train().model());
    }

    /** Two blocks, d 16, 2 heads, context {@code context}. */
    static LanguageModel model(int vocab, int context, long seed) {
        TransformerConfig c = new TransformerConfig(vocab, 2, 16, 2, 32, context, 0.0, AttentionMode.CAUSAL);
        OptimizerConfig opt = new OptimizerConfig(1e-3, 1e-4, 1, 10, 0.1, 1.0, 0.9, 0.95, 1e-8);
        ComputationGraph net = TransformerLm.create(c, opt, seed);
        Nd4j.getRandom().setSeed(seed);
        for (INDArray p : net.paramTable().values()) {
            p.addi(Nd4j.randn(DataType.FLOAT, p.shape()).muli(0.4));
        }
        return new LanguageModel(c, net);
    }

    /** ln p(ids[j] | ids[0..j-1]) for every j >= 1, from one unpadded pass of the model's own inference method. */
    static double[] referenceAll(LanguageModel m, int[] ids) {
        float[][] p = m.probabilities(java.util.Arrays.copyOf(ids, ids.length - 1));
        double[] out = new double[ids.length];
        for (int j = 1; j < ids.length; j++) {
            out[j] = Math.log(p[j - 1][ids[j]]);
        }
        return out;
    }

    /** ln p(ids[j] | ids[begin..j-1]) from one unpadded forward pass of the model's own inference method. */
    static double reference(LanguageModel m, int[] ids, int begin, int j) {
        float[][] p = m.probabilities(java.util.Arrays.copyOfRange(ids, begin, j));
        return Math.log(p[p.length - 1][ids[j]]);
    }
}
