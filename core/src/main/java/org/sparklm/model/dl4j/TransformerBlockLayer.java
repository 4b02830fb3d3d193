package org.sparklm.model.dl4j;

import java.util.function.Function;
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
import org.nd4j.linalg.api.ops.impl.transforms.strict.Sigmoid;
import org.nd4j.linalg.factory.Nd4j;
import org.sparklm.model.dl4j.OpTimer.Group;

/**
 * {@link TransformerBlock}: the forward pass and its hand-written gradient. Layout: the residual stream as
 * {@code [N = batch * time, d]} rows; per-head tensors {@code [batch, heads, time, d_head]} so that the attention
 * products are batched matrix products. ND4J does the matrix products (BLAS {@code gemm} for the linear maps, batched
 * {@code matmul} for attention), the softmax and GELU's sigmoid; the elementwise work around them (biases, residuals,
 * dropout masks, LayerNorm, head rearrangement, GELU's polynomial and gradient, the softmax gradient, bias gradients)
 * is fused into single Java passes ({@link BlockKernels}, {@link Kernels}): per block and step, 10 ND4J ops forward
 * and 10 backward instead of about 50 and 70.
 */
final class TransformerBlockLayer extends TransformerLayerImpl<TransformerBlock> {

    /** Added to masked attention scores before the softmax (exp underflows to exactly 0). */
    private static final double MASKED = -1e9;

    /** What the backward pass needs from the forward pass. */
    private static final class Cache {
        INDArray input;
        INDArray xhat1, rstd1, h1;        // [N, d], [N, 1], [N, d]
        INDArray qkv;                     // [N, 3d] queries, keys, values (biases added)
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
        ensureCausalBias(t);

        INDArray x = Kernels.dense(input, mgr, work).reshape('c', n, d);
        INDArray out = create(mgr, outType, b, t, d);
        INDArray y = out.reshape('c', n, d);
        long tm = OpTimer.now();

        // ---- attention branch: y = x + dropout(W_o attention(LN1(x)) + b_o) ----
        INDArray h1 = create(mgr, keep, n, d);
        INDArray xhat1 = c == null ? null : create(mgr, keep, n, d);
        INDArray rstd1 = c == null ? null : create(mgr, keep, n, 1);
        Kernels.layerNorm(x, param(TransformerBlock.LN1_GAIN), param(TransformerBlock.LN1_BIAS), h1, xhat1, rstd1,
            eps);
        tm = OpTimer.lap(Group.LAYER_NORM, tm);

        INDArray qkv = create(mgr, keep, n, 3 * d);                          // [N, 3d]: q, k, v side by side
        MatrixThreads.gemm(h1, param(TransformerBlock.W_QKV), qkv, false, false, 1.0, 0.0);
        BlockKernels.addBias(qkv, param(TransformerBlock.B_QKV));
        tm = OpTimer.lap(Group.LINEAR, tm);
        Attention.Shape shape = new Attention.Shape((int) b, (int) h, (int) t, (int) dh);
        Function<long[], INDArray> temp = sh -> create(mgr, work, sh);

        INDArray probs = create(mgr, keep, b, h, t, t);                      // [B, H, T, T]
        Attention.scores(qkv, probs, shape, 1.0 / Math.sqrt(dh), temp);     // q k^T / sqrt(dh)
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
        INDArray drop1 = null;
        INDArray drop2 = null;
        if (p > 0) {
            attnDrop = create(mgr, keep, b, h, t, t);
            Kernels.dropoutMask(attnDrop, p);
            attn = create(mgr, work, b, h, t, t);
            probs.mul(attnDrop, attn);
            drop1 = create(mgr, keep, n, d);
            Kernels.dropoutMask(drop1, p);
            drop2 = create(mgr, keep, n, d);
            Kernels.dropoutMask(drop2, p);
            tm = OpTimer.lap(Group.DROPOUT, tm);
        }
        INDArray ctx = create(mgr, keep, n, d);                              // [N, d] heads concatenated
        Attention.context(attn, qkv, ctx, shape, temp);
        tm = OpTimer.lap(Group.ATTENTION_MATMUL, tm);

        INDArray a = create(mgr, work, n, d);
        MatrixThreads.gemm(ctx, param(TransformerBlock.W_OUT), a, false, false, 1.0, 0.0);
        tm = OpTimer.lap(Group.LINEAR, tm);
        BlockKernels.residual(x, a, param(TransformerBlock.B_OUT), drop1, y);
        tm = OpTimer.lap(Group.RESIDUAL, tm);

        // ---- MLP branch: y = y + dropout(W_2 GELU(W_1 LN2(y) + b_1) + b_2) ----
        INDArray h2 = create(mgr, keep, n, d);
        INDArray xhat2 = c == null ? null : create(mgr, keep, n, d);
        INDArray rstd2 = c == null ? null : create(mgr, keep, n, 1);
        Kernels.layerNorm(y, param(TransformerBlock.LN2_GAIN), param(TransformerBlock.LN2_BIAS), h2, xhat2, rstd2,
            eps);
        tm = OpTimer.lap(Group.LAYER_NORM, tm);
        INDArray f = create(mgr, keep, n, dff);
        MatrixThreads.gemm(h2, param(TransformerBlock.W_FC), f, false, false, 1.0, 0.0);
        tm = OpTimer.lap(Group.LINEAR, tm);
        INDArray sig = create(mgr, keep, n, dff);
        INDArray g = create(mgr, keep, n, dff);
        BlockKernels.geluInput(f, param(TransformerBlock.B_FC), sig);        // f += b_1; sig = 2c f (1 + a f^2)
        Nd4j.exec(new Sigmoid(sig, sig));
        f.mul(sig, g);                                                       // GELU(f) = f sigmoid(...)
        tm = OpTimer.lap(Group.GELU, tm);
        INDArray m = create(mgr, work, n, d);
        MatrixThreads.gemm(g, param(TransformerBlock.W_PROJ), m, false, false, 1.0, 0.0);
        tm = OpTimer.lap(Group.LINEAR, tm);
        BlockKernels.residual(y, m, param(TransformerBlock.B_PROJ), drop2, y);
        OpTimer.lap(Group.RESIDUAL, tm);

        if (c != null) {
            c.input = input;
            c.xhat1 = xhat1;
            c.rstd1 = rstd1;
            c.h1 = h1;
            c.qkv = qkv;
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

        INDArray dy = Kernels.dense(epsilon, mgr, work).reshape('c', n, d);
        long tm = OpTimer.now();

        // ---- MLP branch ----
        INDArray dm = c.drop2 == null ? dy : create(mgr, work, n, d);
        BlockKernels.branchGradient(dy, c.drop2, dm, grad(TransformerBlock.B_PROJ));
        tm = OpTimer.lap(Group.RESIDUAL, tm);
        MatrixThreads.gemm(c.g, dm, grad(TransformerBlock.W_PROJ), true, false, 1.0, 0.0);
        INDArray dg = create(mgr, work, n, dff);
        MatrixThreads.gemm(dm, param(TransformerBlock.W_PROJ), dg, false, true, 1.0, 0.0);
        tm = OpTimer.lap(Group.LINEAR, tm);
        BlockKernels.geluBackward(c.f, c.sig, dg, dg, grad(TransformerBlock.B_FC));   // dg becomes dL/df
        tm = OpTimer.lap(Group.GELU, tm);
        MatrixThreads.gemm(c.h2, dg, grad(TransformerBlock.W_FC), true, false, 1.0, 0.0);
        INDArray dh2 = create(mgr, work, n, d);
        MatrixThreads.gemm(dg, param(TransformerBlock.W_FC), dh2, false, true, 1.0, 0.0);
        tm = OpTimer.lap(Group.LINEAR, tm);
        INDArray dx2 = create(mgr, work, n, d);                             // gradient of the mid residual
        Kernels.layerNormBackward(dh2, c.xhat2, c.rstd2, param(TransformerBlock.LN2_GAIN), dy, dx2,
            grad(TransformerBlock.LN2_GAIN), grad(TransformerBlock.LN2_BIAS));
        tm = OpTimer.lap(Group.LAYER_NORM, tm);

        // ---- attention branch ----
        INDArray da = c.drop1 == null ? dx2 : create(mgr, work, n, d);
        BlockKernels.branchGradient(dx2, c.drop1, da, grad(TransformerBlock.B_OUT));
        tm = OpTimer.lap(Group.RESIDUAL, tm);
        MatrixThreads.gemm(c.ctx, da, grad(TransformerBlock.W_OUT), true, false, 1.0, 0.0);
        INDArray dctx = create(mgr, work, n, d);
        MatrixThreads.gemm(da, param(TransformerBlock.W_OUT), dctx, false, true, 1.0, 0.0);
        tm = OpTimer.lap(Group.LINEAR, tm);
        Attention.Shape shape = new Attention.Shape((int) b, (int) h, (int) t, (int) dh);
        Function<long[], INDArray> temp = sh -> create(mgr, work, sh);
        INDArray attn = c.probs;
        if (c.attnDrop != null) {
            attn = create(mgr, work, b, h, t, t);
            c.probs.mul(c.attnDrop, attn);
            tm = OpTimer.lap(Group.DROPOUT, tm);
        }
        INDArray dqkv = create(mgr, work, n, 3 * d);
        INDArray ds = create(mgr, work, b, h, t, t);
        Attention.contextBackward(attn, c.qkv, dctx, ds, dqkv, shape, temp);   // dA into ds, dV into dqkv
        tm = OpTimer.lap(Group.ATTENTION_MATMUL, tm);
        BlockKernels.softmaxBackward(c.probs, ds, c.attnDrop);              // ds becomes dL/dscores
        tm = OpTimer.lap(Group.SOFTMAX, tm);
        Attention.scoresBackward(ds, c.qkv, dqkv, shape, 1.0 / Math.sqrt(dh), temp);   // dQ, dK into dqkv
        tm = OpTimer.lap(Group.ATTENTION_MATMUL, tm);
        BlockKernels.columnSums(dqkv, grad(TransformerBlock.B_QKV));
        MatrixThreads.gemm(c.h1, dqkv, grad(TransformerBlock.W_QKV), true, false, 1.0, 0.0);
        INDArray dh1 = create(mgr, work, n, d);
        MatrixThreads.gemm(dqkv, param(TransformerBlock.W_QKV), dh1, false, true, 1.0, 0.0);
        tm = OpTimer.lap(Group.LINEAR, tm);

        INDArray dxOut = create(mgr, ArrayType.ACTIVATION_GRAD, b, t, d);
        Kernels.layerNormBackward(dh1, c.xhat1, c.rstd1, param(TransformerBlock.LN1_GAIN), dx2,
            dxOut.reshape('c', n, d), grad(TransformerBlock.LN1_GAIN), grad(TransformerBlock.LN1_BIAS));
        OpTimer.lap(Group.LAYER_NORM, tm);

        Gradient grads = new DefaultGradient();
        for (ParamSpec s : conf.paramSpecs()) {
            grads.gradientForVariable().put(s.key(), grad(s.key()));
        }
        return new Pair<>(grads, dxOut);
    }

    /** The causal bias: detached, rebuilt when the length changes. */
    private void ensureCausalBias(long t) {
        if (layerConf().getCausal()
            && (causalBias == null || causalBias.length() != t * t || causalBias.dataType() != dataType)) {
            double[] bias = new double[Math.toIntExact(t * t)];
            for (int i = 0; i < t; i++) {
                for (int j = i + 1; j < t; j++) {
                    bias[(int) (i * t + j)] = MASKED;
                }
            }
            causalBias = detached(bias, t);
        }
    }

    /** The bias as [1, T * T] of the network's type, outside any workspace (the layer keeps it). */
    @SuppressWarnings("try")
    private INDArray detached(double[] bias, long t) {
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            return Nd4j.createFromArray(bias).castTo(dataType).reshape(1, t * t);
        }
    }

    @Override
    public void clear() {
        super.clear();
        cache = null;
    }
}
