package org.sparklm.jobs;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.io.Serializable;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.sparklm.model.dl4j.MatrixThreads;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparklm.checkpoint.CheckpointStore;
import org.sparklm.io.IOConsumer;
import org.sparklm.io.Json;
import org.sparklm.report.MetricsLog;
import org.sparklm.report.RoundMetrics;

/**
 * The training loop of every job that trains a network with parameter averaging ({@code pretrain}, and the jobs
 * built like it): rounds of H minibatches per worker, each round one Spark stage through dl4j-spark
 * ({@link RoundTrainingMaster}); validation on the driver every few rounds; a checkpoint every few rounds, at the end
 * and at {@code --stop-at-step}; one metrics record and one console line per round.
 *
 * <pre>
 *   for each round r (global steps [r H, (r + 1) H)):
 *     workers make their minibatches ({@link RoundData}, on the executors) -> train H steps -> average
 *     every E rounds and at the end: validate                                   ({@link Job#validate})
 *     metrics.jsonl += the round; console line
 *     every C rounds, at the end, at --stop-at-step: checkpoint              ({@link Job#checkpointBlobs})
 * </pre>
 *
 * A job supplies its data, its validation, its checkpoint contents and its run description; the loop owns the order,
 * the timing and the files. A resumed run enters the loop at its checkpoint's step.
 */
final class RoundLoop {
    private static final Logger LOG = LoggerFactory.getLogger(RoundLoop.class);

    private RoundLoop() {
    }

    /** The minibatches of worker {@code w} for global steps {@code [from, from + count)}, made where it runs. */
    @FunctionalInterface
    interface RoundData extends Serializable {
        List<MultiDataSet> minibatches(int worker, long from, int count) throws IOException;
    }

    /** What a validation produced: the loss, an accuracy (or null), further metrics for the record (or null). */
    record Validation(double loss, Double accuracy, ObjectNode extra) {
    }

    /** What a job plugs into the loop. */
    interface Job {
        /** The command, for log lines and the Spark UI. */
        String command();

        /** The executors' data. */
        RoundData data();

        /** Validation of the averaged network on the driver; null when there is nothing to validate on. */
        Validation validate(ComputationGraph net) throws IOException;

        /** The checkpoint's files besides {@code state.json} (the model first). */
        Map<String, IOConsumer<OutputStream>> checkpointBlobs(ComputationGraph net);

        /** The run's configuration, stored as {@code "run"} in every checkpoint's {@code state.json}. */
        ObjectNode runJson();

        /** Called after each validation (e.g. to keep the best model so far). */
        default void validated(ComputationGraph net, long step, Validation v) throws IOException {
        }

        /** Further fields of every round's record (or null). */
        default ObjectNode roundExtra() {
            return null;
        }
    }

    /**
     * The shape of a run.
     *
     * @param rounds          rounds of the whole run
     * @param h               minibatches per worker per round (the averaging frequency)
     * @param unitsPerStep    tokens (or examples) one global step consumes over all workers
     * @param evalEvery       validate every this many rounds (and after the last)
     * @param checkpointEvery checkpoint every this many rounds (and after the last)
     * @param stopAtStep      stop after the round reaching this step, with a checkpoint (0: never)
     * @param lr              the learning rate after a global step (for the records)
     */
    record Plan(int rounds, int h, long unitsPerStep, int evalEvery, int checkpointEvery, long stopAtStep,
                java.util.function.LongToDoubleFunction lr) {
        long steps() {
            return (long) rounds * h;
        }
    }

    /** Where a run starts: step 0, or a checkpoint's step with the wall time spent before it. */
    record Start(long step, double elapsedSeconds) {
        static final Start NEW = new Start(0, 0);
    }

    /** What the loop did. */
    record Outcome(ComputationGraph net, long lastCheckpointStep, boolean stoppedEarly) {
    }

    /** Runs the rounds from {@code start} to the end of the plan (or to its stop step). */
    static Outcome run(JavaSparkContext sc, Job job, Plan plan, Start start, SparkComputationGraph spark,
                       RoundTrainingMaster tm, CheckpointStore store, MetricsLog log) throws IOException {
        int h = plan.h();
        long t0 = System.nanoTime();
        long lastCheckpoint = start.step();
        int firstRound = (int) (start.step() / h);
        try {
            for (int r = firstRound; r < plan.rounds(); r++) {
                long from = (long) r * h;
                long step = from + h;
                sc.setJobDescription(String.format(Locale.ROOT, "%s: round %d/%d (steps %d-%d)", job.command(),
                    r + 1, plan.rounds(), from + 1, step));
                long tr = System.nanoTime();
                trainRound(sc, spark, tm, job.data(), tm.workers(), from, h, r + 1, plan.rounds());
                double secs = (System.nanoTime() - tr) / 1e9;
                boolean last = r == plan.rounds() - 1;
                Validation v = null;
                if ((r + 1) % plan.evalEvery() == 0 || last) {
                    sc.setJobDescription(null);
                    v = job.validate(spark.getNetwork());
                    if (v != null) {
                        job.validated(spark.getNetwork(), step, v);
                    }
                }
                // where the round's time went: training on the workers, rebuilding their networks from the broadcast,
                // and the rest (broadcast, scheduling, aggregation, the driver's update)
                double[] ws = tm.lastRoundWorkerSeconds();
                ObjectNode extra = Json.object();
                extra.put("compute_seconds", round3(ws[0]));
                extra.put("rebuild_seconds", round3(ws[1]));
                extra.put("overhead_seconds", round3(Math.max(0, secs - ws[0] - ws[1])));
                extra.put("bytes_per_round", tm.bytesLastRound());
                double[] drift = tm.lastRoundDrift();
                if (drift != null) {
                    extra.put("worker_spread", (float) drift[0]);
                    extra.put("pseudo_gradient_norm", (float) drift[1]);
                }
                if (job.roundExtra() != null) {
                    extra.setAll(job.roundExtra());
                }
                if (v != null && v.extra() != null) {
                    extra.setAll(v.extra());
                }
                double elapsed = start.elapsedSeconds() + (System.nanoTime() - t0) / 1e9;
                double perRound = (System.nanoTime() - t0) / 1e9 / (r + 1 - firstRound);
                RoundMetrics m = new RoundMetrics(r + 1, step, plan.steps(), step * plan.unitsPerStep(),
                    spark.getScore(), v == null ? null : v.loss(), v == null ? null : v.accuracy(),
                    plan.lr().applyAsDouble(step - 1), h * plan.unitsPerStep() / secs, secs, elapsed,
                    perRound * (plan.rounds() - r - 1), extra);
                log.append(m);
                LOG.info(job.command() + ": " + MetricsLog.consoleLine(m));
                boolean stop = plan.stopAtStep() > 0 && step >= plan.stopAtStep() && !last;
                if ((r + 1) % plan.checkpointEvery() == 0 || last || stop) {
                    checkpoint(store, job, spark.getNetwork(), step, r + 1, m.tokens(), elapsed);
                    lastCheckpoint = step;
                }
                if (stop) {
                    LOG.info("{}: stopping at step {} of {} (--stop-at-step); continue with --resume", job.command(),
                        step, plan.steps());
                    return new Outcome(spark.getNetwork(), lastCheckpoint, true);
                }
            }
        } finally {
            sc.setJobDescription(null);
        }
        return new Outcome(spark.getNetwork(), lastCheckpoint, false);
    }

    private static double round3(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    /** One averaging round: worker w trains its minibatches for steps [from, from + h). */
    static void trainRound(JavaSparkContext sc, SparkComputationGraph spark, RoundTrainingMaster tm, RoundData data,
                           int workers, long from, int h, int round, int rounds) {
        JavaRDD<MultiDataSet> batches = sc.parallelize(IntStream.range(0, workers).boxed().toList(), workers)
            .mapPartitionsWithIndex((w, it) -> {
                prepareTask();
                return data.minibatches(w, from, h).iterator();
            }, true);
        tm.setRound(round, rounds);
        spark.fitMultiDataSet(batches);
    }

    /**
     * Before a training task creates any array: bind the GPU Spark assigned to it, and size ND4J's native thread pool
     * and the matrix products' threads to the task's cores ({@code spark.task.cpus}). On a cluster with
     * {@code spark.task.cpus} = executor cores, one training task uses all its executor's cores; in {@code local[N]}
     * with N workers each task uses one core instead of all of them (oversubscription). The settings are per JVM, and
     * every task of a training job asks for the same.
     */
    static void prepareTask() {
        Nd4jDeviceBinder.bindCurrentTask();
        org.apache.spark.TaskContext ctx = org.apache.spark.TaskContext.get();
        if (ctx == null || ctx.cpus() <= 0) {
            return;
        }
        int cpus = ctx.cpus();
        if (Nd4j.getEnvironment().maxThreads() != cpus) {
            Nd4j.getEnvironment().setMaxThreads(cpus);
            Nd4j.getEnvironment().setMaxMasterThreads(cpus);
        }
        // the matrix products as the train-step benchmark runs them: split over the task's cores on Java threads
        // with single-threaded OpenBLAS (MatrixThreads); with one core per task, OpenBLAS on one thread too
        MatrixThreads.use(cpus);
        if (cpus == 1 && Nd4j.getEnvironment().isCPU() && Nd4j.factory().blas().getMaxThreads() != 1) {
            Nd4j.factory().blas().setMaxThreads(1);
        }
    }

    /** The job's files, and the training state: step, round, tokens, elapsed time, data position, the run. */
    static void checkpoint(CheckpointStore store, Job job, ComputationGraph net, long step, int round, long tokens,
                           double elapsed) throws IOException {
        ObjectNode run = job.runJson();
        ObjectNode state = Json.object();
        state.put("step", step);
        state.put("round", round);
        state.put("tokens", tokens);
        state.put("elapsed_seconds", elapsed);
        // the data order and the masks are functions of (seed, global step): the step is the whole data position
        ObjectNode position = state.putObject("data_position");
        position.put("next_step", step);
        position.put("seed", run.path("seed").asLong());
        state.set("run", run);
        store.write(step, state, job.checkpointBlobs(net));
    }
}
