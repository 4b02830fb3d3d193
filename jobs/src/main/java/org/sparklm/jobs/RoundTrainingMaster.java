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
        if (trainable == null) {
            NetBroadcastTuple tuple = new NetBroadcastTuple(net.getConfiguration(), net.params(), updater);
            Broadcast<NetBroadcastTuple> broadcast = graph.getSparkContext().broadcast(tuple);
            bytesLastRound = 2L * numWorkers * 4 * (net.params().length() + (updater == null ? 0 : updater.length()));
            return new CountingWorker(broadcast, null, null, saveUpdater, configuration, this);
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

        CountingWorker(Broadcast<NetBroadcastTuple> broadcast, Broadcast<RoundState> round, TrainableParams trainable,
                       boolean saveUpdater, WorkerConfiguration configuration, RoundTrainingMaster master) {
            super(broadcast, saveUpdater, configuration, master.trainingHookList, master.listeners,
                master.getRouterProvider());
            this.broadcast = broadcast;
            this.round = round;
            this.trainable = trainable;
            this.saveUpdater = saveUpdater;
        }

        @Override
        public ComputationGraph getInitialModelGraph() {
            if (round == null) {
                ComputationGraph net = super.getInitialModelGraph();
                var sent = broadcast.getValue().getGraphConfiguration();
                net.getConfiguration().setIterationCount(sent.getIterationCount());
                net.getConfiguration().setEpochCount(sent.getEpochCount());
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
            if (round == null) {
                return r;
            }
            return new ParameterAveragingTrainingResult(trainable.extract(network.params()),
                saveUpdater ? r.getUpdaterState() : null, r.getScore(), null, null, null);
        }
    }

    @Override
    protected void executeTrainingDirect(SparkComputationGraph graph, JavaRDD<MultiDataSet> trainingData) {
        doIteration(graph, trainingData, round, rounds);
    }

    @Override
    protected void processResults(org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer network,
                                  SparkComputationGraph graph, JavaRDD<ParameterAveragingTrainingResult> results,
                                  int splitNum, int totalSplits) {
        if (trainable == null) {
            super.processResults(network, graph, results, splitNum, totalSplits);
            return;
        }
        ParameterAveragingAggregationTuple tuple = results.treeAggregate(null,
            new ParameterAveragingElementAddFunction(), new ParameterAveragingElementCombineFunction(),
            aggregationDepth);
        ComputationGraph net = graph.getNetwork();
        INDArray sum = tuple.getParametersSum();
        if (sum == null) {
            return;
        }
        int n = tuple.getAggregationsCount();
        trainable.insert(sum.divi(n), net.params());
        INDArray updater = tuple.getUpdaterStateSum();
        if (updater != null) {
            net.getUpdater().setStateViewArray(updater.divi(n));
        }
        graph.setScore(tuple.getScoreSum() / n);
        Nd4j.getExecutioner().commit();
        net.getConfiguration().setIterationCount(net.getConfiguration().getIterationCount() + averagingFrequency);
    }
}
