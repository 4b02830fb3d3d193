package org.sparklm.jobs;

import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.hadoop.fs.Path;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.sparklm.data.ShardManifest;
import org.sparklm.data.ShardWindows;
import org.sparklm.train.LmBatches;
import org.sparklm.train.MlmMasker;
import org.sparklm.train.Objective;

/**
 * The minibatches of one worker in one averaging round, made on the executor from the shards (positioned reads; no
 * data passes through the driver). Minibatch {@code h} of worker {@code w} in a round starting at global step
 * {@code s0} holds the windows at {@link ShardWindows#randomPosition}(seed, s0 + h, w, 0..B-1): a pure function of the
 * seed and the global step, so a resumed run sees exactly the data the uninterrupted run would have.
 */
final class TrainingData implements Serializable {
    private static final long serialVersionUID = 1L;

    final String shardsDir;
    final ShardManifest manifest;
    final Objective objective;
    final int window;       // tokens per window: context + 1 (clm) or context (mlm)
    final int batch;
    final int workers;
    final long seed;
    final int maskId;
    final int specials;
    final int vocab;
    final HadoopConf conf;

    TrainingData(String shardsDir, ShardManifest manifest, Objective objective, int context, int batch, int workers,
                 long seed, int maskId, int specials, HadoopConf conf) {
        this.shardsDir = shardsDir;
        this.manifest = manifest;
        this.objective = objective;
        this.window = objective == Objective.CLM ? context + 1 : context;
        this.batch = batch;
        this.workers = workers;
        this.seed = seed;
        this.maskId = maskId;
        this.specials = specials;
        this.vocab = manifest.vocabSize();
        this.conf = conf;
    }

    /** Tokens one global step consumes across all workers (the inputs, not the extra label token). */
    long tokensPerStep() {
        return (long) workers * batch * (objective == Objective.CLM ? window - 1 : window);
    }

    /** The epoch a global step falls in (for MLM's dynamic masking): tokens before it over the training tokens. */
    long epochOf(long step) {
        long train = Math.max(1, manifest.tokens("train"));
        return step * tokensPerStep() / train;
    }

    /** Worker {@code w}'s minibatches for global steps {@code [from, from + count)}. */
    List<MultiDataSet> minibatches(int w, long from, int count) throws IOException {
        Nd4jDeviceBinder.bindCurrentTask(); // before this thread creates any array
        useTaskCores();
        // dropout and any other ND4J randomness on this worker: seeded from (seed, round start, worker)
        Nd4j.getRandom().setSeed(seed * 31 + from * 1_000_003L + w);
        List<MultiDataSet> out = new ArrayList<>(count);
        try (ShardWindows sw = ShardWindows.open(conf.get(), new Path(shardsDir), manifest, "train", window, false)) {
            MlmMasker masker = objective == Objective.MLM ? new MlmMasker(vocab, specials, maskId, seed) : null;
            for (int h = 0; h < count; h++) {
                long step = from + h;
                List<int[]> windows = new ArrayList<>(batch);
                long[] index = new long[batch];
                for (int b = 0; b < batch; b++) {
                    windows.add(sw.window(ShardWindows.randomPosition(seed, step, w, b, sw.positions())));
                    index[b] = (step * workers + w) * batch + b;
                }
                out.add(objective == Objective.CLM ? LmBatches.clm(windows, -1)
                    : LmBatches.mlm(windows, index, epochOf(step), masker, -1));
            }
        }
        return out;
    }

    /**
     * ND4J's native thread pool sized to the task's cores ({@code spark.task.cpus}): on a cluster, with
     * {@code spark.task.cpus} = {@code spark.executor.cores}, one training task uses all of its executor's cores; in
     * {@code local[N]} with N workers, each of the N tasks uses one core instead of all of them (oversubscription).
     * The setting is per JVM, and every task of a training job asks for the same value.
     */
    private static void useTaskCores() {
        org.apache.spark.TaskContext ctx = org.apache.spark.TaskContext.get();
        if (ctx != null && ctx.cpus() > 0 && Nd4j.getEnvironment().maxThreads() != ctx.cpus()) {
            Nd4j.getEnvironment().setMaxThreads(ctx.cpus());
            Nd4j.getEnvironment().setMaxMasterThreads(ctx.cpus());
        }
    }

    /** The validation minibatches: consecutive windows of the val split, at most {@code maxWindows}. */
    List<MultiDataSet> validation(int maxWindows) throws IOException {
        return batches("val", maxWindows);
    }

    /**
     * Evaluation minibatches of a split: consecutive windows from its start, at most {@code maxWindows}; for MLM
     * masked with a fixed seed and epoch 0, so every evaluation sees the same masks.
     */
    List<MultiDataSet> batches(String split, int maxWindows) throws IOException {
        List<MultiDataSet> out = new ArrayList<>();
        if (manifest.shards(split).isEmpty()) {
            return out;
        }
        try (ShardWindows sw = ShardWindows.open(conf.get(), new Path(shardsDir), manifest, split, window, false)) {
            MlmMasker masker = objective == Objective.MLM ? new MlmMasker(vocab, specials, maskId, seed + 1) : null;
            Iterator<int[]> it = sw.sequential(maxWindows);
            long n = 0;
            while (it.hasNext()) {
                List<int[]> windows = new ArrayList<>(batch);
                long[] index = new long[batch];
                while (it.hasNext() && windows.size() < batch) {
                    index[windows.size()] = n++;
                    windows.add(it.next());
                }
                out.add(objective == Objective.CLM ? LmBatches.clm(windows, -1)
                    : LmBatches.mlm(windows, java.util.Arrays.copyOf(index, windows.size()), 0, masker, -1));
            }
        }
        return out;
    }
}
