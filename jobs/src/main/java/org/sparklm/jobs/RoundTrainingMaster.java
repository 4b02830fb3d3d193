package org.sparklm.jobs;

import java.io.Serializable;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.broadcast.Broadcast;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.updater.graph.ComputationGraphUpdater;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.api.Repartition;
import org.deeplearning4j.spark.api.WorkerConfiguration;
import org.deeplearning4j.spark.api.worker.NetBroadcastTuple;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingResult;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingWorker;
import org.deeplearning4j.spark.impl.paramavg.aggregator.ParameterAveragingAggregationTuple;
import org.deeplearning4j.spark.impl.paramavg.aggregator.ParameterAveragingElementAddFunction;
import org.deeplearning4j.spark.impl.paramavg.aggregator.ParameterAveragingElementCombineFunction;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.sparklm.model.TrainableParams;
import org.sparklm.train.CombinedSecondMoment;
import org.sparklm.train.OuterOptimizer;
import org.sparklm.train.RoundDrift;

/**
 * dl4j-spark's {@link ParameterAveragingTrainingMaster}, told that each {@code fit} call is exactly one averaging
 * round: the RDD it is given has one partition per worker, each holding that worker's {@code averagingFrequency}
 * minibatches in order. The parent would first persist and count the RDD and cut it with a randomly seeded
 * {@code balancedRandomSplit}, then repartition it; that costs two extra passes over the data, and it would make the
 * data order depend on the master's RNG instead of on the global step. Everything else is the parent's: the broadcast
 * of the parameters and the updater state, one worker per partition training its minibatches, {@code treeAggregate}
 * of parameters, updater state (Adam's moments; {@code saveUpdater} is set, it defaults to false in 1.0.0-M2 although
 * its javadoc says true) and scores, and the iteration counter advanced by {@code averagingFrequency}.
 *
 * <p><b>Frozen parameters</b> (fine-tuning that keeps the pretrained weights: a linear probe, LoRA, prefix tuning):
 * when the network has frozen parameters ({@link TrainableParams}), the whole network is broadcast once per job and
 * each round broadcasts and averages only the trainable parameters and their optimizer state (frozen parameters have
 * none); the worker rebuilds its network from the job's broadcast and writes the round's trainable values into it.
 *
 * <p>One fix: dl4j-spark's worker rebuilds its network from {@code ComputationGraphConfiguration.clone()}, and in
 * 1.0.0-M2.1 {@code clone()} does not copy the iteration counter, so every round restarted at iteration 0: the
 * learning-rate schedule started over and Adam's bias correction was that of a first step. The workers here set the
 * counters from the driver's configuration. PretrainJobTest caught it: one worker over two rounds drifted 6% from
 * plain local training.
 */
final class RoundTrainingMaster extends ParameterAveragingTrainingMaster {
    private static final long serialVersionUID = 1L;
    private int round;
    private int rounds;
    private transient TrainableParams trainable;             // null: every parameter trains
    private transient Broadcast<NetBroadcastTuple> frozenBase;
    private transient long bytesLastRound;
    private transient OuterOptimizer outer;                  // null: plain averaging (the parent's processing)
    private transient boolean keepWorkerState;               // each worker keeps its own optimizer state
    private transient INDArray[] workerStates;               // keepWorkerState: worker w's state after its last round
    private transient CombinedSecondMoment combined;        // null: Adam's second moment is the workers' mean
    private transient INDArray excess;                       // combined: the estimate sent with the next round
    private transient org.apache.spark.util.DoubleAccumulator computeSeconds;
    private transient org.apache.spark.util.DoubleAccumulator rebuildSeconds;
    private transient org.apache.spark.util.DoubleAccumulator squaredNorms;     // sum of |x_w|^2
    private transient org.apache.spark.util.DoubleAccumulator squaredFromStart; // sum of |x_w - p|^2
    private transient org.apache.spark.util.LongAccumulator reporting;          // workers that sent parameters
    private transient double meanSquaredNorm = Double.NaN;                     // |m|^2 of the last round

    private RoundTrainingMaster(Builder b) {
        super(b);
    }

    /** A master for {@code workers} workers training {@code batch}-example minibatches, averaging every {@code h}. */
    static RoundTrainingMaster create(int workers, int batch, int h, long seed) {
        Builder b = new Builder(workers, batch)
            .batchSizePerWorker(batch)
            .averagingFrequency(h)
            .saveUpdater(true)
            .workerPrefetchNumBatches(0)
            .repartionData(Repartition.Never)
            .rddTrainingApproach(RDDTrainingApproach.Direct)
            .storageLevel(null)
            .rngSeed(seed);
        return new RoundTrainingMaster(b);
    }

    /**
     * Sends and averages only the network's trainable parameters when some are frozen (call before the first round,
     * with the network that will be trained).
     */
    RoundTrainingMaster onlyTrainable(ComputationGraph net) {
        TrainableParams t = TrainableParams.of(net);
        this.trainable = t.all() ? null : t;
        return this;
    }

    /**
     * Applies an outer optimizer to each round's average (DiLoCo's Nesterov step); {@link OuterOptimizer.Kind#AVERAGE}
     * keeps dl4j-spark's own averaging, unchanged.
     */
    RoundTrainingMaster withOuter(OuterOptimizer o) {
        this.outer = o == null || o.kind() == OuterOptimizer.Kind.AVERAGE ? null : o;
        return this;
    }

    /**
     * Each worker keeps its own optimizer state (Adam's moments) from round to round, as DiLoCo's workers do, instead
     * of starting every round from the workers' mean; only the parameters are averaged. The driver holds the W states
     * and sends each worker its own (one broadcast per worker, read only by that worker's task), so a round moves the
     * same bytes as with averaged state. The driver's network holds their mean (what a checkpoint saves: a resumed
     * run restarts every worker from it). Only for networks without frozen parameters.
     */
    RoundTrainingMaster keepWorkerState(boolean keep) {
        this.keepWorkerState = keep;
        return this;
    }

    /**
     * Adam's second moment of the combined batch ({@link CombinedSecondMoment}): the driver estimates the excess of
     * the workers' squared gradients from the spread of their first moments after each round, and sends it with the
     * next round; each worker deflates its second moment after each step. Only for networks without frozen
     * parameters, with averaged state.
     */
    RoundTrainingMaster combinedSecondMoment(CombinedSecondMoment c) {
        this.combined = c == null || c.workers() == 1 ? null : c;
        return this;
    }

    /** combined: the excess estimated after the last round (null: none yet, or not combined). */
    INDArray excess() {
        return excess;
    }

    /** combined: restores the estimate of a checkpoint (null: none). */
    void setExcess(INDArray e) {
        this.excess = e == null ? null : e.dup();
    }

    /** Worker w's optimizer state after its last round (keepWorkerState; null before the first round). */
    INDArray workerState(int w) {
        return workerStates == null ? null : workerStates[w];
    }

    /** The outer optimizer (null: plain averaging). */
    OuterOptimizer outer() {
        return outer;
    }

    /**
     * Where the last round's time went on the workers, averaged over them: seconds training (the minibatches' fit
     * calls) and seconds rebuilding the network from the broadcast.
     */
    double[] lastRoundWorkerSeconds() {
        if (computeSeconds == null) {
            return new double[] {0, 0};
        }
        return new double[] {computeSeconds.sum() / numWorkers, rebuildSeconds.sum() / numWorkers};
    }

    /**
     * How far the last round moved ({@link RoundDrift}): the workers' spread around their mean and the norm of the
     * pseudo-gradient (start minus mean), over the parameters that are averaged; null before the first round.
     */
    double[] lastRoundDrift() {
        if (reporting == null || reporting.value() == 0 || Double.isNaN(meanSquaredNorm)) {
            return null;
        }
        return RoundDrift.of(reporting.value(), squaredNorms.value(), squaredFromStart.value(), meanSquaredNorm);
    }

    /** The number of workers (one Spark task each). */
    int workers() {
        return numWorkers;
    }

    /**
     * Bytes the last round moved between the driver and the workers: the broadcast state (parameters and optimizer
     * state sent to each worker) plus each worker's result; the frozen base, sent once per job, is not counted.
     */
    long bytesLastRound() {
        return bytesLastRound;
    }

    /** Names the round in the log lines of the parent (split i of n). */
    void setRound(int round, int rounds) {
        this.round = round;
        this.rounds = rounds;
    }

    @Override
    public ParameterAveragingTrainingWorker getWorkerInstance(SparkComputationGraph graph) {
        ComputationGraph net = graph.getNetwork();
        INDArray updater = net.getUpdater().getStateViewArray();
        WorkerConfiguration configuration = new WorkerConfiguration(true, rddDataSetNumExamples, batchSizePerWorker,
            averagingFrequency, prefetchNumBatches, collectTrainingStats);
        long iteration = net.getConfiguration().getIterationCount();
        long epoch = net.getConfiguration().getEpochCount();
        computeSeconds = graph.getSparkContext().sc().doubleAccumulator("compute seconds");
        rebuildSeconds = graph.getSparkContext().sc().doubleAccumulator("rebuild seconds");
        squaredNorms = graph.getSparkContext().sc().doubleAccumulator("squared norms");
        squaredFromStart = graph.getSparkContext().sc().doubleAccumulator("squared distances from the start");
        reporting = graph.getSparkContext().sc().longAccumulator("workers with parameters");
        meanSquaredNorm = Double.NaN;
        if (trainable == null) {
            // keepWorkerState: from the second round on, each worker is sent its own state instead of the shared one
            // (in the first, all of them start from the driver's, sent once as usual)
            boolean own = keepWorkerState && updater != null && workerStates != null;
            if (keepWorkerState && updater != null && workerStates == null) {
                workerStates = new INDArray[numWorkers];          // filled by processKeepingStates
            }
            NetBroadcastTuple tuple = new NetBroadcastTuple(net.getConfiguration(), net.params(), own ? null : updater);
            Broadcast<NetBroadcastTuple> broadcast = graph.getSparkContext().broadcast(tuple);
            bytesLastRound = 2L * numWorkers * 4 * (net.params().length() + (updater == null ? 0 : updater.length()));
            CountingWorker worker = new CountingWorker(broadcast, null, null, saveUpdater, configuration, this);
            if (combined != null) {
                if (keepWorkerState) {
                    throw new IllegalStateException("the combined second moment needs averaged optimizer state");
                }
                // the squares of the first moments come back (half the state), the estimate goes out from round 2
                bytesLastRound += (long) numWorkers * 4 * combined.length() * (excess == null ? 1 : 2);
                if (excess != null) {
                    worker.deflating(combined, graph.getSparkContext().broadcast(excess));
                }
            }
            if (!own) {
                return worker;
            }
            java.util.List<Broadcast<INDArray>> states = new java.util.ArrayList<>(numWorkers);
            for (int w = 0; w < numWorkers; w++) {
                states.add(graph.getSparkContext().broadcast(workerStates[w]));
            }
            return worker.ownStates(states);
        }
        if (keepWorkerState || combined != null) {
            throw new IllegalStateException("keeping each worker's optimizer state and the combined second moment need"
                + " a network without frozen parameters");
        }
        if (frozenBase == null) {
            frozenBase = graph.getSparkContext().broadcast(new NetBroadcastTuple(net.getConfiguration(),
                net.params().dup(), null));
        }
        RoundState state = new RoundState(trainable.extract(net.params()), updater == null ? null : updater.dup(),
            (int) iteration, (int) epoch);
        Broadcast<RoundState> sent = graph.getSparkContext().broadcast(state);
        bytesLastRound = 2L * numWorkers * 4 * (trainable.count() + (updater == null ? 0 : updater.length()));
        return new CountingWorker(frozenBase, sent, trainable, saveUpdater, configuration, this);
    }

    /** What a round sends besides the frozen base: the trainable values, the optimizer state, the counters. */
    static final class RoundState implements Serializable {
        private static final long serialVersionUID = 1L;
        INDArray trainable;
        INDArray updater;
        int iteration;
        int epoch;

        RoundState() {
            // Kryo
        }

        RoundState(INDArray trainable, INDArray updater, int iteration, int epoch) {
            this.trainable = trainable;
            this.updater = updater;
            this.iteration = iteration;
            this.epoch = epoch;
        }
    }

    /** The parent's worker, with the network's counters taken from the driver, and the trainable-only mode. */
    static final class CountingWorker extends ParameterAveragingTrainingWorker {
        private static final long serialVersionUID = 1L;
        private final Broadcast<NetBroadcastTuple> broadcast;
        private final Broadcast<RoundState> round;       // null: the broadcast holds everything
        private final TrainableParams trainable;
        private final boolean saveUpdater;
        private final org.apache.spark.util.DoubleAccumulator compute;
        private final org.apache.spark.util.DoubleAccumulator rebuild;
        private final org.apache.spark.util.DoubleAccumulator squaredNorms;
        private final org.apache.spark.util.DoubleAccumulator squaredFromStart;
        private final org.apache.spark.util.LongAccumulator reporting;
        private java.util.List<Broadcast<INDArray>> ownStates;   // non-null: worker w (partition w) reads element w
        private CombinedSecondMoment combined;                    // non-null: deflate v after each step
        private Broadcast<INDArray> excess;
        private transient INDArray deflated;                      // combined: v's gap below its undeflated value

        CountingWorker(Broadcast<NetBroadcastTuple> broadcast, Broadcast<RoundState> round, TrainableParams trainable,
                       boolean saveUpdater, WorkerConfiguration configuration, RoundTrainingMaster master) {
            super(broadcast, saveUpdater, configuration, master.trainingHookList, master.listeners,
                master.getRouterProvider());
            this.broadcast = broadcast;
            this.round = round;
            this.trainable = trainable;
            this.saveUpdater = saveUpdater;
            this.compute = master.computeSeconds;
            this.rebuild = master.rebuildSeconds;
            this.squaredNorms = master.squaredNorms;
            this.squaredFromStart = master.squaredFromStart;
            this.reporting = master.reporting;
        }

        /** Each worker starts from its own optimizer state: element w for the task of partition w. */
        CountingWorker ownStates(java.util.List<Broadcast<INDArray>> states) {
            this.ownStates = states;
            return this;
        }

        /** After each step, the second moment is deflated by the driver's estimate of the excess. */
        CountingWorker deflating(CombinedSecondMoment c, Broadcast<INDArray> e) {
            this.combined = c;
            this.excess = e;
            return this;
        }

        @Override
        public ParameterAveragingTrainingResult processMinibatch(MultiDataSet dataSet, ComputationGraph graph,
                                                                 boolean isLast) {
            long t0 = System.nanoTime();
            ParameterAveragingTrainingResult r;
            if (combined == null) {
                r = super.processMinibatch(dataSet, graph, isLast);
            } else {
                if (deflated == null) {
                    deflated = Nd4j.zeros(graph.getUpdater().getStateViewArray().dataType(), combined.length());
                }
                super.processMinibatch(dataSet, graph, false);          // the step
                combined.deflate(graph.getUpdater().getStateViewArray(), deflated, excess.getValue());
                Nd4j.getExecutioner().commit();
                r = isLast ? getFinalResult(graph) : null;
            }
            if (compute != null) {
                compute.add((System.nanoTime() - t0) / 1e9);
            }
            return r;
        }

        @Override
        public ComputationGraph getInitialModelGraph() {
            long t0 = System.nanoTime();
            ComputationGraph net = initialModel();
            if (rebuild != null) {
                rebuild.add((System.nanoTime() - t0) / 1e9);
            }
            return net;
        }

        private ComputationGraph initialModel() {
            deflated = null;                                            // a new round
            if (round == null) {
                ComputationGraph net = super.getInitialModelGraph();
                var sent = broadcast.getValue().getGraphConfiguration();
                net.getConfiguration().setIterationCount(sent.getIterationCount());
                net.getConfiguration().setEpochCount(sent.getEpochCount());
                if (ownStates != null) {
                    INDArray own = ownStates.get(org.apache.spark.TaskContext.getPartitionId()).getValue();
                    net.setUpdater(new ComputationGraphUpdater(net, own.unsafeDuplication()));
                    Nd4j.getExecutioner().commit();
                }
                return net;
            }
            NetBroadcastTuple base = broadcast.getValue();
            RoundState state = round.getValue();
            ComputationGraph net = new ComputationGraph(base.getGraphConfiguration().clone());
            INDArray params = base.getParameters().unsafeDuplication();
            trainable.insert(state.trainable, params);
            net.init(params, false);
            if (state.updater != null) {
                net.setUpdater(new ComputationGraphUpdater(net, state.updater.unsafeDuplication()));
            }
            net.getConfiguration().setIterationCount(state.iteration);
            net.getConfiguration().setEpochCount(state.epoch);
            Nd4j.getExecutioner().commit();
            return net;
        }

        @Override
        public ParameterAveragingTrainingResult getFinalResult(ComputationGraph network) {
            ParameterAveragingTrainingResult r = super.getFinalResult(network);
            if (round != null) {
                r = new ParameterAveragingTrainingResult(trainable.extract(network.params()),
                    saveUpdater ? r.getUpdaterState() : null, r.getScore(), null, null, null);
            }
            if (reporting != null && r.getParameters() != null) {
                // the drift scalars: against the parameters this round started from, as the driver sent them
                INDArray start = round == null ? broadcast.getValue().getParameters() : round.getValue().trainable;
                squaredNorms.add(RoundDrift.squaredNorm(r.getParameters()));
                squaredFromStart.add(RoundDrift.squaredDistance(r.getParameters(), start));
                reporting.add(1);
            }
            return r;
        }
    }

    /**
     * One round: each partition's minibatches go to one worker exactly as they are. (dl4j-spark's own
     * {@code ExecuteWorkerMultiDataSetFlatMap} re-batches a partition's examples into minibatches of
     * {@code batchSizePerWorker}, merging and splitting the ones it is given: for fine-tuning, whose minibatches differ
     * in size and length, that would change the steps and merge masks of different lengths.)
     */
    @Override
    protected void executeTrainingDirect(SparkComputationGraph graph, JavaRDD<MultiDataSet> trainingData) {
        ParameterAveragingTrainingWorker worker = getWorkerInstance(graph);
        JavaRDD<ParameterAveragingTrainingResult> results = trainingData.mapPartitions(new RoundFunction(worker));
        processResults(null, graph, results, round, rounds);
    }

    /** A worker training its partition's minibatches in order, one step each. */
    static final class RoundFunction
        implements org.apache.spark.api.java.function.FlatMapFunction<java.util.Iterator<MultiDataSet>,
        ParameterAveragingTrainingResult> {
        private static final long serialVersionUID = 1L;
        private final ParameterAveragingTrainingWorker worker;

        RoundFunction(ParameterAveragingTrainingWorker worker) {
            this.worker = worker;
        }

        @Override
        public java.util.Iterator<ParameterAveragingTrainingResult> call(java.util.Iterator<MultiDataSet> it) {
            if (!it.hasNext()) {
                return java.util.List.of(worker.getFinalResultNoData()).iterator();
            }
            try {
                ComputationGraph net = worker.getInitialModelGraph();
                while (it.hasNext()) {
                    MultiDataSet next = it.next();
                    ParameterAveragingTrainingResult r = worker.processMinibatch(next, net, !it.hasNext());
                    if (r != null) {
                        return java.util.List.of(r).iterator();
                    }
                }
                return java.util.List.of(worker.getFinalResult(net)).iterator();
            } finally {
                Nd4j.getExecutioner().commit();
            }
        }
    }

    @Override
    protected void processResults(org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer network,
                                  SparkComputationGraph graph, JavaRDD<ParameterAveragingTrainingResult> results,
                                  int splitNum, int totalSplits) {
        if (workerStates != null) {
            processKeepingStates(graph, results);
            return;
        }
        if (combined != null) {
            processCombined(graph, results);
            return;
        }
        if (trainable == null && outer == null) {
            super.processResults(network, graph, results, splitNum, totalSplits);   // dl4j-spark's averaging
            meanSquaredNorm = RoundDrift.squaredNorm(graph.getNetwork().params());
            return;
        }
        ParameterAveragingAggregationTuple tuple = results.treeAggregate(null,
            new ParameterAveragingElementAddFunction(), new ParameterAveragingElementCombineFunction(),
            aggregationDepth);
        INDArray sum = tuple.getParametersSum();
        if (sum == null) {
            return;
        }
        int n = tuple.getAggregationsCount();
        INDArray updater = tuple.getUpdaterStateSum();
        finishRound(graph, sum.divi(n), updater == null ? null : updater.divi(n), tuple.getScoreSum() / n);
    }

    /**
     * The end of a round on the driver: the workers' mean parameters taken (or the outer step towards them), the mean
     * optimizer state (if any) and score set, the iteration counter advanced by the round's steps.
     */
    private void finishRound(SparkComputationGraph graph, INDArray mean, INDArray updaterMean, double score) {
        ComputationGraph net = graph.getNetwork();
        // the round started from the driver's parameters, which the workers did not touch
        INDArray start = trainable == null ? net.params().dup() : trainable.extract(net.params());
        meanSquaredNorm = RoundDrift.squaredNorm(mean);
        if (outer != null) {
            outer.step(start, mean);
        } else {
            start.assign(mean);
        }
        if (trainable == null) {
            net.params().assign(start);
        } else {
            trainable.insert(start, net.params());
        }
        if (updaterMean != null) {
            net.getUpdater().setStateViewArray(updaterMean);
        }
        graph.setScore(score);
        Nd4j.getExecutioner().commit();
        net.getConfiguration().setIterationCount(net.getConfiguration().getIterationCount() + averagingFrequency);
    }

    /**
     * combined: the sums of the parameters, the states and the squares of the first moments (made on the executors,
     * summed in a tree), then the means, the new estimate of the excess, and the round's end.
     */
    private void processCombined(SparkComputationGraph graph, JavaRDD<ParameterAveragingTrainingResult> results) {
        CombinedSecondMoment c = combined;
        Sums sums = results.filter(r -> r.getParameters() != null).map(r -> {
            if (r.getUpdaterState() == null) {
                throw new IllegalStateException("a worker returned no optimizer state");
            }
            return new Sums(r.getParameters(), r.getUpdaterState(), c.firstMomentSquares(r.getUpdaterState()),
                r.getScore(), 1);
        }).treeReduce(Sums::add, aggregationDepth);
        int n = sums.count;
        INDArray stateMean = sums.state.divi(n);
        excess = c.excess(stateMean, sums.squares.divi(n), averagingFrequency);
        finishRound(graph, sums.params.divi(n), stateMean, sums.score / n);
    }

    /** What the combined second moment sums over the workers. */
    static final class Sums implements Serializable {
        private static final long serialVersionUID = 1L;
        INDArray params;
        INDArray state;
        INDArray squares;
        double score;
        int count;

        Sums() {
            // Kryo
        }

        Sums(INDArray params, INDArray state, INDArray squares, double score, int count) {
            this.params = params;
            this.state = state;
            this.squares = squares;
            this.score = score;
            this.count = count;
        }

        static Sums add(Sums a, Sums b) {
            a.params.addi(b.params);
            a.state.addi(b.state);
            a.squares.addi(b.squares);
            a.score += b.score;
            a.count += b.count;
            return a;
        }
    }

    /**
     * keepWorkerState: the results in partition order (one per worker), the parameters averaged (and the outer step
     * taken), each worker's optimizer state kept for its next round, their mean set on the driver's network.
     */
    private void processKeepingStates(SparkComputationGraph graph, JavaRDD<ParameterAveragingTrainingResult> results) {
        java.util.List<ParameterAveragingTrainingResult> rs = results.collect();
        if (rs.size() != numWorkers) {
            throw new IllegalStateException("expected one result per worker, got " + rs.size());
        }
        // the collected results are the driver's own (deserialized) arrays: summed into and kept without copies
        INDArray sum = null;
        INDArray stateSum = null;
        double score = 0;
        for (int w = 0; w < numWorkers; w++) {
            ParameterAveragingTrainingResult r = rs.get(w);
            if (r.getParameters() == null || r.getUpdaterState() == null) {
                throw new IllegalStateException("worker " + w + " returned no parameters or no optimizer state");
            }
            sum = sum == null ? r.getParameters() : sum.addi(r.getParameters());
            workerStates[w] = r.getUpdaterState();
            stateSum = stateSum == null ? workerStates[w].dup() : stateSum.addi(workerStates[w]);
            score += r.getScore();
        }
        finishRound(graph, sum.divi(numWorkers), stateSum.divi(numWorkers), score / numWorkers);
    }
}
