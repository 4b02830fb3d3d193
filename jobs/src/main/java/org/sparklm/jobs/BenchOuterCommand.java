package org.sparklm.jobs;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.sparklm.config.CommandLine;
import org.sparklm.config.Opt;
import org.sparklm.io.Json;
import org.sparklm.pretrain.PretrainConfig;
import org.sparklm.report.RoundMetrics;
import org.sparklm.train.OuterOptimizer;
import org.sparklm.train.SecondMoment;

/**
 * {@code bench-outer}: does parameter averaging cost quality, and does an outer optimizer win it back? On the same
 * shards and the same token budget, trains the synchronous equivalent (one worker, batch 2B) and two workers of batch
 * B averaging every H steps, with plain averaging and with the Nesterov outer step, for each H; prints JSON with every
 * run's final validation loss, its ratio to the synchronous run's, and the bytes sent per token trained.
 *
 * <pre>deploy/bin/bench --master local[2] outer --data runs/quickstart/shards --tokens 1000000</pre>
 *
 * All runs take the same number of global steps (the budget over 2B windows per step, rounded up to a multiple of
 * the largest H), so they see the same tokens and the same learning-rate schedule.
 */
public final class BenchOuterCommand {
    private BenchOuterCommand() {
    }

    /** The benchmark's options. */
    record Config(
        @Opt(metavar = "DIR", help = "a shard directory", required = true)
        String data,
        @Opt(metavar = "N", help = "training tokens of every run", min = 1)
        long tokens,
        @Opt(metavar = "B", help = "windows per worker per step with two workers (the synchronous run uses 2B)",
            min = 1, max = 1 << 16)
        int batch,
        @Opt(metavar = "H,...", help = "averaging frequencies H to compare, each once", min = 1, max = 1 << 24,
            distinct = true)
        List<Integer> hs,
        @Opt(metavar = "NAME|FILE", help = "model config")
        String model,
        @Opt(metavar = "KEY=VALUE,...", help = "model config overrides")
        java.util.Map<String, String> modelSet,
        @Opt(metavar = "LR", help = "peak inner learning rate (AdamW)", min = 0, max = 10)
        double lr,
        @Opt(metavar = "LR", help = "final inner learning rate", min = 0, max = 10)
        double minLr,
        @Opt(metavar = "LR", help = "the outer learning rate of the Nesterov runs", min = 1e-9, max = 10)
        double outerLr,
        @Opt(metavar = "MU", help = "the outer momentum of the Nesterov runs", min = 0, max = 0.999999)
        double outerMomentum,
        @Opt(metavar = "N", help = "validation windows of the final evaluation", min = 1, max = 1 << 24)
        int evalWindows,
        @Opt(help = "the two-worker runs keep each worker's Adam state between rounds (pretrain --keep-worker-state)")
        boolean keepWorkerState,
        @Opt(help = "Adam's second moment in the two-worker runs (pretrain --second-moment)")
        SecondMoment secondMoment,
        @Opt(help = "outer optimizers of the two-worker runs, each run at every H", distinct = true)
        List<OuterOptimizer.Kind> outers,
        @Opt(metavar = "S", help = "seed of every run")
        long seed,
        @Opt(metavar = "DIR", help = "where the runs are written (a temporary directory inside it, deleted)")
        String workDir) implements CommandLine.Checked {
        static final Config DEFAULTS = new Config(null, 1_000_000, 16, List.of(8, 32, 128), "tiny", java.util.Map.of(),
            3e-3, 3e-4, 0.7, 0.9, 512, false, SecondMoment.MEAN,
            List.of(OuterOptimizer.Kind.AVERAGE, OuterOptimizer.Kind.NESTEROV), 1234,
            System.getProperty("java.io.tmpdir"));

        Config {
            hs = hs == null ? List.of() : List.copyOf(hs);
            outers = outers == null ? List.of() : List.copyOf(outers);
        }

        @Override
        public void check() {
            if (hs.isEmpty() || outers.isEmpty()) {
                throw new IllegalArgumentException("give at least one --hs and one --outers");
            }
        }
    }

    static CommandLine<Config> commandLine() {
        return CommandLine.of(Config.class, Config.DEFAULTS, "bench-outer",
            "Compares two workers averaging every H steps, with plain averaging and with DiLoCo's Nesterov outer"
                + " step, against the synchronous equivalent (one worker, twice the batch) on the same shards and"
                + " tokens; prints JSON.");
    }

    public static void main(String[] args) throws Exception {
        Config c = commandLine().parseOrHelp(args, System.out);
        if (c == null) {
            return;
        }
        int maxH = c.hs().stream().mapToInt(Integer::intValue).max().orElseThrow();
        SparkConf conf = new SparkConf().setAppName("sparklm bench-outer");
        JobSupport.defaults(conf);
        String root = new Path(c.workDir(), "sparklm-bench-outer-" + UUID.randomUUID()).toString();
        ObjectNode out = Json.object();
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            int context = org.sparklm.model.TransformerConfig.load(c.model(), withVocab(c.modelSet())).contextLength();
            long perStep = 2L * c.batch() * context;
            long steps = (long) Math.ceil((double) c.tokens() / perStep / maxH) * maxH;
            out.put("steps", steps);
            out.put("tokens", steps * perStep);
            out.put("tokens_per_step", perStep);
            ArrayNode runs = out.putArray("runs");
            double sync = run(sc, c, root, "sync", 1, 2 * c.batch(), maxH, "average", steps, runs, Double.NaN);
            for (int h : c.hs()) {
                for (OuterOptimizer.Kind kind : c.outers()) {
                    String outer = kind.key();
                    String name = outer + (c.secondMoment() == SecondMoment.COMBINED ? "+combined" : "") + "-h" + h;
                    run(sc, c, root, name, 2, c.batch(), h, outer, steps, runs, sync);
                }
            }
        } finally {
            Path p = new Path(root);
            p.getFileSystem(new org.apache.hadoop.conf.Configuration()).delete(p, true);
        }
        System.out.println(Json.pretty().writeValueAsString(out));
    }

    private static java.util.Map<String, String> withVocab(java.util.Map<String, String> set) {
        java.util.Map<String, String> m = new java.util.HashMap<>(set);
        m.putIfAbsent("vocab_size", "2");
        return m;
    }

    private static double run(JavaSparkContext sc, Config c, String root, String name, int workers, int batch, int h,
                              String outer, long steps, ArrayNode runs, double sync) throws Exception {
        List<String> a = new ArrayList<>(List.of("--data", c.data(), "--output", root + "/" + name, "--model",
            c.model(), "--steps", Long.toString(steps), "--batch-size-per-worker", Integer.toString(batch),
            "--averaging-frequency", Integer.toString(h), "--workers", Integer.toString(workers), "--lr",
            Double.toString(c.lr()), "--min-lr", Double.toString(c.minLr()), "--outer-optimizer", outer,
            "--outer-lr", Double.toString(c.outerLr()), "--outer-momentum", Double.toString(c.outerMomentum()),
            "--eval-every", "1000000", "--checkpoint-every", "1000000", "--eval-windows",
            Integer.toString(c.evalWindows()), "--seed", Long.toString(c.seed())));
        if (c.keepWorkerState() && workers > 1) {
            a.add("--keep-worker-state");
        }
        if (workers > 1) {
            a.add("--second-moment");
            a.add(c.secondMoment().key());
        }
        if (!c.modelSet().isEmpty()) {
            a.add("--model-set");
            a.add(String.join(",", c.modelSet().entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                .toList()));
        }
        PretrainConfig config = PretrainConfig.commandLine().parse(a.toArray(String[]::new));
        long t0 = System.nanoTime();
        PretrainJob.Result r = PretrainJob.run(sc, config);
        double secs = (System.nanoTime() - t0) / 1e9;
        List<RoundMetrics> m = r.metrics();
        RoundMetrics last = m.get(m.size() - 1);
        long bytes = 0;
        for (RoundMetrics x : m) {
            bytes += x.extra() == null ? 0 : x.extra().path("bytes_per_round").asLong();
        }
        ObjectNode o = runs.addObject();
        o.put("name", name);
        o.put("workers", workers);
        o.put("batch_per_worker", batch);
        o.put("averaging_frequency", h);
        o.put("outer_optimizer", outer);
        o.put("keep_worker_state", c.keepWorkerState() && workers > 1);
        o.put("second_moment", workers > 1 ? c.secondMoment().key() : SecondMoment.MEAN.key());
        o.put("val_loss", last.valLoss());
        if (!Double.isNaN(sync)) {
            o.put("ratio_to_sync", last.valLoss() / sync);
        }
        o.put("bytes_sent_per_token", workers == 1 ? 0 : (double) bytes / last.tokens());
        // what synchronous data parallelism of two workers would send: every step each worker sends and receives
        // its gradient (an all-reduce), 4 bytes per parameter
        o.put("ddp_bytes_per_token", 2.0 * 2 * 4 * r.net().numParams() / ((double) last.tokens() / last.step()));
        o.put("seconds", Math.round(secs * 10) / 10.0);
        System.err.println(String.format(Locale.ROOT, "bench-outer: %-16s val %.4f%s (%.0f s)", name,
            last.valLoss(), Double.isNaN(sync) ? "" : String.format(Locale.ROOT, " ratio %.4f", last.valLoss() / sync),
            secs));
        return last.valLoss();
    }
}
