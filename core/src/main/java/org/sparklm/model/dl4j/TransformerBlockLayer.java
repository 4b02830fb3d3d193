package org.sparklm.model.dl4j;

import java.util.ArrayList;
import java.util.List;
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
import org.nd4j.linalg.api.ops.impl.transforms.strict.Tanh;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.sparklm.model.dl4j.OpTimer.Group;

/**
 * {@link TransformerBlock}: the forward pass and its hand-written gradient. Layout: the residual stream as
 * {@code [N = batch * time, d]} rows; the attention products read the heads in place ({@link Attention}). ND4J does
 * the matrix products (BLAS {@code gemm}), the softmax and GELU's sigmoid; the elementwise work around them (biases,
 * residuals, dropout masks, LayerNorm, GELU's polynomial and gradient, the softmax gradient, bias gradients) is fused
 * into single Java passes ({@link BlockKernels}, {@link Kernels}).
 *
 * <p>Fine-tuning: LoRA adapters add {@code s (x A) B} to the adapted projections ({@link LoraAdapter}); a prefix
 * adds {@code P} keys and values in front of every sequence's ({@code [B, P + T, 2d]} rows), visible to every
 * position; frozen parameters get no gradient computation (the products that would only feed their gradients are
 * skipped), and without {@code inputGradient} the layer stops the backward pass (nothing below trains).
 */
final class TransformerBlockLayer extends TransformerLayerImpl<TransformerBlock> {

    /** Added to masked attention scores before the softmax (exp underflows to exactly 0). */
    private static final double MASKED = -1e9;

    /** What the backward pass needs from the forward pass. */
    private static final class Cache {
        INDArray input;
        INDArray xhat1, rstd1, h1;        // [N, d], [N, 1], [N, d]
        INDArray qkv;                     // [N, 3d] queries, keys, values (biases added)
        INDArray kv;                      // [B (P + T), 2d] prefix and real keys and values, or null (no prefix)
        INDArray prefixPre;               // [P, h] prefix MLP pre-activation (projection), or null
        INDArray prefixHidden;            // [P, h] tanh of it
        INDArray probs;                   // [B, H, T, P + T] softmax output
        INDArray attnDrop;                // [B, H, T, P + T] or null
        INDArray ctx;                     // [N, d] heads concatenated
        INDArray drop1;                   // [N, d] or null
        INDArray xhat2, rstd2, h2;        // [N, d], [N, 1], [N, d]
        INDArray f, sig, g;               // [N, dff] pre-activation, GELU's sigmoid, GELU output
        INDArray drop2;                   // [N, d] or null
        INDArray[] loraIn = new INDArray[4];   // adapters' inputs after their dropout (qkv, o, fc, proj)
        INDArray[] loraU = new INDArray[4];    // x A of each adapter
        INDArray[] loraMask = new INDArray[4]; // their dropout masks, or null
    }

    private Cache cache;
    private INDArray causalBias;      // [1, T * (P + T)], detached
    private long biasT = -1;
    private long biasP = -1;
    private LoraAdapter[] adapters;   // qkv, o, fc, proj (empty ones when not adapted)

    TransformerBlockLayer(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    private LoraAdapter[] adapters() {
        if (adapters == null) {
            TransformerBlock c = layerConf();
            long d = c.getDModel();
            long dff = c.getDFf();
            int r = c.getLoraRank();
            double s = c.loraScale();
            List<LoraAdapter.Part> qkv = new ArrayList<>();
            String[] t = {"q", "k", "v"};
            for (int i = 0; i < 3; i++) {
                if (c.hasLora(t[i])) {
                    String[] k = TransformerBlock.loraKeys(t[i]).get(0);
                    qkv.add(new LoraAdapter.Part(k[0], k[1], i * d, d));
                }
            }
            List<LoraAdapter.Part> o = c.hasLora("o") ? List.of(new LoraAdapter.Part("loraOA", "loraOB", 0, d))
                : List.of();
            List<LoraAdapter.Part> fc = c.hasLora("mlp")
                ? List.of(new LoraAdapter.Part("loraFcA", "loraFcB", 0, dff)) : List.of();
            List<LoraAdapter.Part> proj = c.hasLora("mlp")
                ? List.of(new LoraAdapter.Part("loraProjA", "loraProjB", 0, d)) : List.of();
            adapters = new LoraAdapter[] {new LoraAdapter(qkv, d, 3 * d, r, s), new LoraAdapter(o, d, d, r, s),
                new LoraAdapter(fc, d, dff, r, s), new LoraAdapter(proj, dff, d, r, s)};
        }
        return adapters;
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
     * Applies adapter {@code i} to the map {@code x -> y}: its input after the adapters' dropout, {@code y += s (x A)
     * B}, and what the backward pass needs kept in the cache.
     */
    private void lora(int i, INDArray x, INDArray y, boolean training, Cache c, LayerWorkspaceMgr mgr, ArrayType keep,
                      ArrayType work) {
        LoraAdapter adapter = adapters()[i];
        if (adapter.isEmpty()) {
            return;
        }
        double p = training ? layerConf().getLoraDropout() : 0;
        INDArray in = x;
        INDArray mask = null;
        if (p > 0) {
            mask = create(mgr, keep, x.size(0), x.size(1));
            Kernels.dropoutMask(mask, p);
            in = create(mgr, keep, x.size(0), x.size(1));
            x.mul(mask, in);
        }
        INDArray u = adapter.forward(in, y, this::param, sh -> create(mgr, keep, sh), sh -> create(mgr, work, sh));
        if (c != null) {
            c.loraIn[i] = in;
            c.loraU[i] = u;
            c.loraMask[i] = mask;
        }
    }

    /** Gradients of adapter {@code i}, and its input's gradient added to {@code dx} (when non-null). */
    private void loraBackward(int i, Cache c, INDArray dy, INDArray dx, LayerWorkspaceMgr mgr) {
        LoraAdapter adapter = adapters()[i];
        if (adapter.isEmpty()) {
            return;
        }
        Function<long[], INDArray> temp = sh -> create(mgr, ArrayType.BP_WORKING_MEM, sh);
        if (dx == null || c.loraMask[i] == null) {
            adapter.backward(c.loraIn[i], c.loraU[i], dy, dx, this::param, this::grad, temp);
            return;
        }
        INDArray din = create(mgr, ArrayType.BP_WORKING_MEM, dx.shape());
        din.assign(0);
        adapter.backward(c.loraIn[i], c.loraU[i], dy, din, this::param, this::grad, temp);
        dx.addi(din.muli(c.loraMask[i]));
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
        long pl = conf.getPrefixLength();
        long tk = pl + t;
        double p = training ? conf.getDropout() : 0;
        double eps = conf.getLayerNormEps();
        ensureCausalBias(t, pl);
        Function<long[], INDArray> temp = sh -> create(mgr, work, sh);

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
        lora(0, h1, qkv, training, c, mgr, keep, work);
        BlockKernels.addBias(qkv, param(TransformerBlock.B_QKV));
        tm = OpTimer.lap(Group.LINEAR, tm);
        Attention.Shape shape = new Attention.Shape((int) b, (int) h, (int) t, (int) tk, (int) dh);
        Attention.Operand q = Attention.Operand.q(qkv, (int) d, (int) t);
        Attention.Operand k;
        Attention.Operand v;
        INDArray kv = null;
        if (pl == 0) {
            k = Attention.Operand.k(qkv, (int) d, (int) t);
            v = Attention.Operand.v(qkv, (int) d, (int) t);
        } else {
            kv = create(mgr, keep, b * tk, 2 * d);
            INDArray prefix = prefix(c, mgr, keep, work);                    // [P, 2d]
            for (long i = 0; i < b; i++) {
                kv.get(NDArrayIndex.interval(i * tk, i * tk + pl), NDArrayIndex.all()).assign(prefix);
                kv.get(NDArrayIndex.interval(i * tk + pl, (i + 1) * tk), NDArrayIndex.all())
                    .assign(qkv.get(NDArrayIndex.interval(i * t, (i + 1) * t), NDArrayIndex.interval(d, 3 * d)));
            }
            k = new Attention.Operand(kv, 0, (int) (2 * d), (int) tk);
            v = new Attention.Operand(kv, d, (int) (2 * d), (int) tk);
        }

        INDArray probs = create(mgr, keep, b, h, t, tk);                     // [B, H, T, P + T]
        Attention.scores(q, k, probs, shape, 1.0 / Math.sqrt(dh), temp);     // q k^T / sqrt(dh)
        tm = OpTimer.lap(Group.ATTENTION_MATMUL, tm);
        if (conf.getCausal()) {
            probs.reshape('c', b * h, t * tk).addiRowVector(causalBias);
        }
        if (maskArray != null) {
            INDArray pad = create(mgr, work, b, tk);                         // 0 for tokens and prefix, MASKED for padding
            if (pl > 0) {
                pad.assign(0);
            }
            pad.get(NDArrayIndex.all(), NDArrayIndex.interval(pl, tk)).assign(maskArray.reshape(b, t)).subi(1.0)
                .muli(-MASKED);
            Nd4j.getExecutioner().exec(new BroadcastAddOp(probs, pad, probs, 0, 3));
        }
        Nd4j.exec(new SoftMax(probs, probs, -1));
        tm = OpTimer.lap(Group.SOFTMAX, tm);
        INDArray attn = probs;
        INDArray attnDrop = null;
        INDArray drop1 = null;
        INDArray drop2 = null;
        if (p > 0) {
            attnDrop = create(mgr, keep, b, h, t, tk);
            Kernels.dropoutMask(attnDrop, p);
            attn = create(mgr, work, b, h, t, tk);
            probs.mul(attnDrop, attn);
            drop1 = create(mgr, keep, n, d);
            Kernels.dropoutMask(drop1, p);
            drop2 = create(mgr, keep, n, d);
            Kernels.dropoutMask(drop2, p);
            tm = OpTimer.lap(Group.DROPOUT, tm);
        }
        INDArray ctx = create(mgr, keep, n, d);                              // [N, d] heads concatenated
        Attention.context(attn, v, Attention.Operand.rows(ctx, (int) d, (int) t), shape, temp);
        tm = OpTimer.lap(Group.ATTENTION_MATMUL, tm);

        INDArray a = create(mgr, work, n, d);
        MatrixThreads.gemm(ctx, param(TransformerBlock.W_OUT), a, false, false, 1.0, 0.0);
        lora(1, ctx, a, training, c, mgr, keep, work);
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
        lora(2, h2, f, training, c, mgr, keep, work);
        tm = OpTimer.lap(Group.LINEAR, tm);
        INDArray sig = create(mgr, keep, n, dff);
        INDArray g = create(mgr, keep, n, dff);
        BlockKernels.geluInput(f, param(TransformerBlock.B_FC), sig);        // f += b_1; sig = 2c f (1 + a f^2)
        Nd4j.exec(new Sigmoid(sig, sig));
        f.mul(sig, g);                                                       // GELU(f) = f sigmoid(...)
        tm = OpTimer.lap(Group.GELU, tm);
        INDArray m = create(mgr, work, n, d);
        MatrixThreads.gemm(g, param(TransformerBlock.W_PROJ), m, false, false, 1.0, 0.0);
        lora(3, g, m, training, c, mgr, keep, work);
        tm = OpTimer.lap(Group.LINEAR, tm);
        BlockKernels.residual(y, m, param(TransformerBlock.B_PROJ), drop2, y);
        OpTimer.lap(Group.RESIDUAL, tm);

        if (c != null) {
            c.input = input;
            c.xhat1 = xhat1;
            c.rstd1 = rstd1;
            c.h1 = h1;
            c.qkv = qkv;
            c.kv = kv;
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

    /** The prefix keys and values [P, 2d]: the parameter, or its reparameterisation tanh(E W1 + b1) W2 + b2. */
    private INDArray prefix(Cache c, LayerWorkspaceMgr mgr, ArrayType keep, ArrayType work) {
        TransformerBlock conf = layerConf();
        if (conf.getPrefixProjection() == 0) {
            return param(TransformerBlock.PREFIX);
        }
        long pl = conf.getPrefixLength();
        long hid = conf.getPrefixProjection();
        INDArray pre = create(mgr, keep, pl, hid);
        MatrixThreads.gemm(param(TransformerBlock.PREFIX_E), param(TransformerBlock.PREFIX_W1), pre, false, false, 1.0,
            0.0);
        pre.addiRowVector(param(TransformerBlock.PREFIX_B1));
        INDArray hidden = create(mgr, keep, pl, hid);
        Nd4j.exec(new Tanh(pre, hidden));
        INDArray out = create(mgr, work, pl, 2L * conf.getDModel());
        MatrixThreads.gemm(hidden, param(TransformerBlock.PREFIX_W2), out, false, false, 1.0, 0.0);
        out.addiRowVector(param(TransformerBlock.PREFIX_B2));
        if (c != null) {
            c.prefixPre = pre;
            c.prefixHidden = hidden;
        }
        return out;
    }

    /** A parameter's gradient view, or a scratch array when the parameter is frozen (its gradient stays zero). */
    private INDArray gradOrScratch(String key, LayerWorkspaceMgr mgr) {
        if (!layerConf().isFrozen(key)) {
            return grad(key);
        }
        INDArray view = grad(key);
        return create(mgr, ArrayType.BP_WORKING_MEM, view.shape());
    }

    private boolean trains(String key) {
        return !layerConf().isFrozen(key);
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr mgr) {
        assertInputSet(true);
        TransformerBlock conf = layerConf();
        long b = input.size(0);
        long t = input.size(1);
        long n = b * t;
        long d = conf.getDModel();
        if (conf.allFrozen() && !conf.getInputGradient()) {
            // nothing here or below trains: the backward pass stops
            cache = null;
            INDArray dx = create(mgr, ArrayType.ACTIVATION_GRAD, b, t, d);
            dx.assign(0);
            return new Pair<>(gradients(), dx);
        }
        Cache c = cache;
        if (c == null || c.input != input) {
            // no training forward pass for this input: run it again, keeping its results in backprop memory
            c = new Cache();
            forward(true, c, mgr, ArrayType.BP_WORKING_MEM, ArrayType.BP_WORKING_MEM, ArrayType.BP_WORKING_MEM);
        }
        cache = null;
        ArrayType work = ArrayType.BP_WORKING_MEM;
        long h = conf.getHeads();
        long dh = d / h;
        long dff = conf.getDFf();
        long pl = conf.getPrefixLength();
        long tk = pl + t;
        Function<long[], INDArray> temp = sh -> create(mgr, work, sh);

        INDArray dy = Kernels.dense(epsilon, mgr, work).reshape('c', n, d);
        long tm = OpTimer.now();

        // ---- MLP branch ----
        INDArray dm = c.drop2 == null ? dy : create(mgr, work, n, d);
        BlockKernels.branchGradient(dy, c.drop2, dm, gradOrScratch(TransformerBlock.B_PROJ, mgr));
        tm = OpTimer.lap(Group.RESIDUAL, tm);
        if (trains(TransformerBlock.W_PROJ)) {
            MatrixThreads.gemm(c.g, dm, grad(TransformerBlock.W_PROJ), true, false, 1.0, 0.0);
        }
        INDArray dg = create(mgr, work, n, dff);
        MatrixThreads.gemm(dm, param(TransformerBlock.W_PROJ), dg, false, true, 1.0, 0.0);
        loraBackward(3, c, dm, dg, mgr);
        tm = OpTimer.lap(Group.LINEAR, tm);
        BlockKernels.geluBackward(c.f, c.sig, dg, dg, gradOrScratch(TransformerBlock.B_FC, mgr));   // dg: dL/df
        tm = OpTimer.lap(Group.GELU, tm);
        if (trains(TransformerBlock.W_FC)) {
            MatrixThreads.gemm(c.h2, dg, grad(TransformerBlock.W_FC), true, false, 1.0, 0.0);
        }
        INDArray dh2 = create(mgr, work, n, d);
        MatrixThreads.gemm(dg, param(TransformerBlock.W_FC), dh2, false, true, 1.0, 0.0);
        loraBackward(2, c, dg, dh2, mgr);
        tm = OpTimer.lap(Group.LINEAR, tm);
        INDArray dx2 = create(mgr, work, n, d);                             // gradient of the mid residual
        Kernels.layerNormBackward(dh2, c.xhat2, c.rstd2, param(TransformerBlock.LN2_GAIN), dy, dx2,
            gradOrScratch(TransformerBlock.LN2_GAIN, mgr), gradOrScratch(TransformerBlock.LN2_BIAS, mgr));
        tm = OpTimer.lap(Group.LAYER_NORM, tm);

        // ---- attention branch ----
        INDArray da = c.drop1 == null ? dx2 : create(mgr, work, n, d);
        BlockKernels.branchGradient(dx2, c.drop1, da, gradOrScratch(TransformerBlock.B_OUT, mgr));
        tm = OpTimer.lap(Group.RESIDUAL, tm);
        if (trains(TransformerBlock.W_OUT)) {
            MatrixThreads.gemm(c.ctx, da, grad(TransformerBlock.W_OUT), true, false, 1.0, 0.0);
        }
        INDArray dctx = create(mgr, work, n, d);
        MatrixThreads.gemm(da, param(TransformerBlock.W_OUT), dctx, false, true, 1.0, 0.0);
        loraBackward(1, c, da, dctx, mgr);
        tm = OpTimer.lap(Group.LINEAR, tm);
        Attention.Shape shape = new Attention.Shape((int) b, (int) h, (int) t, (int) tk, (int) dh);
        INDArray attn = c.probs;
        if (c.attnDrop != null) {
            attn = create(mgr, work, b, h, t, tk);
            c.probs.mul(c.attnDrop, attn);
            tm = OpTimer.lap(Group.DROPOUT, tm);
        }
        INDArray dqkv = create(mgr, work, n, 3 * d);
        INDArray ds = create(mgr, work, b, h, t, tk);
        Attention.Operand q = Attention.Operand.q(c.qkv, (int) d, (int) t);
        Attention.Operand dq = Attention.Operand.q(dqkv, (int) d, (int) t);
        Attention.Operand dctxOp = Attention.Operand.rows(dctx, (int) d, (int) t);
        double alpha = 1.0 / Math.sqrt(dh);
        if (pl == 0) {
            Attention.contextBackward(attn, Attention.Operand.v(c.qkv, (int) d, (int) t), dctxOp, ds,
                Attention.Operand.v(dqkv, (int) d, (int) t), shape, temp);         // dA into ds, dV into dqkv
            tm = OpTimer.lap(Group.ATTENTION_MATMUL, tm);
            BlockKernels.softmaxBackward(c.probs, ds, c.attnDrop);          // ds becomes dL/dscores
            tm = OpTimer.lap(Group.SOFTMAX, tm);
            Attention.scoresBackward(ds, q, Attention.Operand.k(c.qkv, (int) d, (int) t), dq,
                Attention.Operand.k(dqkv, (int) d, (int) t), shape, alpha, temp);   // dQ, dK into dqkv
        } else {
            INDArray dkv = create(mgr, work, b * tk, 2 * d);
            Attention.contextBackward(attn, new Attention.Operand(c.kv, d, (int) (2 * d), (int) tk), dctxOp, ds,
                new Attention.Operand(dkv, d, (int) (2 * d), (int) tk), shape, temp);
            tm = OpTimer.lap(Group.ATTENTION_MATMUL, tm);
            BlockKernels.softmaxBackward(c.probs, ds, c.attnDrop);
            tm = OpTimer.lap(Group.SOFTMAX, tm);
            Attention.scoresBackward(ds, q, new Attention.Operand(c.kv, 0, (int) (2 * d), (int) tk), dq,
                new Attention.Operand(dkv, 0, (int) (2 * d), (int) tk), shape, alpha, temp);
            // real rows' key and value gradients into dqkv; the prefix rows summed over the batch
            INDArray dPrefix = create(mgr, work, pl, 2 * d);
            dPrefix.assign(0);
            for (long i = 0; i < b; i++) {
                dqkv.get(NDArrayIndex.interval(i * t, (i + 1) * t), NDArrayIndex.interval(d, 3 * d))
                    .assign(dkv.get(NDArrayIndex.interval(i * tk + pl, (i + 1) * tk), NDArrayIndex.all()));
                dPrefix.addi(dkv.get(NDArrayIndex.interval(i * tk, i * tk + pl), NDArrayIndex.all()));
            }
            prefixBackward(c, dPrefix, mgr);
        }
        tm = OpTimer.lap(Group.ATTENTION_MATMUL, tm);
        if (trains(TransformerBlock.B_QKV)) {
            BlockKernels.columnSums(dqkv, grad(TransformerBlock.B_QKV));
        }
        if (trains(TransformerBlock.W_QKV)) {
            MatrixThreads.gemm(c.h1, dqkv, grad(TransformerBlock.W_QKV), true, false, 1.0, 0.0);
        }
        boolean below = conf.getInputGradient();
        boolean ln1 = trains(TransformerBlock.LN1_GAIN) || trains(TransformerBlock.LN1_BIAS);
        INDArray dh1 = null;
        if (below || ln1) {
            dh1 = create(mgr, work, n, d);
            MatrixThreads.gemm(dqkv, param(TransformerBlock.W_QKV), dh1, false, true, 1.0, 0.0);
        }
        loraBackward(0, c, dqkv, dh1, mgr);
        tm = OpTimer.lap(Group.LINEAR, tm);

        INDArray dxOut = create(mgr, ArrayType.ACTIVATION_GRAD, b, t, d);
        if (below || ln1) {
            Kernels.layerNormBackward(dh1, c.xhat1, c.rstd1, param(TransformerBlock.LN1_GAIN), dx2,
                dxOut.reshape('c', n, d), gradOrScratch(TransformerBlock.LN1_GAIN, mgr),
                gradOrScratch(TransformerBlock.LN1_BIAS, mgr));
        }
        if (!below) {
            dxOut.assign(0);
        }
        OpTimer.lap(Group.LAYER_NORM, tm);
        return new Pair<>(gradients(), dxOut);
    }

    /** The prefix parameter's gradient, or through the reparameterisation MLP. */
    private void prefixBackward(Cache c, INDArray dPrefix, LayerWorkspaceMgr mgr) {
        TransformerBlock conf = layerConf();
        if (conf.getPrefixProjection() == 0) {
            if (trains(TransformerBlock.PREFIX)) {
                grad(TransformerBlock.PREFIX).assign(dPrefix);
            }
            return;
        }
        long pl = conf.getPrefixLength();
        long hid = conf.getPrefixProjection();
        ArrayType work = ArrayType.BP_WORKING_MEM;
        grad(TransformerBlock.PREFIX_B2).assign(dPrefix.sum(0).reshape(1, 2 * conf.getDModel()));
        MatrixThreads.gemm(c.prefixHidden, dPrefix, grad(TransformerBlock.PREFIX_W2), true, false, 1.0, 0.0);
        INDArray dHidden = create(mgr, work, pl, hid);
        MatrixThreads.gemm(dPrefix, param(TransformerBlock.PREFIX_W2), dHidden, false, true, 1.0, 0.0);
        // tanh' = 1 - tanh^2
        INDArray dPre = dHidden.mul(c.prefixHidden.mul(c.prefixHidden).rsubi(1.0));
        grad(TransformerBlock.PREFIX_B1).assign(dPre.sum(0).reshape(1, hid));
        MatrixThreads.gemm(param(TransformerBlock.PREFIX_E), dPre, grad(TransformerBlock.PREFIX_W1), true, false, 1.0,
            0.0);
        MatrixThreads.gemm(dPre, param(TransformerBlock.PREFIX_W1), grad(TransformerBlock.PREFIX_E), false, true, 1.0,
            0.0);
    }

    private Gradient gradients() {
        Gradient grads = new DefaultGradient();
        for (ParamSpec s : layerConf().paramSpecs()) {
            grads.gradientForVariable().put(s.key(), grad(s.key()));
        }
        return grads;
    }

    /** The causal bias [1, T (P + T)]: a query sees the prefix and the real keys up to itself. Detached. */
    private void ensureCausalBias(long t, long pl) {
        if (layerConf().getCausal() && (causalBias == null || biasT != t || biasP != pl
            || causalBias.dataType() != dataType)) {
            long tk = pl + t;
            double[] bias = new double[Math.toIntExact(t * tk)];
            for (int i = 0; i < t; i++) {
                for (int j = i + 1; j < t; j++) {
                    bias[(int) (i * tk + pl + j)] = MASKED;
                }
            }
            causalBias = detached(bias, t * tk);
            biasT = t;
            biasP = pl;
        }
    }

    /** The bias as [1, n] of the network's type, outside any workspace (the layer keeps it). */
    @SuppressWarnings("try")
    private INDArray detached(double[] bias, long n) {
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            return Nd4j.createFromArray(bias).castTo(dataType).reshape(1, n);
        }
    }

    @Override
    public void clear() {
        super.clear();
        cache = null;
    }
}
