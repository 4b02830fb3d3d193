package org.sparklm.model.dl4j;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastMulOp;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@link ClassifierHead}: final LayerNorm, pooling, dropout, {@code z W + b}, softmax and cross-entropy (the mean over
 * the minibatch). LayerNorm is per position, so for {@code first}/{@code last} pooling only the pooled rows are
 * normalised; {@code mean} normalises every position and averages the real ones. The pooled arrays are small
 * ({@code [batch, d]}), so they use plain ND4J ops, which serve float and double alike.
 *
 * <p>Like {@link LmHeadLayer}, training computes the loss once, in the backward pass, and keeps it for
 * {@link #computeScore}. Frozen parameters (the LayerNorm when the pretrained body is kept) get no gradient.
 */
public final class ClassifierHeadLayer extends OutputLayerImpl<ClassifierHead> {


    ClassifierHeadLayer(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    /** What the backward pass needs from the forward pass. */
    private record Forward(INDArray probs, INDArray z, INDArray drop, INDArray xhat, INDArray rstd, int[] rows,
                           INDArray weights) {
    }

    private void checkInput() {
        if (input.rank() != 3 || input.size(2) != layerConf().getDModel()) {
            throw new IllegalArgumentException("classifier input must be [batch, time, " + layerConf().getDModel()
                + "], got " + java.util.Arrays.toString(input.shape()));
        }
    }

    /** Real tokens per sequence, from the token mask (all of them without one). */
    private int[] lengths(long b, long t) {
        int[] len = new int[(int) b];
        if (maskArray == null) {
            java.util.Arrays.fill(len, (int) t);
            return len;
        }
        if (maskArray.length() != b * t) {
            throw new IllegalArgumentException("token mask must be [batch, time] = [" + b + ", " + t + "], got "
                + java.util.Arrays.toString(maskArray.shape()));
        }
        int[] m = Kernels.readInts(maskArray);
        for (int i = 0; i < b; i++) {
            int last = -1;
            for (int j = 0; j < t; j++) {
                if (m[i * (int) t + j] != 0) {
                    last = j;
                    len[i]++;
                }
            }
            if (len[i] == 0 || last != len[i] - 1) {
                throw new IllegalArgumentException("sequence " + i + " of the minibatch has " + (len[i] == 0
                    ? "no token" : "padding before its last token") + ": the token mask must be 1s then 0s");
            }
        }
        return len;
    }

    /** Pools, applies dropout when training, and computes the class probabilities [b, classes]. */
    private Forward forward(boolean training, LayerWorkspaceMgr mgr, ArrayType type, ArrayType outType) {
        ClassifierHead conf = layerConf();
        long b = input.size(0);
        long t = input.size(1);
        long d = conf.getDModel();
        int[] len = lengths(b, t);
        INDArray x = Kernels.dense(input, mgr, type).reshape('c', b * t, d);
        INDArray pooled = create(mgr, type, b, d);
        INDArray xhat;
        INDArray rstd;
        int[] rows = null;
        INDArray weights = null;
        if (!conf.getPooling().equals(ClassifierHead.MEAN)) {
            rows = new int[(int) b];
            for (int i = 0; i < b; i++) {
                rows[i] = (int) (i * t) + (conf.getPooling().equals(ClassifierHead.FIRST) ? 0 : len[i] - 1);
            }
            INDArray xs = create(mgr, type, b, d);
            Kernels.gatherRows(x, rows, xs);
            xhat = create(mgr, type, b, d);
            rstd = create(mgr, type, b, 1);
            Kernels.layerNorm(xs, param(ClassifierHead.LN_GAIN), param(ClassifierHead.LN_BIAS), pooled, xhat, rstd,
                conf.getLayerNormEps());
        } else {
            xhat = create(mgr, type, b * t, d);
            rstd = create(mgr, type, b * t, 1);
            INDArray hn = create(mgr, type, b * t, d);
            Kernels.layerNorm(x, param(ClassifierHead.LN_GAIN), param(ClassifierHead.LN_BIAS), hn, xhat, rstd,
                conf.getLayerNormEps());
            double[][] w = new double[(int) b][(int) t];
            for (int i = 0; i < b; i++) {
                for (int j = 0; j < len[i]; j++) {
                    w[i][j] = 1.0 / len[i];
                }
            }
            weights = create(mgr, type, b, t);
            weights.assign(Nd4j.createFromArray(w).castTo(dataType));
            INDArray weighted = create(mgr, type, b, t, d);
            Nd4j.getExecutioner().exec(new BroadcastMulOp(hn.reshape('c', b, t, d), weights, weighted, 0, 1));
            pooled.assign(weighted.sum(1));
        }
        INDArray z = pooled;
        INDArray drop = null;
        if (training && conf.getDropout() > 0) {
            drop = create(mgr, type, b, d);
            Kernels.dropoutMask(drop, conf.getDropout());
            z = pooled.mul(drop);
        }
        INDArray probs = create(mgr, outType, b, conf.getClasses());
        probs.assign(z.mmul(param(ClassifierHead.W)).addiRowVector(param(ClassifierHead.B)));
        Nd4j.exec(new SoftMax(probs, probs, -1));
        return new Forward(probs, z, drop, xhat, rstd, rows, weights);
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr mgr) {
        assertInputSet(false);
        checkInput();
        return forward(false, mgr, ArrayType.FF_WORKING_MEM, ArrayType.ACTIVATIONS).probs();
    }

    private int[] labelIds(long b) {
        if (labels == null) {
            throw new IllegalStateException("classifier: labels not set");
        }
        if (labels.length() != b) {
            throw new IllegalArgumentException("labels must be [batch, 1] = [" + b + ", 1], got shape "
                + java.util.Arrays.toString(labels.shape()));
        }
        int[] ids = Kernels.readInts(labels);
        for (int id : ids) {
            if (id < 0 || id >= layerConf().getClasses()) {
                throw new IllegalArgumentException("class id " + id + " outside [0, " + layerConf().getClasses()
                    + ")");
            }
        }
        return ids;
    }

    private static double crossEntropy(INDArray probs, int[] ids, double[] perExample) {
        double total = 0;
        for (int i = 0; i < ids.length; i++) {
            double l = -Math.log(Math.max(probs.getDouble(i, ids[i]), Float.MIN_NORMAL));
            if (perExample != null) {
                perExample[i] = l;
            }
            total += l;
        }
        return total / ids.length;
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr mgr) {
        assertInputSet(true);
        checkInput();
        ClassifierHead conf = layerConf();
        ArrayType work = ArrayType.BP_WORKING_MEM;
        long b = input.size(0);
        long t = input.size(1);
        long d = conf.getDModel();
        int[] ids = labelIds(b);
        Forward f = forward(true, mgr, work, work);
        lossOf(crossEntropy(f.probs(), ids, null));

        INDArray dlogits = f.probs();                                        // becomes (p - onehot) / b
        for (int i = 0; i < b; i++) {
            dlogits.putScalar(i, ids[i], dlogits.getDouble(i, ids[i]) - 1);
        }
        dlogits.divi(b);
        if (!conf.isFrozen(ClassifierHead.W)) {
            grad(ClassifierHead.W).assign(f.z().transpose().mmul(dlogits));
        }
        if (!conf.isFrozen(ClassifierHead.B)) {
            grad(ClassifierHead.B).assign(dlogits.sum(0).reshape(1, conf.getClasses()));
        }
        INDArray dOut = create(mgr, ArrayType.ACTIVATION_GRAD, b, t, d);
        boolean lnTrains = !conf.isFrozen(ClassifierHead.LN_GAIN) || !conf.isFrozen(ClassifierHead.LN_BIAS);
        if (!conf.getInputGradient() && !lnTrains) {
            dOut.assign(0);   // nothing below trains: the backward pass stops here
        } else {
            INDArray dz = dlogits.mmul(param(ClassifierHead.W).transpose());   // [b, d]
            INDArray dpooled = f.drop() == null ? dz : dz.muli(f.drop());
            INDArray dg = create(mgr, work, 1, d);
            INDArray db = create(mgr, work, 1, d);
            if (f.rows() != null) {
                INDArray dxs = create(mgr, work, b, d);
                Kernels.layerNormBackward(dpooled, f.xhat(), f.rstd(), param(ClassifierHead.LN_GAIN), null, dxs, dg,
                    db);
                Kernels.scatterRows(dxs, f.rows(), dOut.reshape('c', b * t, d));
            } else {
                INDArray dhn = create(mgr, work, b, t, d);                     // w[b, t] * dpooled[b]
                dhn.assign(0);
                Nd4j.getExecutioner().exec(new org.nd4j.linalg.api.ops.impl.broadcast.BroadcastAddOp(dhn, dpooled,
                    dhn, 0, 2));
                Nd4j.getExecutioner().exec(new BroadcastMulOp(dhn, f.weights(), dhn, 0, 1));
                Kernels.layerNormBackward(dhn.reshape('c', b * t, d), f.xhat(), f.rstd(),
                    param(ClassifierHead.LN_GAIN), null, dOut.reshape('c', b * t, d), dg, db);
            }
            if (!conf.isFrozen(ClassifierHead.LN_GAIN)) {
                grad(ClassifierHead.LN_GAIN).assign(dg);
            }
            if (!conf.isFrozen(ClassifierHead.LN_BIAS)) {
                grad(ClassifierHead.LN_BIAS).assign(db);
            }
            if (!conf.getInputGradient()) {
                dOut.assign(0);
            }
        }
        Gradient g = new DefaultGradient();
        for (ParamSpec s : conf.paramSpecs()) {
            g.gradientForVariable().put(s.key(), grad(s.key()));
        }
        return new Pair<>(g, dOut);
    }

    @Override
    public double computeScore(double fullNetRegScore, boolean training, LayerWorkspaceMgr mgr) {
        assertInputSet(false);
        checkInput();
        if (!hasLoss()) {
            Forward f = forward(training, mgr, ArrayType.FF_WORKING_MEM, ArrayType.FF_WORKING_MEM);
            lossOf(crossEntropy(f.probs(), labelIds(input.size(0)), null));
        }
        score = loss + fullNetRegScore;
        return score;
    }

    @Override
    public INDArray computeScoreForExamples(double fullNetRegScore, LayerWorkspaceMgr mgr) {
        assertInputSet(false);
        checkInput();
        long b = input.size(0);
        Forward f = forward(false, mgr, ArrayType.FF_WORKING_MEM, ArrayType.FF_WORKING_MEM);
        double[] per = new double[(int) b];
        crossEntropy(f.probs(), labelIds(b), per);
        INDArray r = create(mgr, ArrayType.ACTIVATIONS, b, 1);
        for (int i = 0; i < b; i++) {
            r.putScalar(i, 0, per[i] + fullNetRegScore);
        }
        return r;
    }

    @Override
    @Deprecated
    public int numLabels() {
        return layerConf().getClasses();
    }
}
