package org.sparklm.train;

import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.apache.hadoop.fs.Path;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.sparklm.data.ShardManifest;
import org.sparklm.data.ShardWindows;
import org.sparklm.io.SerializableConf;

/**
 * The language-model minibatches of a run, as a pure function of (seed, global step, worker): global step {@code s}
 * draws the W B windows at {@link ShardWindows#randomPosition}(seed, s, 0, k) for k = 0..W B - 1 of the training
 * shards, and worker {@code w} takes k = w B .. (w + 1) B - 1. So the global batch of a step does not depend on how it
 * is split: one worker of batch 2B sees exactly what two workers of batch B see together (what makes averaging
 * comparable with its synchronous equivalent, step by step). The windows are read with positioned reads wherever
 * the object lives (a Spark executor, the driver, a test), so no data passes through the driver and a resumed run sees exactly the data the uninterrupted run would have. Masked-LM
 * masks depend on (seed, epoch, window index): drawn again every epoch (dynamic masking) and reproduced on resume.
 * Encoder-decoder objectives (span, prefix-lm; {@link Seq2SeqSpec}) draw each window's corruption or split afresh
 * at every draw, from (seed, window index) where the window index {@code (step x workers + w) x B + b} is unique to
 * the draw; their minibatches are {@link Seq2SeqBatches}.
 * Validation batches are the first consecutive windows of a split, with fixed masks (encoder-decoder objectives: from
 * the fixed {@link #EVAL_CORRUPTION_SEED}, whatever the run's seed, so evaluations compare across rounds and runs).
 */
public final class LmMinibatches implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The seed of the validation corruptions and splits of encoder-decoder objectives (not the run's seed). */
    public static final long EVAL_CORRUPTION_SEED = 0x7E57_5EEDL;

    private final String shardsDir;
    private final ShardManifest manifest;
    private final Objective objective;
    private final int window;       // tokens per window: context + 1 (clm: inputs and the shifted labels) or context
    private final int batch;
    private final int workers;
    private final long seed;
    private final int maskId;
    private final int specials;
    private final SerializableConf conf;
    private final Seq2SeqSpec seq2seq;   // span, prefix-lm; else null

    /**
     * @param context  the model's context length
     * @param batch    windows per minibatch
     * @param workers  replicas trained in parallel (window indices of masked LM count over all of them)
     * @param maskId   the [MASK] id (masked LM)
     * @param specials number of special-token ids (never chosen or used as random replacements)
     */
    public LmMinibatches(String shardsDir, ShardManifest manifest, Objective objective, int context, int batch,
                         int workers, long seed, int maskId, int specials, SerializableConf conf) {
        this(shardsDir, manifest, objective, context, batch, workers, seed, maskId, specials, conf, null);
    }

    /**
     * Any objective; an encoder-decoder one ({@link Objective#isSeq2Seq}) needs its {@code seq2seq} spec (which holds
     * the encoder and decoder contexts; {@code context} is then unused), the others none.
     */
    public LmMinibatches(String shardsDir, ShardManifest manifest, Objective objective, int context, int batch,
                         int workers, long seed, int maskId, int specials, SerializableConf conf,
                         Seq2SeqSpec seq2seq) {
        if (objective.isSeq2Seq() != (seq2seq != null)) {
            throw new IllegalArgumentException(objective.isSeq2Seq()
                ? "the " + objective.key() + " objective needs an encoder-decoder model (its encoder and decoder"
                    + " contexts)"
                : "the " + objective.key() + " objective takes no encoder-decoder spec");
        }
        if (seq2seq != null && seq2seq.objective() != objective) {
            throw new IllegalArgumentException("a " + seq2seq.objective().key() + " spec for the " + objective.key()
                + " objective");
        }
        this.shardsDir = shardsDir;
        this.manifest = manifest;
        this.objective = objective;
        this.window = seq2seq != null ? seq2seq.window() : objective == Objective.CLM ? context + 1 : context;
        this.batch = batch;
        this.workers = workers;
        this.seed = seed;
        this.maskId = maskId;
        this.specials = specials;
        this.conf = conf;
        this.seq2seq = seq2seq;
    }

    public Objective objective() {
        return objective;
    }

    /** The encoder-decoder spec (span, prefix-lm), else null. */
    public Seq2SeqSpec seq2seq() {
        return seq2seq;
    }

    /** Windows per minibatch. */
    public int batch() {
        return batch;
    }

    public long seed() {
        return seed;
    }

    /** Tokens per window read from the shards. */
    public int window() {
        return window;
    }

    public int workers() {
        return workers;
    }

    /**
     * Tokens one global step consumes across all workers (the inputs, not the extra label token; encoder-decoder: the
     * raw windows).
     */
    public long tokensPerStep() {
        return (long) workers * batch * (objective == Objective.CLM ? window - 1 : window);
    }

    /** The epoch a global step falls in (for MLM's dynamic masking): tokens before it over the training tokens. */
    public long epochOf(long step) {
        long train = Math.max(1, manifest.tokens("train"));
        return step * tokensPerStep() / train;
    }

    /** Start positions of training windows (0 when no window fits). */
    public long trainingPositions() throws IOException {
        try (ShardWindows sw = open("train")) {
            return sw.positions();
        }
    }

    private ShardWindows open(String split) throws IOException {
        return ShardWindows.open(conf.get(), new Path(shardsDir), manifest, split, window, false);
    }

    /**
     * Worker {@code w}'s minibatches for global steps {@code [from, from + count)}. ND4J's random generator (dropout)
     * is seeded from (seed, from, w) first, so a worker's round is reproducible.
     */
    public List<MultiDataSet> minibatches(int w, long from, int count) throws IOException {
        Nd4j.getRandom().setSeed(seed * 31 + from * 1_000_003L + w);
        List<MultiDataSet> out = new ArrayList<>(count);
        try (ShardWindows sw = open("train")) {
            MlmMasker masker = objective == Objective.MLM ? new MlmMasker(manifest.vocabSize(), specials, maskId, seed)
                : null;
            for (int h = 0; h < count; h++) {
                long step = from + h;
                List<int[]> windows = new ArrayList<>(batch);
                long[] index = new long[batch];
                for (int b = 0; b < batch; b++) {
                    windows.add(sw.window(ShardWindows.randomPosition(seed, step, 0, w * batch + b, sw.positions())));
                    index[b] = (step * workers + w) * batch + b;
                }
                out.add(batchOf(windows, index, epochOf(step), masker, seed));
            }
        }
        return out;
    }

    /**
     * Evaluation minibatches of a split: consecutive windows from its start, at most {@code maxWindows}; for MLM
     * masked with a fixed seed and epoch 0, so every evaluation sees the same masks. Empty when the split has no
     * shard.
     */
    public List<MultiDataSet> evaluationBatches(String split, int maxWindows) throws IOException {
        List<MultiDataSet> out = new ArrayList<>();
        if (manifest.shards(split).isEmpty()) {
            return out;
        }
        try (ShardWindows sw = open(split)) {
            MlmMasker masker = objective == Objective.MLM
                ? new MlmMasker(manifest.vocabSize(), specials, maskId, seed + 1) : null;
            Iterator<int[]> it = sw.sequential(maxWindows);
            long n = 0;
            while (it.hasNext()) {
                List<int[]> windows = new ArrayList<>(batch);
                long[] index = new long[batch];
                while (it.hasNext() && windows.size() < batch) {
                    index[windows.size()] = n++;
                    windows.add(it.next());
                }
                long[] used = Arrays.copyOf(index, windows.size());
                out.add(batchOf(windows, used, 0, masker, EVAL_CORRUPTION_SEED));
            }
        }
        return out;
    }

    /**
     * The minibatch of windows for this objective: clm as they are, mlm masked by (epoch, index[i]), encoder-decoder
     * corrupted or split by (drawSeed, index[i]).
     */
    private MultiDataSet batchOf(List<int[]> windows, long[] index, long epoch, MlmMasker masker, long drawSeed) {
        if (seq2seq != null) {
            return seq2seqBatch(windows, index, drawSeed);
        }
        return objective == Objective.CLM ? LmBatches.clm(windows, -1)
            : LmBatches.mlm(windows, index, epoch, masker, -1);
    }

    /** The encoder-decoder minibatch of windows: window i corrupted or split with the generator of (drawSeed, index[i]). */
    private MultiDataSet seq2seqBatch(List<int[]> windows, long[] index, long drawSeed) {
        List<Seq2SeqBatches.Example> ex = new ArrayList<>(windows.size());
        for (int i = 0; i < windows.size(); i++) {
            ex.add(seq2seq.example(windows.get(i), Seq2SeqSpec.rng(drawSeed, index[i])));
        }
        return seq2seq.batch(ex);
    }
}
