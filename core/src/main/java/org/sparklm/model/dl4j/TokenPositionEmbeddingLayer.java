package org.sparklm.model.dl4j;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.sparklm.model.dl4j.OpTimer.Group;

/**
 * {@link TokenPositionEmbedding}: {@code out[b, t] = tok[ids[b, t]] + pos[t]}, then inverted dropout. The lookup and
 * the gradient's scatter-add run in Java over the copied tables ({@link FloatLoops#gatherAddPeriodic} and
 * {@link FloatLoops#scatterAddPeriodic}, or their generated double twins; deterministic, unlike a parallel scatter op
 * with repeated ids).
 */
final class TokenPositionEmbeddingLayer extends TransformerLayerImpl<TokenPositionEmbedding> {

    private INDArray dropMask;        // [B, T, D] or null, kept for backprop
    private INDArray maskedFor;       // the input the mask belongs to

    TokenPositionEmbeddingLayer(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    private int[] ids(long b, long t) {
        TokenPositionEmbedding c = layerConf();
        if (input.rank() != 2) {
            throw new IllegalArgumentException("token input must be [batch, time], got shape "
                + java.util.Arrays.toString(input.shape()));
        }
        if (t > c.getContextLength()) {
            throw new IllegalArgumentException("sequence of " + t + " tokens is longer than the context length "
                + c.getContextLength());
        }
        int[] ids = Kernels.readInts(input);
        for (int id : ids) {
            if (id < 0 || id >= c.getVocabSize()) {
                throw new IllegalArgumentException("token id " + id + " outside the vocabulary [0, "
                    + c.getVocabSize() + ")");
            }
        }
        return ids;
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr mgr) {
        assertInputSet(false);
        long b = input.size(0);
        long t = input.size(1);
        int d = layerConf().getDModel();
        long tm = OpTimer.now();
        int[] ids = ids(b, t);
        INDArray out = create(mgr, ArrayType.ACTIVATIONS, b, t, d);
        INDArray tok = param(TokenPositionEmbedding.TOKENS);
        INDArray pos = param(TokenPositionEmbedding.POSITIONS);
        int n = ids.length;
        if (Kernels.isDouble(out)) {
            double[] o = Kernels.doubles(2, n * d, false);
            DoubleLoops.gatherAddPeriodic(Kernels.readDoubles(tok, 0), ids, Kernels.readDoubles(pos, 1), (int) t, o,
                d);
            Kernels.writeDoubles(out, o);
        } else {
            float[] o = Kernels.floats(2, n * d, false);
            FloatLoops.gatherAddPeriodic(Kernels.readFloats(tok, 0), ids, Kernels.readFloats(pos, 1), (int) t, o, d);
            Kernels.writeFloats(out, o);
        }
        tm = OpTimer.lap(Group.EMBEDDING, tm);
        double p = layerConf().getDropout();
        dropMask = null;
        maskedFor = null;
        if (training && p > 0) {
            dropMask = create(mgr, ArrayType.ACTIVATIONS, b, t, d);
            Kernels.dropoutMask(dropMask, p);
            out.muli(dropMask);
            maskedFor = input;
        }
        OpTimer.lap(Group.DROPOUT, tm);
        return out;
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr mgr) {
        assertInputSet(true);
        if (layerConf().allFrozen()) {
            // a kept pretrained embedding: no gradient computed (it stays zero), and nothing lies below
            dropMask = null;
            maskedFor = null;
            Gradient g = new DefaultGradient();
            g.gradientForVariable().put(TokenPositionEmbedding.TOKENS, grad(TokenPositionEmbedding.TOKENS));
            g.gradientForVariable().put(TokenPositionEmbedding.POSITIONS, grad(TokenPositionEmbedding.POSITIONS));
            return new Pair<>(g, null);
        }
        long b = input.size(0);
        long t = input.size(1);
        int d = layerConf().getDModel();
        long tm = OpTimer.now();
        int[] ids = ids(b, t);
        INDArray eps = epsilon;
        if (layerConf().getDropout() > 0) {
            if (maskedFor != input || dropMask == null) {
                throw new IllegalStateException("backprop through embedding dropout without a training forward pass");
            }
            eps = epsilon.mul(dropMask);
        }
        eps = Kernels.dense(eps, mgr, ArrayType.BP_WORKING_MEM);
        INDArray gTok = grad(TokenPositionEmbedding.TOKENS);
        INDArray gPos = grad(TokenPositionEmbedding.POSITIONS);
        if (Kernels.isDouble(eps)) {
            double[] gw = Kernels.doubles(1, Math.toIntExact(gTok.length()), true);
            double[] gp = Kernels.doubles(2, Math.toIntExact(gPos.length()), true);
            DoubleLoops.scatterAddPeriodic(Kernels.readDoubles(eps, 0), ids, (int) t, gw, gp, d);
            Kernels.writeDoubles(gTok, gw);
            Kernels.writeDoubles(gPos, gp);
        } else {
            float[] gw = Kernels.floats(1, Math.toIntExact(gTok.length()), true);
            float[] gp = Kernels.floats(2, Math.toIntExact(gPos.length()), true);
            FloatLoops.scatterAddPeriodic(Kernels.readFloats(eps, 0), ids, (int) t, gw, gp, d);
            Kernels.writeFloats(gTok, gw);
            Kernels.writeFloats(gPos, gp);
        }
        OpTimer.lap(Group.EMBEDDING, tm);
        Gradient g = new DefaultGradient();
        g.gradientForVariable().put(TokenPositionEmbedding.TOKENS, gTok);
        g.gradientForVariable().put(TokenPositionEmbedding.POSITIONS, gPos);
        dropMask = null;
        maskedFor = null;
        return new Pair<>(g, null);
    }
}
