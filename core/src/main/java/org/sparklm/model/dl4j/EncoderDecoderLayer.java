package org.sparklm.model.dl4j;

import java.util.function.Function;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastAddOp;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Sigmoid;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@link EncoderDecoder}: the forward pass and its hand-written gradient, built from the kernels of the decoder-only
 * block ({@link Kernels}, {@link BlockKernels}, {@link Attention}, {@link MatrixThreads}). The residual streams are
 * {@code [B T, d]} rows, updated in place; each sublayer keeps what its backward pass needs. As for the LM head, the
 * training computation (forward, loss, backward) runs once, in the backward pass; {@link #activate} is inference.
 */
final class EncoderDecoderLayer extends OutputLayerImpl<EncoderDecoder> {

    /** Added to masked attention scores before the softmax (exp underflows to exactly 0). */
    private static final double MASKED = -1e9;

    /** The packed input, unpacked. */
    private record Batch(int b, int te, int td, int[] encIds, int[] decIds, double[] encMask, double[] decMask) {
    }

    /** What one sublayer (self-attention, cross-attention or MLP) keeps for its backward pass. */
    private static final class Sub {
        INDArray xhat, rstd, h;          // LayerNorm of the branch input [N, d], [N, 1], [N, d]
        INDArray qkv;                    // self: [N, 3d]; cross: queries [Nd, d]
        INDArray kv;                     // cross: keys and values of the encoder output [Ne, 2d]
        INDArray probs;                  // [B, H, Tq, Tk]
        INDArray ctx;                    // [N, d]
        INDArray f, sig, g;              // MLP: pre-activation, GELU's sigmoid, GELU output [N, dff]
    }

    /** One pass: the workspace and array type for its arrays, and (training) the kept sublayers. */
    private final class Pass {
        final LayerWorkspaceMgr mgr;
        final ArrayType type;
        final boolean keep;
        final Batch in;
        Sub[][] enc;                     // [layer][self, mlp]
        Sub[][] dec;                     // [layer][self, cross, mlp]
        INDArray encOut, xhatE, rstdE;   // final encoder LayerNorm
        INDArray decOut, xhatD, rstdD;   // final decoder LayerNorm
        INDArray encBias, decBias;       // [1, H Te Te], [1, H Td Td] (the decoder's with the causal mask)
        INDArray pad;                    // [B, Te]: 0 for tokens, MASKED for padding
        int[] encBuckets, decBuckets;

        Pass(LayerWorkspaceMgr mgr, ArrayType type, boolean keep, Batch in) {
            this.mgr = mgr;
            this.type = type;
            this.keep = keep;
            this.in = in;
        }

        INDArray a(long... shape) {
            return create(mgr, type, shape);
        }

        INDArray zeros(long... shape) {
            return EncoderDecoderLayer.this.zeros(mgr, type, shape);      // zero-filled allocation, no op
        }

        Function<long[], INDArray> temp() {
            return sh -> create(mgr, type, sh);
        }
    }

    EncoderDecoderLayer(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    // ---------------------------------------------------------------- input

    private Batch unpack() {
        EncoderDecoder c = layerConf();
        if (input.rank() != 2 || input.size(1) < 5) {
            throw new IllegalArgumentException("encoder-decoder input must be the packed [batch, 1 + 2 Te + 2 Td] rows"
                + " of Seq2SeqInputs, got " + java.util.Arrays.toString(input.shape()));
        }
        int b = (int) input.size(0);
        int w = (int) input.size(1);
        double[] v = input.castTo(DataType.DOUBLE).dup('c').reshape((long) b * w).toDoubleVector();
        int te = (int) v[0];
        int td = (w - 1 - 2 * te) / 2;
        if (te < 1 || td < 1 || 1 + 2 * te + 2 * td != w) {
            throw new IllegalArgumentException("bad packed encoder-decoder input: width " + w + ", Te " + te);
        }
        if (te > c.getEncoderContext() || td > c.getDecoderContext()) {
            throw new IllegalArgumentException("encoder input of " + te + " and decoder input of " + td
                + " tokens exceed the contexts " + c.getEncoderContext() + " and " + c.getDecoderContext());
        }
        int[] ei = new int[b * te];
        int[] di = new int[b * td];
        double[] em = new double[b * te];
        double[] dm = new double[b * td];
        int vocab = c.getVocabSize();
        for (int i = 0; i < b; i++) {
            int o = i * w;
            for (int j = 0; j < te; j++) {
                ei[i * te + j] = id(v[o + 1 + j], vocab);
                em[i * te + j] = v[o + 1 + te + td + j];
            }
            for (int j = 0; j < td; j++) {
                di[i * td + j] = id(v[o + 1 + te + j], vocab);
                dm[i * td + j] = v[o + 1 + 2 * te + td + j];
            }
        }
        return new Batch(b, te, td, ei, di, em, dm);
    }

    private static int id(double x, int vocab) {
        int id = (int) Math.round(x);
        if (id < 0 || id >= vocab) {
            throw new IllegalArgumentException("token id " + id + " outside the vocabulary [0, " + vocab + ")");
        }
        return id;
    }

    // ---------------------------------------------------------------- helpers

    private static double[] doubles(INDArray a) {
        if (Kernels.isDouble(a)) {
            return Kernels.readDoubles(a);
        }
        float[] f = Kernels.readFloats(a);
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    private static void write(INDArray a, double[] v) {
        if (Kernels.isDouble(a)) {
            Kernels.writeDoubles(a, v);
            return;
        }
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
        }
        Kernels.writeFloats(a, f);
    }

    /** Rows of the embedding table: [ids.length, d]. */
    private INDArray embed(Pass p, int[] ids) {
        INDArray x = p.a(ids.length, layerConf().getDModel());
        Kernels.gatherRows(param(EncoderDecoder.EMBED), ids, x);
        return x;
    }

    /** The relative bias of a stack as [1, H Tq Tk] (plus the causal mask for the decoder), and its buckets. */
    private INDArray bias(Pass p, int t, boolean bidirectional, String table, int[][] bucketsOut) {
        EncoderDecoder c = layerConf();
        int h = c.getHeads();
        int[] bk = RelativePositions.buckets(t, t, bidirectional, c.getBuckets(), c.getMaxDistance());
        double[] tab = doubles(param(table));                       // [buckets, H]
        double[] out = new double[h * t * t];
        for (int hh = 0; hh < h; hh++) {
            for (int q = 0; q < t; q++) {
                for (int k = 0; k < t; k++) {
                    double v = tab[bk[q * t + k] * h + hh];
                    if (!bidirectional && k > q) {
                        v += MASKED;
                    }
                    out[(hh * t + q) * t + k] = v;
                }
            }
        }
        INDArray r = p.a(1, (long) h * t * t);
        write(r, out);
        bucketsOut[0] = bk;
        return r;
    }

    /** The gradient of a stack's relative table from the summed gradient of its bias [1, H T T]. */
    private void biasBackward(INDArray dBias, int[] bk, int t, String table) {
        int h = layerConf().getHeads();
        double[] db = doubles(dBias);
        double[] g = new double[layerConf().getBuckets() * h];
        for (int hh = 0; hh < h; hh++) {
            for (int i = 0; i < t * t; i++) {
                g[bk[i] * h + hh] += db[hh * t * t + i];
            }
        }
        write(grad(table), g);
    }

    // ---------------------------------------------------------------- sublayers: forward

    /** x += W_o SelfAttention(LN(x)) + b_o; x [B T, d]. */
    private Sub selfAttention(Pass p, INDArray x, String k, int t, INDArray bias, INDArray pad) {
        EncoderDecoder c = layerConf();
        int b = p.in.b();
        int d = c.getDModel();
        int h = c.getHeads();
        int dh = d / h;
        Sub s = new Sub();
        layerNorm(p, s, x, k + TransformerBlock.LN1_GAIN, k + TransformerBlock.LN1_BIAS);
        s.qkv = linear(p, s.h, k + TransformerBlock.W_QKV, k + TransformerBlock.B_QKV, 3 * d);
        attend(p, s, new Attention.Shape(b, h, t, t, dh), Attention.Operand.q(s.qkv, d, t),
            Attention.Operand.k(s.qkv, d, t), Attention.Operand.v(s.qkv, d, t), bias, pad);
        residual(p, s.ctx, k + TransformerBlock.W_OUT, k + TransformerBlock.B_OUT, x);
        return s;
    }

    /** y += W_co CrossAttention(LN(y), encoder output) + b_co; y [B Td, d], enc [B Te, d]. */
    private Sub crossAttention(Pass p, INDArray y, INDArray enc, String k) {
        EncoderDecoder c = layerConf();
        int b = p.in.b();
        int te = p.in.te();
        int td = p.in.td();
        int d = c.getDModel();
        int h = c.getHeads();
        int dh = d / h;
        Sub s = new Sub();
        layerNorm(p, s, y, k + EncoderDecoder.LNC_GAIN, k + EncoderDecoder.LNC_BIAS);
        s.qkv = linear(p, s.h, k + EncoderDecoder.W_Q, k + EncoderDecoder.B_Q, d);
        s.kv = linear(p, enc, k + EncoderDecoder.W_KV, k + EncoderDecoder.B_KV, 2 * d);
        attend(p, s, new Attention.Shape(b, h, td, te, dh), Attention.Operand.rows(s.qkv, d, td),
            new Attention.Operand(s.kv, 0, 2 * d, te), new Attention.Operand(s.kv, d, 2 * d, te), null, p.pad);
        residual(p, s.ctx, k + EncoderDecoder.W_CROSS_OUT, k + EncoderDecoder.B_CROSS_OUT, y);
        return s;
    }

    /** {@code x W + b} as a new [N, width] array; x [N, d]. */
    private INDArray linear(Pass p, INDArray x, String w, String bias, int width) {
        INDArray out = p.a(x.size(0), width);
        MatrixThreads.gemm(x, param(w), out, false, false, 1.0, 0.0);
        BlockKernels.addBias(out, param(bias));
        return out;
    }

    /**
     * Attention of one sublayer: {@code s.probs = softmax(Q K^T / sqrt(d_head) + bias + pad)} (bias [1, H Tq Tk]
     * added to every batch row, pad [B, Tk] to every head and query; either may be null) and the context
     * {@code s.ctx = probs V} as [B Tq, d] rows.
     */
    private void attend(Pass p, Sub s, Attention.Shape shape, Attention.Operand q, Attention.Operand k,
                        Attention.Operand v, INDArray bias, INDArray pad) {
        int b = shape.b();
        int h = shape.h();
        int d = h * shape.dh();
        s.probs = p.a(b, h, shape.tq(), shape.tk());
        Attention.scores(q, k, s.probs, shape, 1.0 / Math.sqrt(shape.dh()), p.temp());
        if (bias != null) {
            s.probs.reshape('c', b, (long) h * shape.tq() * shape.tk()).addiRowVector(bias);
        }
        if (pad != null) {
            Nd4j.getExecutioner().exec(new BroadcastAddOp(s.probs, pad, s.probs, 0, 3));
        }
        Nd4j.exec(new SoftMax(s.probs, s.probs, -1));
        s.ctx = p.a((long) b * shape.tq(), d);
        Attention.context(s.probs, v, Attention.Operand.rows(s.ctx, d, shape.tq()), shape, p.temp());
    }

    /** The residual update {@code x += a W + b} of a branch output a [N, width]. */
    private void residual(Pass p, INDArray a, String w, String bias, INDArray x) {
        INDArray m = p.a(x.size(0), x.size(1));
        MatrixThreads.gemm(a, param(w), m, false, false, 1.0, 0.0);
        BlockKernels.residual(x, m, param(bias), null, x);
    }

    /** x += W_2 GELU(W_1 LN(x) + b_1) + b_2. */
    private Sub mlp(Pass p, INDArray x, String k) {
        long n = x.size(0);
        long dff = layerConf().getDFf();
        Sub s = new Sub();
        layerNorm(p, s, x, k + TransformerBlock.LN2_GAIN, k + TransformerBlock.LN2_BIAS);
        s.f = p.a(n, dff);
        MatrixThreads.gemm(s.h, param(k + TransformerBlock.W_FC), s.f, false, false, 1.0, 0.0);
        s.sig = p.a(n, dff);
        s.g = p.a(n, dff);
        BlockKernels.geluInput(s.f, param(k + TransformerBlock.B_FC), s.sig);
        Nd4j.exec(new Sigmoid(s.sig, s.sig));
        s.f.mul(s.sig, s.g);
        residual(p, s.g, k + TransformerBlock.W_PROJ, k + TransformerBlock.B_PROJ, x);
        return s;
    }

    private void layerNorm(Pass p, Sub s, INDArray x, String gain, String bias) {
        long n = x.size(0);
        long d = x.size(1);
        s.h = p.a(n, d);
        s.xhat = p.a(n, d);
        s.rstd = p.a(n, 1);
        Kernels.layerNorm(x, param(gain), param(bias), s.h, s.xhat, s.rstd, layerConf().getLayerNormEps());
    }

    // ---------------------------------------------------------------- the whole forward pass

    /** Runs both stacks; leaves the final decoder states in {@code p.decOut} [B Td, d]. */
    private void forward(Pass p) {
        forwardEncoder(p);
        forwardDecoder(p);
    }

    /**
     * The encoder's final states {@code [B Te, d]} for a packed input (tests: what the encoder sees), outside any
     * workspace.
     */
    INDArray encoderStates(INDArray packed) {
        LayerWorkspaceMgr none = LayerWorkspaceMgr.noWorkspaces();
        setInput(packed, none);
        Pass p = new Pass(none, ArrayType.FF_WORKING_MEM, false, unpack());
        forwardEncoder(p);
        return p.encOut;
    }

    /** The relative biases, the padding mask and the encoder stack: {@code p.encOut} [B Te, d]. */
    private void forwardEncoder(Pass p) {
        EncoderDecoder c = layerConf();
        Batch in = p.in;
        int b = in.b();
        int te = in.te();
        int td = in.td();
        int d = c.getDModel();
        int[][] bk = new int[1][];
        p.encBias = bias(p, te, true, EncoderDecoder.ENC_REL, bk);
        p.encBuckets = bk[0];
        p.decBias = bias(p, td, false, EncoderDecoder.DEC_REL, bk);
        p.decBuckets = bk[0];
        double[] pad = new double[b * te];
        for (int i = 0; i < pad.length; i++) {
            pad[i] = in.encMask()[i] != 0 ? 0 : MASKED;
        }
        p.pad = p.a(b, te);
        write(p.pad, pad);

        INDArray x = embed(p, in.encIds());
        p.enc = new Sub[c.getEncoderLayers()][];
        for (int i = 0; i < c.getEncoderLayers(); i++) {
            String k = EncoderDecoder.enc(i, "");
            Sub sa = selfAttention(p, x, k, te, p.encBias, p.pad);
            Sub ml = mlp(p, x, k);
            p.enc[i] = new Sub[] {sa, ml};
        }
        p.encOut = p.a((long) b * te, d);
        p.xhatE = p.a((long) b * te, d);
        p.rstdE = p.a((long) b * te, 1);
        Kernels.layerNorm(x, param(EncoderDecoder.ENC_LN_GAIN), param(EncoderDecoder.ENC_LN_BIAS), p.encOut, p.xhatE,
            p.rstdE, c.getLayerNormEps());
    }

    /** The decoder stack over {@code p.encOut}: {@code p.decOut} [B Td, d]. */
    private void forwardDecoder(Pass p) {
        EncoderDecoder c = layerConf();
        Batch in = p.in;
        int b = in.b();
        int td = in.td();
        int d = c.getDModel();
        INDArray y = embed(p, in.decIds());
        p.dec = new Sub[c.getDecoderLayers()][];
        for (int j = 0; j < c.getDecoderLayers(); j++) {
            String k = EncoderDecoder.dec(j, "");
            Sub sa = selfAttention(p, y, k, td, p.decBias, null);
            Sub ca = crossAttention(p, y, p.encOut, k);
            Sub ml = mlp(p, y, k);
            p.dec[j] = new Sub[] {sa, ca, ml};
        }
        p.decOut = p.a((long) b * td, d);
        p.xhatD = p.a((long) b * td, d);
        p.rstdD = p.a((long) b * td, 1);
        Kernels.layerNorm(y, param(EncoderDecoder.DEC_LN_GAIN), param(EncoderDecoder.DEC_LN_BIAS), p.decOut, p.xhatD,
            p.rstdD, c.getLayerNormEps());
    }

    /** Logits of the given rows [m, d] -> [m, V]: h E^T (tied) or h W_head. */
    private void logits(INDArray hs, INDArray out) {
        if (layerConf().getTied()) {
            MatrixThreads.gemm(hs, param(EncoderDecoder.EMBED), out, false, true, 1.0, 0.0);
        } else {
            MatrixThreads.gemm(hs, param(EncoderDecoder.HEAD), out, false, false, 1.0, 0.0);
        }
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr mgr) {
        assertInputSet(false);
        Pass p = new Pass(mgr, ArrayType.FF_WORKING_MEM, false, unpack());
        forward(p);
        long v = layerConf().getVocabSize();
        INDArray out = create(mgr, ArrayType.ACTIVATIONS, p.in.b(), p.in.td(), v);
        INDArray lg = out.reshape('c', (long) p.in.b() * p.in.td(), v);
        logits(p.decOut, lg);
        Nd4j.exec(new SoftMax(lg, lg, -1));
        return out;
    }

    // ---------------------------------------------------------------- loss

    private LossRows selection(Batch in) {
        int n = in.b() * in.td();
        double[] m;
        if (maskArray != null) {
            if (maskArray.length() != n) {
                throw new IllegalArgumentException("label mask must have batch * Td = " + n + " values, got shape "
                    + java.util.Arrays.toString(maskArray.shape()));
            }
            m = maskArray.castTo(DataType.DOUBLE).dup('c').reshape(n).toDoubleVector();
        } else {
            m = in.decMask();
        }
        return LossRows.of(m);
    }

    private int[] labelIds(Batch in, int[] rows) {
        if (labels == null) {
            throw new IllegalStateException("encoder-decoder: labels not set");
        }
        long n = (long) in.b() * in.td();
        if (labels.length() != n) {
            throw new IllegalArgumentException("labels must be [batch, 1, Td] with batch * Td = " + n
                + " values, got shape " + java.util.Arrays.toString(labels.shape()));
        }
        int[] all = Kernels.readInts(labels);
        int[] out = new int[rows.length];
        for (int i = 0; i < rows.length; i++) {
            out[i] = id(all[rows[i]], layerConf().getVocabSize());
        }
        return out;
    }

    private INDArray selected(Pass p, INDArray rows, LossRows sel) {
        if (sel.rows().length == rows.size(0)) {
            return rows;
        }
        INDArray hs = p.a(sel.rows().length, rows.size(1));
        Kernels.gatherRows(rows, sel.rows(), hs);
        return hs;
    }

    /** Per counted row: the cross-entropy, without gradients. */
    private double[] rowLosses(Pass p, LossRows sel) {
        int[] ids = labelIds(p.in, sel.rows());
        if (ids.length == 0) {
            return new double[0];
        }
        forward(p);
        INDArray hs = selected(p, p.decOut, sel);
        INDArray probs = p.a(hs.size(0), layerConf().getVocabSize());
        logits(hs, probs);
        Nd4j.exec(new SoftMax(probs, probs, -1));
        return Kernels.crossEntropyRows(probs, ids, false);
    }

    @Override
    public double computeScore(double fullNetRegScore, boolean training, LayerWorkspaceMgr mgr) {
        assertInputSet(false);
        if (!hasLoss()) {
            Pass p = new Pass(mgr, ArrayType.FF_WORKING_MEM, false, unpack());
            LossRows sel = selection(p.in);
            lossOf(sel.total(rowLosses(p, sel)));
        }
        score = loss + fullNetRegScore;
        return score;
    }

    @Override
    public INDArray computeScoreForExamples(double fullNetRegScore, LayerWorkspaceMgr mgr) {
        assertInputSet(false);
        Pass p = new Pass(mgr, ArrayType.FF_WORKING_MEM, false, unpack());
        LossRows sel = selection(p.in);
        int b = p.in.b();
        double[] out = sel.perExample(rowLosses(p, sel), b, p.in.td(), fullNetRegScore);
        INDArray r = create(mgr, ArrayType.ACTIVATIONS, b, 1);
        r.assign(Nd4j.createFromArray(out).reshape(b, 1).castTo(dataType));
        return r;
    }

    // ---------------------------------------------------------------- backward

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr mgr) {
        assertInputSet(true);
        EncoderDecoder c = layerConf();
        Pass p = new Pass(mgr, ArrayType.BP_WORKING_MEM, true, unpack());
        Batch in = p.in;
        int b = in.b();
        int te = in.te();
        int td = in.td();
        int d = c.getDModel();
        long ne = (long) b * te;
        long nd = (long) b * td;
        forward(p);

        // ---- loss and output projection ----
        LossRows sel = selection(in);
        int[] ids = labelIds(in, sel.rows());
        INDArray gEmbed = grad(EncoderDecoder.EMBED);
        gEmbed.assign(0);
        INDArray dDecOut = ids.length == nd ? null : p.zeros(nd, d);
        if (ids.length == 0) {
            loss = 0;
            if (!c.getTied()) {
                grad(EncoderDecoder.HEAD).assign(0);
            }
        } else {
            INDArray hs = selected(p, p.decOut, sel);
            INDArray dl = p.a(ids.length, c.getVocabSize());
            logits(hs, dl);
            Nd4j.exec(new SoftMax(dl, dl, -1));
            double[] rowLoss = Kernels.crossEntropyRows(dl, ids, true);   // dl becomes dL/dlogits
            double total = 0;
            for (int i = 0; i < ids.length; i++) {
                total += sel.weights()[i] * rowLoss[i];
            }
            loss = total;
            double scale = 1.0;
            if (sel.uniform()) {
                scale = sel.weights()[0];
            } else {
                Kernels.scaleRows(dl, Nd4j.createFromArray(sel.weights()).castTo(dataType), dl);
            }
            INDArray dhs = p.a(ids.length, d);
            if (c.getTied()) {
                MatrixThreads.gemm(dl, hs, gEmbed, true, false, scale, 0.0);                      // [V, d]
                MatrixThreads.gemm(dl, param(EncoderDecoder.EMBED), dhs, false, false, scale, 0.0);
            } else {
                MatrixThreads.gemm(hs, dl, grad(EncoderDecoder.HEAD), true, false, scale, 0.0);
                MatrixThreads.gemm(dl, param(EncoderDecoder.HEAD), dhs, false, true, scale, 0.0);
            }
            if (ids.length == nd) {
                dDecOut = dhs;
            } else {
                Kernels.scatterRows(dhs, sel.rows(), dDecOut);
            }
        }
        lossOf(loss);

        // ---- decoder ----
        INDArray dy = p.a(nd, d);
        Kernels.layerNormBackward(dDecOut, p.xhatD, p.rstdD, param(EncoderDecoder.DEC_LN_GAIN), null, dy,
            grad(EncoderDecoder.DEC_LN_GAIN), grad(EncoderDecoder.DEC_LN_BIAS));
        INDArray dEnc = p.zeros(ne, d);
        INDArray dDecBias = p.zeros(1, (long) c.getHeads() * td * td);
        for (int j = c.getDecoderLayers() - 1; j >= 0; j--) {
            String k = EncoderDecoder.dec(j, "");
            mlpBackward(p, p.dec[j][2], dy, k);
            crossBackward(p, p.dec[j][1], dy, p.encOut, dEnc, k);
            selfBackward(p, p.dec[j][0], dy, k, td, dDecBias);
        }
        biasBackward(dDecBias, p.decBuckets, td, EncoderDecoder.DEC_REL);

        // ---- encoder ----
        INDArray dx = p.a(ne, d);
        Kernels.layerNormBackward(dEnc, p.xhatE, p.rstdE, param(EncoderDecoder.ENC_LN_GAIN), null, dx,
            grad(EncoderDecoder.ENC_LN_GAIN), grad(EncoderDecoder.ENC_LN_BIAS));
        INDArray dEncBias = p.zeros(1, (long) c.getHeads() * te * te);
        for (int i = c.getEncoderLayers() - 1; i >= 0; i--) {
            String k = EncoderDecoder.enc(i, "");
            mlpBackward(p, p.enc[i][1], dx, k);
            selfBackward(p, p.enc[i][0], dx, k, te, dEncBias);
        }
        biasBackward(dEncBias, p.encBuckets, te, EncoderDecoder.ENC_REL);

        // ---- the shared embedding: both inputs (and the tied output projection above) ----
        double[] ge = doubles(gEmbed);
        double[] gx = doubles(dx);
        double[] gy = doubles(dy);
        scatterAdd(ge, in.encIds(), gx, d);
        scatterAdd(ge, in.decIds(), gy, d);
        write(gEmbed, ge);

        Gradient g = new DefaultGradient();
        for (ParamSpec s : c.paramSpecs()) {
            g.gradientForVariable().put(s.key(), grad(s.key()));
        }
        INDArray dIn = create(mgr, ArrayType.ACTIVATION_GRAD, input.shape());   // ids: no gradient
        dIn.assign(0);
        return new Pair<>(g, dIn);
    }

    private static void scatterAdd(double[] table, int[] ids, double[] rows, int d) {
        for (int i = 0; i < ids.length; i++) {
            int o = ids[i] * d;
            int r = i * d;
            for (int j = 0; j < d; j++) {
                table[o + j] += rows[r + j];
            }
        }
    }

    /**
     * Through {@link #attend}: from the context's gradient dctx [B Tq, d] to those of the queries, keys and values
     * (into dq, dk, dv); with dBias, also adds the scores' gradient summed over the batch [1, H Tq Tk] to it.
     */
    private void attendBackward(Pass p, Sub s, Attention.Shape shape, INDArray dctx, Attention.Operand q,
                                Attention.Operand k, Attention.Operand v, Attention.Operand dq, Attention.Operand dk,
                                Attention.Operand dv, INDArray dBias) {
        int d = shape.h() * shape.dh();
        INDArray ds = p.a(shape.b(), shape.h(), shape.tq(), shape.tk());
        Attention.contextBackward(s.probs, v, Attention.Operand.rows(dctx, d, shape.tq()), ds, dv, shape, p.temp());
        BlockKernels.softmaxBackward(s.probs, ds, null);
        if (dBias != null) {
            dBias.addi(ds.reshape('c', shape.b(), (long) shape.h() * shape.tq() * shape.tk()).sum(true, 0));
        }
        Attention.scoresBackward(ds, q, k, dq, dk, shape, 1.0 / Math.sqrt(shape.dh()), p.temp());
    }

    /** Through a sublayer's LayerNorm: adds the gradient of its input to the residual stream's dx (in place). */
    private void layerNormBackward(Sub s, INDArray dh, INDArray dx, String gain, String bias) {
        Kernels.layerNormBackward(dh, s.xhat, s.rstd, param(gain), dx, dx, grad(gain), grad(bias));
    }

    /**
     * Through {@code out = x W + b}, given dOut: the bias's and the weight's gradients, and
     * {@code dx = beta dx + dOut W^T} (beta 1 accumulates, as for the encoder output that every cross-attention reads).
     */
    private void linearBackward(INDArray x, INDArray dOut, String w, String bias, INDArray dx, double beta) {
        BlockKernels.columnSums(dOut, grad(bias));
        linearWeightBackward(x, dOut, w, dx, beta);
    }

    /** {@link #linearBackward} for a weight whose bias gradient is already taken (GELU's backward sums it). */
    private void linearWeightBackward(INDArray x, INDArray dOut, String w, INDArray dx, double beta) {
        MatrixThreads.gemm(x, dOut, grad(w), true, false, 1.0, 0.0);
        MatrixThreads.gemm(dOut, param(w), dx, false, true, 1.0, beta);
    }

    /** Through x += W_2 GELU(W_1 LN(x) + b_1) + b_2: dx (in place) and the parameters' gradients. */
    private void mlpBackward(Pass p, Sub s, INDArray dx, String k) {
        long n = dx.size(0);
        long dff = layerConf().getDFf();
        INDArray dg = p.a(n, dff);
        linearBackward(s.g, dx, k + TransformerBlock.W_PROJ, k + TransformerBlock.B_PROJ, dg, 0.0);
        BlockKernels.geluBackward(s.f, s.sig, dg, dg, grad(k + TransformerBlock.B_FC));
        INDArray dh = p.a(n, dx.size(1));
        linearWeightBackward(s.h, dg, k + TransformerBlock.W_FC, dh, 0.0);
        layerNormBackward(s, dh, dx, k + TransformerBlock.LN2_GAIN, k + TransformerBlock.LN2_BIAS);
    }

    /** Through x += W_o SelfAttention(LN(x)) + b_o; adds the scores' gradient summed over the batch to dBias. */
    private void selfBackward(Pass p, Sub s, INDArray dx, String k, int t, INDArray dBias) {
        EncoderDecoder c = layerConf();
        int b = p.in.b();
        long n = (long) b * t;
        int d = c.getDModel();
        int h = c.getHeads();
        int dh = d / h;
        INDArray dctx = p.a(n, d);
        linearBackward(s.ctx, dx, k + TransformerBlock.W_OUT, k + TransformerBlock.B_OUT, dctx, 0.0);
        INDArray dqkv = p.a(n, 3L * d);
        attendBackward(p, s, new Attention.Shape(b, h, t, t, dh), dctx, Attention.Operand.q(s.qkv, d, t),
            Attention.Operand.k(s.qkv, d, t), Attention.Operand.v(s.qkv, d, t), Attention.Operand.q(dqkv, d, t),
            Attention.Operand.k(dqkv, d, t), Attention.Operand.v(dqkv, d, t), dBias);
        INDArray dhh = p.a(n, d);
        linearBackward(s.h, dqkv, k + TransformerBlock.W_QKV, k + TransformerBlock.B_QKV, dhh, 0.0);
        layerNormBackward(s, dhh, dx, k + TransformerBlock.LN1_GAIN, k + TransformerBlock.LN1_BIAS);
    }

    /** Through y += W_co CrossAttention(LN(y), enc) + b_co: dy in place, the encoder output's gradient into dEnc. */
    private void crossBackward(Pass p, Sub s, INDArray dy, INDArray enc, INDArray dEnc, String k) {
        EncoderDecoder c = layerConf();
        int b = p.in.b();
        int te = p.in.te();
        int td = p.in.td();
        long n = (long) b * td;
        int d = c.getDModel();
        int h = c.getHeads();
        int dh = d / h;
        INDArray dctx = p.a(n, d);
        linearBackward(s.ctx, dy, k + EncoderDecoder.W_CROSS_OUT, k + EncoderDecoder.B_CROSS_OUT, dctx, 0.0);
        INDArray dkv = p.a((long) b * te, 2L * d);
        INDArray dq = p.a(n, d);
        attendBackward(p, s, new Attention.Shape(b, h, td, te, dh), dctx, Attention.Operand.rows(s.qkv, d, td),
            new Attention.Operand(s.kv, 0, 2 * d, te), new Attention.Operand(s.kv, d, 2 * d, te),
            Attention.Operand.rows(dq, d, td), new Attention.Operand(dkv, 0, 2 * d, te),
            new Attention.Operand(dkv, d, 2 * d, te), null);
        linearBackward(enc, dkv, k + EncoderDecoder.W_KV, k + EncoderDecoder.B_KV, dEnc, 1.0);
        INDArray dhc = p.a(n, d);
        linearBackward(s.h, dq, k + EncoderDecoder.W_Q, k + EncoderDecoder.B_Q, dhc, 0.0);
        layerNormBackward(s, dhc, dy, k + EncoderDecoder.LNC_GAIN, k + EncoderDecoder.LNC_BIAS);
    }

    @Override
    @Deprecated
    public int numLabels() {
        return layerConf().getVocabSize();
    }
}
