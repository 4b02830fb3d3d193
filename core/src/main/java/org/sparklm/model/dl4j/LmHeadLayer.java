package org.sparklm.model.dl4j;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.factory.Nd4j;
import org.sparklm.model.dl4j.OpTimer.Group;

/**
 * {@link LmHead}: final LayerNorm, logits {@code h W}, softmax, and sparse cross-entropy against integer labels.
 *
 * <p>Training does the whole computation once, in the backward pass (DL4J does not run output layers in the training
 * forward pass), and keeps the loss for {@link #computeScore}. With a label mask, only the rows of the counted
 * positions go through the vocabulary-sized product: for masked-LM (15% of positions counted) that is about 6x less
 * work in the largest matrix product of a small model.
 */
public final class LmHeadLayer extends OutputLayerImpl<LmHead> {


    LmHeadLayer(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    private void checkInput() {
        if (input.rank() != 3 || input.size(2) != layerConf().getDModel()) {
            throw new IllegalArgumentException("LM head input must be [batch, time, " + layerConf().getDModel()
                + "], got " + java.util.Arrays.toString(input.shape()));
        }
    }

    /** Final LayerNorm of the input: [N, d]. */
    private INDArray normalised(LayerWorkspaceMgr mgr, ArrayType type, INDArray xhat, INDArray rstd) {
        long n = input.size(0) * input.size(1);
        long d = layerConf().getDModel();
        INDArray z = Kernels.dense(input, mgr, type).reshape('c', n, d);
        INDArray hf = create(mgr, type, n, d);
        Kernels.layerNorm(z, param(LmHead.LN_GAIN), param(LmHead.LN_BIAS), hf, xhat, rstd,
            layerConf().getLayerNormEps());
        return hf;
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr mgr) {
        assertInputSet(false);
        checkInput();
        long b = input.size(0);
        long t = input.size(1);
        long v = layerConf().getVocabSize();
        INDArray hf = normalised(mgr, ArrayType.FF_WORKING_MEM, null, null);
        INDArray out = create(mgr, ArrayType.ACTIVATIONS, b, t, v);
        INDArray logits = out.reshape('c', b * t, v);
        MatrixThreads.gemm(hf, param(LmHead.HEAD), logits, false, false, 1.0, 0.0);
        Nd4j.exec(new SoftMax(logits, logits, -1));
        return out;
    }

    /** The counted positions (label mask non-zero) and their weights normalised to sum 1. */
    private LossRows selection(long n) {
        INDArray mask = maskArray;
        if (mask == null) {
            return LossRows.all((int) n);
        }
        if (mask.length() != n) {
            throw new IllegalArgumentException("label mask must have batch * time = " + n + " values, got shape "
                + java.util.Arrays.toString(mask.shape()));
        }
        double[] m = Kernels.isDense(mask) ? mask.castTo(DataType.DOUBLE).reshape(n).toDoubleVector()
            : mask.dup('c').castTo(DataType.DOUBLE).reshape(n).toDoubleVector();
        return LossRows.of(m);
    }

    private int[] labelIds(long n, int[] rows) {
        if (labels == null) {
            throw new IllegalStateException("LM head: labels not set");
        }
        if (labels.length() != n) {
            throw new IllegalArgumentException("labels must be [batch, 1, time] with batch * time = " + n
                + " values, got shape " + java.util.Arrays.toString(labels.shape()));
        }
        int[] all = Kernels.readInts(labels);
        int v = layerConf().getVocabSize();
        int[] out = new int[rows.length];
        for (int i = 0; i < rows.length; i++) {
            int id = all[rows[i]];
            if (id < 0 || id >= v) {
                throw new IllegalArgumentException("label id " + id + " outside the vocabulary [0, " + v + ")");
            }
            out[i] = id;
        }
        return out;
    }

    /** Probabilities of the selected rows: [m, vocab]. */
    private INDArray probabilities(INDArray hs, LayerWorkspaceMgr mgr, ArrayType type) {
        INDArray logits = create(mgr, type, hs.size(0), layerConf().getVocabSize());
        MatrixThreads.gemm(hs, param(LmHead.HEAD), logits, false, false, 1.0, 0.0);
        Nd4j.exec(new SoftMax(logits, logits, -1));
        return logits;
    }

    private INDArray selectedRows(INDArray hf, LossRows sel, LayerWorkspaceMgr mgr, ArrayType type) {
        if (sel.rows().length == hf.size(0)) {
            return hf;
        }
        INDArray hs = create(mgr, type, sel.rows().length, hf.size(1));
        Kernels.gatherRows(hf, sel.rows(), hs);
        return hs;
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr mgr) {
        assertInputSet(true);
        checkInput();
        ArrayType work = ArrayType.BP_WORKING_MEM;
        long b = input.size(0);
        long t = input.size(1);
        long n = b * t;
        long d = layerConf().getDModel();
        long tm0 = OpTimer.now();
        INDArray xhat = create(mgr, work, n, d);
        INDArray rstd = create(mgr, work, n, 1);
        INDArray hf = normalised(mgr, work, xhat, rstd);
        long tm = OpTimer.lap(Group.LAYER_NORM, tm0);
        LossRows sel = selection(n);
        int[] ids = labelIds(n, sel.rows());
        INDArray gHead = grad(LmHead.HEAD);
        INDArray dOut = create(mgr, ArrayType.ACTIVATION_GRAD, b, t, d);
        if (ids.length == 0) {
            dOut.assign(0);
            gHead.assign(0);
            grad(LmHead.LN_GAIN).assign(0);
            grad(LmHead.LN_BIAS).assign(0);
            loss = 0;
        } else {
            INDArray hs = selectedRows(hf, sel, mgr, work);
            tm = OpTimer.lap(Group.LM_HEAD_LOSS, tm);
            INDArray dlogits = create(mgr, work, hs.size(0), layerConf().getVocabSize());   // [m, V]
            MatrixThreads.gemm(hs, param(LmHead.HEAD), dlogits, false, false, 1.0, 0.0);
            tm = OpTimer.lap(Group.LM_HEAD_MATMUL, tm);
            Nd4j.exec(new SoftMax(dlogits, dlogits, -1));                   // becomes dL/dlogits
            double[] rowLoss = Kernels.crossEntropyRows(dlogits, ids, true);
            double total = 0;
            for (int i = 0; i < ids.length; i++) {
                total += sel.weights()[i] * rowLoss[i];
            }
            loss = total;
            double scale = 1.0;   // the loss weight of every row: folded into the products when uniform
            if (sel.uniform()) {
                scale = sel.weights()[0];
            } else {
                INDArray w = Nd4j.createFromArray(sel.weights()).castTo(dataType);
                Kernels.scaleRows(dlogits, w, dlogits);
            }
            tm = OpTimer.lap(Group.LM_HEAD_LOSS, tm);
            MatrixThreads.gemm(hs, dlogits, gHead, true, false, scale, 0.0);
            INDArray dhs = create(mgr, work, ids.length, d);
            MatrixThreads.gemm(dlogits, param(LmHead.HEAD), dhs, false, true, scale, 0.0);
            tm = OpTimer.lap(Group.LM_HEAD_MATMUL, tm);
            INDArray dhf = dhs;
            if (ids.length != n) {
                dhf = create(mgr, work, n, d);
                Kernels.scatterRows(dhs, sel.rows(), dhf);
            }
            tm = OpTimer.lap(Group.LM_HEAD_LOSS, tm);
            Kernels.layerNormBackward(dhf, xhat, rstd, param(LmHead.LN_GAIN), null, dOut.reshape('c', n, d),
                grad(LmHead.LN_GAIN), grad(LmHead.LN_BIAS));
            OpTimer.lap(Group.LAYER_NORM, tm);
        }
        lossOf(loss);
        Gradient g = new DefaultGradient();
        for (ParamSpec s : layerConf().paramSpecs()) {
            g.gradientForVariable().put(s.key(), grad(s.key()));
        }
        return new Pair<>(g, dOut);
    }

    /** Per-row losses and the selection, computed without gradients. */
    private double[] rowLosses(LossRows sel, LayerWorkspaceMgr mgr) {
        ArrayType work = ArrayType.FF_WORKING_MEM;
        long n = input.size(0) * input.size(1);
        int[] ids = labelIds(n, sel.rows());
        if (ids.length == 0) {
            return new double[0];
        }
        INDArray hf = normalised(mgr, work, null, null);
        INDArray probs = probabilities(selectedRows(hf, sel, mgr, work), mgr, work);
        return Kernels.crossEntropyRows(probs, ids, false);
    }

    @Override
    public double computeScore(double fullNetRegScore, boolean training, LayerWorkspaceMgr mgr) {
        assertInputSet(false);
        checkInput();
        if (!hasLoss()) {
            LossRows sel = selection(input.size(0) * input.size(1));
            lossOf(sel.total(rowLosses(sel, mgr)));
        }
        score = loss + fullNetRegScore;
        return score;
    }

    /** Per example: the weighted mean loss over its counted positions (0 if none), plus the regularization term. */
    @Override
    public INDArray computeScoreForExamples(double fullNetRegScore, LayerWorkspaceMgr mgr) {
        assertInputSet(false);
        checkInput();
        long b = input.size(0);
        long t = input.size(1);
        LossRows sel = selection(b * t);
        double[] out = sel.perExample(rowLosses(sel, mgr), (int) b, t, fullNetRegScore);
        INDArray r = create(mgr, ArrayType.ACTIVATIONS, b, 1);
        r.assign(Nd4j.createFromArray(out).reshape(b, 1).castTo(dataType));
        return r;
    }

    @Override
    @Deprecated
    public int numLabels() {
        return layerConf().getVocabSize();
    }
}
