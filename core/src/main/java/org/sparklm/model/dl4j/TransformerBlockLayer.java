package org.sparklm.model.dl4j;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.point;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastAddOp;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.factory.Nd4j;
import org.sparklm.model.dl4j.OpTimer.Group;

/**
 * {@link TransformerBlock}: the forward pass and its hand-written gradient. Layout: the residual stream as
 * {@code [N = batch * time, d]} rows; per-head tensors {@code [batch, heads, time, d_head]} so that the attention
 * products are batched matrix products; everything else is BLAS {@code gemm} on 2-d arrays.
 */
final class TransformerBlockLayer extends TransformerLayerImpl<TransformerBlock> {

    /** Added to masked attention scores before the softmax (exp underflows to exactly 0). */
    private static final double MASKED = -1e9;

    /** What the backward pass needs from the forward pass. */
    private static final class Cache {
        INDArray input;
        INDArray xhat1, rstd1, h1;        // [N, d], [N, 1], [N, d]
        INDArray q, k, v;                 // [B, H, T, dh]; q already scaled by 1/sqrt(dh)
        INDArray probs;                   // [B, H, T, T] softmax output
        INDArray attnDrop;                // [B, H, T, T] or null
        INDArray ctx;                     // [N, d] heads concatenated
        INDArray drop1;                   // [N, d] or null
        INDArray xhat2, rstd2, h2;        // [N, d], [N, 1], [N, d]
        INDArray f, sig, g;               // [N, dff] pre-activation, GELU's sigmoid, GELU output
        INDArray drop2;                   // [N, d] or null
    }

    private Cache cache;
    private INDArray causalBias;      // [1, T * T], detached
    private INDArray onesN;           // [1, N], detached
    private INDArray onesT;           // [1, T], detached

    TransformerBlockLayer(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr mgr) {
        assertInputSet(false);
        cache = null;
        if (training) {
            Cache c = new Cache();
            INDArray out = forward(true, c, mgr, ArrayType.ACTIVATIONS, ArrayType.FF_WORKING_MEM,
                ArrayType.ACTIVATIONS);
            cache = c;
            return out;
        }
        return forward(false, null, mgr, ArrayType.FF_WORKING_MEM, ArrayType.FF_WORKING_MEM, ArrayType.ACTIVATIONS);
    }

    /**
     * @param keep where to put what the backward pass needs ({@code c} non-null) and the output's inputs
     * @param work where to put temporaries
     * @param outType where to put the output
     */
    private INDArray forward(boolean training, Cache c, LayerWorkspaceMgr mgr, ArrayType keep, ArrayType work,
                             ArrayType outType) {
        TransformerBlock conf = layerConf();
        if (input.rank() != 3 || input.size(2) != conf.getDModel()) {
            throw new IllegalArgumentException("block input must be [batch, time, " + conf.getDModel()
                + "], got " + java.util.Arrays.toString(input.shape()));
        }
        long b = input.size(0);
        long t = input.size(1);
        long n = b * t;
        long d = conf.getDModel();
        long h = conf.getHeads();
        long dh = d / h;
        long dff = conf.getDFf();
        double p = training ? conf.getDropout() : 0;
        double eps = conf.getLayerNormEps();
        ensureConstants(n, t);

        INDArray x = Kernels.dense(input, mgr, work).reshape('c', n, d);
        long tm = OpTimer.now();
        INDArray out = create(mgr, outType, b, t, d);
        INDArray y = out.reshape('c', n, d);

        // ---- attention branch: a = W_o attention(LN1(x)) + b_o ----
        INDArray h1 = create(mgr, keep, n, d);
        INDArray xhat1 = c == null ? null : create(mgr, keep, n, d);
        INDArray rstd1 = c == null ? null : create(mgr, keep, n, 1);
        Kernels.layerNorm(x, param(TransformerBlock.LN1_GAIN), param(TransformerBlock.LN1_BIAS), h1, xhat1, rstd1,
            eps);
        tm = OpTimer.lap(Group.LAYER_NORM, tm);

        INDArray qkv = create(mgr, work, n, 3 * d);                          // [N, 3d]
        Nd4j.gemm(h1, param(TransformerBlock.W_QKV), qkv, false, false, 1.0, 0.0);
        qkv.addiRowVector(param(TransformerBlock.B_QKV));
        tm = OpTimer.lap(Group.LINEAR, tm);
        INDArray qkv5 = qkv.reshape('c', b, t, 3, h, dh);                    // [B, T, 3, H, dh]
        INDArray q = create(mgr, keep, b, h, t, dh);                         // [B, H, T, dh]
        INDArray k = create(mgr, keep, b, h, t, dh);
        INDArray v = create(mgr, keep, b, h, t, dh);
        q.assign(qkv5.get(all(), all(), point(0), all(), all()).permute(0, 2, 1, 3));
        k.assign(qkv5.get(all(), all(), point(1), all(), all()).permute(0, 2, 1, 3));
        v.assign(qkv5.get(all(), all(), point(2), all(), all()).permute(0, 2, 1, 3));
        q.muli(1.0 / Math.sqrt(dh));
        tm = OpTimer.lap(Group.HEAD_REARRANGE, tm);

        INDArray probs = create(mgr, keep, b, h, t, t);                      // [B, H, T, T]
        Nd4j.matmul(q, k, probs, false, true, false);
        tm = OpTimer.lap(Group.ATTENTION_MATMUL, tm);
        if (conf.getCausal()) {
            probs.reshape('c', b * h, t * t).addiRowVector(causalBias);
        }
        if (maskArray != null) {
            INDArray pad = create(mgr, work, b, t);                          // 0 for tokens, MASKED for padding
            pad.assign(maskArray.reshape(b, t)).subi(1.0).muli(-MASKED);
            Nd4j.getExecutioner().exec(new BroadcastAddOp(probs, pad, probs, 0, 3));
        }
        Nd4j.exec(new SoftMax(probs, probs, -1));
        tm = OpTimer.lap(Group.SOFTMAX, tm);
        INDArray attn = probs;
        INDArray attnDrop = null;
        if (p > 0) {
            attnDrop = create(mgr, keep, b, h, t, t);
            Kernels.dropoutMask(attnDrop, p);
            attn = create(mgr, work, b, h, t, t);
            probs.mul(attnDrop, attn);
        }
        tm = OpTimer.lap(Group.DROPOUT, tm);
        INDArray ctx4 = create(mgr, work, b, h, t, dh);                      // [B, H, T, dh]
        Nd4j.matmul(attn, v, ctx4, false, false, false);
        tm = OpTimer.lap(Group.ATTENTION_MATMUL, tm);
        INDArray ctx = create(mgr, keep, n, d);                              // [N, d] = [B, T, H, dh]
        ctx.reshape('c', b, t, h, dh).assign(ctx4.permute(0, 2, 1, 3));
        tm = OpTimer.lap(Group.HEAD_REARRANGE, tm);

        INDArray a = create(mgr, work, n, d);
        Nd4j.gemm(ctx, param(TransformerBlock.W_OUT), a, false, false, 1.0, 0.0);
        a.addiRowVector(param(TransformerBlock.B_OUT));
        tm = OpTimer.lap(Group.LINEAR, tm);
        INDArray drop1 = null;
        if (p > 0) {
            drop1 = create(mgr, keep, n, d);
            Kernels.dropoutMask(drop1, p);
            a.muli(drop1);
        }
        tm = OpTimer.lap(Group.DROPOUT, tm);
        x.add(a, y);                                                         // y = x + a
        tm = OpTimer.lap(Group.RESIDUAL, tm);

        // ---- MLP branch: m = W_2 GELU(W_1 LN2(y) + b_1) + b_2 ----
        INDArray h2 = create(mgr, keep, n, d);
        INDArray xhat2 = c == null ? null : create(mgr, keep, n, d);
        INDArray rstd2 = c == null ? null : create(mgr, keep, n, 1);
        Kernels.layerNorm(y, param(TransformerBlock.LN2_GAIN), param(TransformerBlock.LN2_BIAS), h2, xhat2, rstd2,
            eps);
        tm = OpTimer.lap(Group.LAYER_NORM, tm);
        INDArray f = create(mgr, keep, n, dff);
        Nd4j.gemm(h2, param(TransformerBlock.W_FC), f, false, false, 1.0, 0.0);
        f.addiRowVector(param(TransformerBlock.B_FC));
        tm = OpTimer.lap(Group.LINEAR, tm);
        INDArray sig = create(mgr, keep, n, dff);
        INDArray g = create(mgr, keep, n, dff);
        Kernels.gelu(f, sig, g);
        tm = OpTimer.lap(Group.GELU, tm);
        INDArray m = create(mgr, work, n, d);
        Nd4j.gemm(g, param(TransformerBlock.W_PROJ), m, false, false, 1.0, 0.0);
        m.addiRowVector(param(TransformerBlock.B_PROJ));
        tm = OpTimer.lap(Group.LINEAR, tm);
        INDArray drop2 = null;
        if (p > 0) {
            drop2 = create(mgr, keep, n, d);
            Kernels.dropoutMask(drop2, p);
            m.muli(drop2);
        }
        tm = OpTimer.lap(Group.DROPOUT, tm);
        y.addi(m);
        OpTimer.lap(Group.RESIDUAL, tm);

        if (c != null) {
            c.input = input;
            c.xhat1 = xhat1;
            c.rstd1 = rstd1;
            c.h1 = h1;
            c.q = q;
            c.k = k;
            c.v = v;
            c.probs = probs;
            c.attnDrop = attnDrop;
            c.ctx = ctx;
            c.drop1 = drop1;
            c.xhat2 = xhat2;
            c.rstd2 = rstd2;
            c.h2 = h2;
            c.f = f;
            c.sig = sig;
            c.g = g;
            c.drop2 = drop2;
        }
        return out;
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr mgr) {
        assertInputSet(true);
        Cache c = cache;
        if (c == null || c.input != input) {
            // no training forward pass for this input: run it again, keeping its results in backprop memory
            c = new Cache();
            forward(true, c, mgr, ArrayType.BP_WORKING_MEM, ArrayType.BP_WORKING_MEM, ArrayType.BP_WORKING_MEM);
        }
        cache = null;
        TransformerBlock conf = layerConf();
        ArrayType work = ArrayType.BP_WORKING_MEM;
        long b = input.size(0);
        long t = input.size(1);
        long n = b * t;
        long d = conf.getDModel();
        long h = conf.getHeads();
        long dh = d / h;
        long dff = conf.getDFf();
        ensureConstants(n, t);

        INDArray dy = Kernels.dense(epsilon, mgr, work).reshape('c', n, d);
        long tm = OpTimer.now();

        // ---- MLP branch ----
        INDArray dm = dy;
        if (c.drop2 != null) {
            dm = create(mgr, work, n, d);
            dy.mul(c.drop2, dm);
        }
        tm = OpTimer.lap(Group.DROPOUT, tm);
        Nd4j.gemm(c.g, dm, grad(TransformerBlock.W_PROJ), true, false, 1.0, 0.0);
        Kernels.columnSums(dm, onesN, grad(TransformerBlock.B_PROJ));
        INDArray dg = create(mgr, work, n, dff);
        Nd4j.gemm(dm, param(TransformerBlock.W_PROJ), dg, false, true, 1.0, 0.0);
        tm = OpTimer.lap(Group.LINEAR, tm);
        INDArray df = create(mgr, work, n, dff);
        INDArray tmp = create(mgr, work, n, dff);
        Kernels.geluBackward(c.f, c.sig, dg, df, tmp);
        tm = OpTimer.lap(Group.GELU, tm);
        Nd4j.gemm(c.h2, df, grad(TransformerBlock.W_FC), true, false, 1.0, 0.0);
        Kernels.columnSums(df, onesN, grad(TransformerBlock.B_FC));
        INDArray dh2 = create(mgr, work, n, d);
        Nd4j.gemm(df, param(TransformerBlock.W_FC), dh2, false, true, 1.0, 0.0);
        tm = OpTimer.lap(Group.LINEAR, tm);
        INDArray dx2 = create(mgr, work, n, d);                             // gradient of the mid residual
        dx2.assign(dy);
        tm = OpTimer.lap(Group.RESIDUAL, tm);
        Kernels.layerNormBackward(dh2, c.xhat2, c.rstd2, param(TransformerBlock.LN2_GAIN), dx2,
            grad(TransformerBlock.LN2_GAIN), grad(TransformerBlock.LN2_BIAS));
        tm = OpTimer.lap(Group.LAYER_NORM, tm);

        // ---- attention branch ----
        INDArray da = dx2;
        if (c.drop1 != null) {
            da = create(mgr, work, n, d);
            dx2.mul(c.drop1, da);
        }
        tm = OpTimer.lap(Group.DROPOUT, tm);
        Nd4j.gemm(c.ctx, da, grad(TransformerBlock.W_OUT), true, false, 1.0, 0.0);
        Kernels.columnSums(da, onesN, grad(TransformerBlock.B_OUT));
        INDArray dctx = create(mgr, work, n, d);
        Nd4j.gemm(da, param(TransformerBlock.W_OUT), dctx, false, true, 1.0, 0.0);
        tm = OpTimer.lap(Group.LINEAR, tm);
        INDArray dctx4 = create(mgr, work, b, h, t, dh);                    // [B, H, T, dh]
        dctx4.assign(dctx.reshape('c', b, t, h, dh).permute(0, 2, 1, 3));
        tm = OpTimer.lap(Group.HEAD_REARRANGE, tm);

        INDArray attn = c.probs;
        if (c.attnDrop != null) {
            attn = create(mgr, work, b, h, t, t);
            c.probs.mul(c.attnDrop, attn);
        }
        tm = OpTimer.lap(Group.DROPOUT, tm);
        INDArray dv = create(mgr, work, b, h, t, dh);
        Nd4j.matmul(attn, dctx4, dv, true, false, false);                  // dV = A^T dctx
        INDArray dp = create(mgr, work, b, h, t, t);
        Nd4j.matmul(dctx4, c.v, dp, false, true, false);                   // dA = dctx V^T
        tm = OpTimer.lap(Group.ATTENTION_MATMUL, tm);
        if (c.attnDrop != null) {
            dp.muli(c.attnDrop);
        }
        tm = OpTimer.lap(Group.DROPOUT, tm);
        // softmax gradient: dS = P * (dP - rowsum(P * dP))
        long rows = b * h * t;
        INDArray pdp = create(mgr, work, b, h, t, t);
        c.probs.mul(dp, pdp);
        INDArray rsum = create(mgr, work, rows, 1);
        Nd4j.gemm(pdp.reshape('c', rows, t), onesT.reshape('c', t, 1), rsum, false, false, 1.0, 0.0);
        Nd4j.gemm(rsum, onesT, dp.reshape('c', rows, t), false, false, -1.0, 1.0);   // dP - rowsum, rank-1 update
        INDArray ds = pdp;                                                  // reuse: dS = P * (dP - rowsum)
        c.probs.mul(dp, ds);
        tm = OpTimer.lap(Group.SOFTMAX, tm);

        INDArray dq = create(mgr, work, b, h, t, dh);
        Nd4j.matmul(ds, c.k, dq, false, false, false);                     // d(q scaled) = dS K
        dq.muli(1.0 / Math.sqrt(dh));
        INDArray dk = create(mgr, work, b, h, t, dh);
        Nd4j.matmul(ds, c.q, dk, true, false, false);                      // dK = dS^T (q scaled)
        tm = OpTimer.lap(Group.ATTENTION_MATMUL, tm);

        INDArray dqkv = create(mgr, work, n, 3 * d);
        INDArray dqkv5 = dqkv.reshape('c', b, t, 3, h, dh);
        dqkv5.get(all(), all(), point(0), all(), all()).permute(0, 2, 1, 3).assign(dq);
        dqkv5.get(all(), all(), point(1), all(), all()).permute(0, 2, 1, 3).assign(dk);
        dqkv5.get(all(), all(), point(2), all(), all()).permute(0, 2, 1, 3).assign(dv);
        tm = OpTimer.lap(Group.HEAD_REARRANGE, tm);
        Nd4j.gemm(c.h1, dqkv, grad(TransformerBlock.W_QKV), true, false, 1.0, 0.0);
        Kernels.columnSums(dqkv, onesN, grad(TransformerBlock.B_QKV));
        INDArray dh1 = create(mgr, work, n, d);
        Nd4j.gemm(dqkv, param(TransformerBlock.W_QKV), dh1, false, true, 1.0, 0.0);
        tm = OpTimer.lap(Group.LINEAR, tm);

        INDArray dxOut = create(mgr, ArrayType.ACTIVATION_GRAD, b, t, d);
        INDArray dx = dxOut.reshape('c', n, d);
        dx.assign(dx2);
        tm = OpTimer.lap(Group.RESIDUAL, tm);
        Kernels.layerNormBackward(dh1, c.xhat1, c.rstd1, param(TransformerBlock.LN1_GAIN), dx,
            grad(TransformerBlock.LN1_GAIN), grad(TransformerBlock.LN1_BIAS));
        OpTimer.lap(Group.LAYER_NORM, tm);

        Gradient grads = new DefaultGradient();
        for (ParamSpec s : conf.paramSpecs()) {
            grads.gradientForVariable().put(s.key(), grad(s.key()));
        }
        return new Pair<>(grads, dxOut);
    }

    /** The causal bias, the ones rows for sums: detached, rebuilt when the shapes change. */
    private void ensureConstants(long n, long t) {
        if (onesN == null || onesN.length() != n || onesN.dataType() != dataType) {
            onesN = Kernels.onesRow(dataType, n);
        }
        if (onesT == null || onesT.length() != t || onesT.dataType() != dataType) {
            onesT = Kernels.onesRow(dataType, t);
        }
        if (layerConf().getCausal()
            && (causalBias == null || causalBias.length() != t * t || causalBias.dataType() != dataType)) {
            double[] bias = new double[Math.toIntExact(t * t)];
            for (int i = 0; i < t; i++) {
                for (int j = i + 1; j < t; j++) {
                    bias[(int) (i * t + j)] = MASKED;
                }
            }
            try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                causalBias = Nd4j.createFromArray(bias).castTo(dataType).reshape(1, t * t);
            }
        }
    }

    @Override
    public void clear() {
        super.clear();
        cache = null;
    }
}
