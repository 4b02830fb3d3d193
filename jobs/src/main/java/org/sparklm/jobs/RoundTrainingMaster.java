package org.sparklm.jobs;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.broadcast.Broadcast;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.api.WorkerConfiguration;
import org.deeplearning4j.spark.api.worker.NetBroadcastTuple;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingWorker;
import org.deeplearning4j.spark.api.Repartition;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.nd4j.linalg.dataset.api.MultiDataSet;

/**
 * dl4j-spark's {@link ParameterAveragingTrainingMaster}, told that each {@code fit} call is exactly one averaging
 * round: the RDD it is given has one partition per worker, each holding that worker's {@code averagingFrequency}
 * minibatches in order. The parent would first persist and count the RDD and cut it with a randomly seeded
 * {@code balancedRandomSplit}, then repartition it; that costs two extra passes over the data, and it would make the
 * data order depend on the master's RNG instead of on the global step. Everything else is the parent's: the broadcast
 * of the parameters and the updater state, one {@code ParameterAveragingTrainingWorker} per partition training its
 * minibatches, {@code treeAggregate} of parameters, updater state (Adam's moments; {@code saveUpdater} is set, it
 * defaults to false in 1.0.0-M2 although its javadoc says true) and scores, and the iteration counter advanced by
 * {@code averagingFrequency}.
 *
 * <p>One fix: dl4j-spark's worker rebuilds its network from {@code ComputationGraphConfiguration.clone()}, and in
 * 1.0.0-M2.1 {@code clone()} does not copy the iteration counter, so every round restarted at iteration 0: the
 * learning-rate schedule started over and Adam's bias correction was that of a first step. The worker here sets the
 * counters from the broadcast configuration (whose JSON form does carry them). PretrainJobTest caught it: one worker
 * over two rounds drifted 6% from plain local training.
 */
final class RoundTrainingMaster extends ParameterAveragingTrainingMaster {
    private static final long serialVersionUID = 1L;
    private int round;
    private int rounds;

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

    /** The number of workers (one Spark task each). */
    int workers() {
        return numWorkers;
    }

    /** Names the round in the log lines of the parent (split i of n). */
    void setRound(int round, int rounds) {
        this.round = round;
        this.rounds = rounds;
    }

    @Override
    public ParameterAveragingTrainingWorker getWorkerInstance(SparkComputationGraph graph) {
        NetBroadcastTuple tuple = new NetBroadcastTuple(graph.getNetwork().getConfiguration(),
            graph.getNetwork().params(), graph.getNetwork().getUpdater().getStateViewArray());
        Broadcast<NetBroadcastTuple> broadcast = graph.getSparkContext().broadcast(tuple);
        WorkerConfiguration configuration = new WorkerConfiguration(true, rddDataSetNumExamples, batchSizePerWorker,
            averagingFrequency, prefetchNumBatches, collectTrainingStats);
        return new CountingWorker(broadcast, saveUpdater, configuration, this);
    }

    /** The parent's worker, with the network's iteration and epoch counters taken from the broadcast. */
    static final class CountingWorker extends ParameterAveragingTrainingWorker {
        private static final long serialVersionUID = 1L;
        private final Broadcast<NetBroadcastTuple> broadcast;

        CountingWorker(Broadcast<NetBroadcastTuple> broadcast, boolean saveUpdater, WorkerConfiguration configuration,
                       RoundTrainingMaster master) {
            super(broadcast, saveUpdater, configuration, master.trainingHookList, master.listeners,
                master.getRouterProvider());
            this.broadcast = broadcast;
        }

        @Override
        public ComputationGraph getInitialModelGraph() {
            ComputationGraph net = super.getInitialModelGraph();
            var sent = broadcast.getValue().getGraphConfiguration();
            net.getConfiguration().setIterationCount(sent.getIterationCount());
            net.getConfiguration().setEpochCount(sent.getEpochCount());
            return net;
        }
    }

    @Override
    protected void executeTrainingDirect(SparkComputationGraph graph, JavaRDD<MultiDataSet> trainingData) {
        doIteration(graph, trainingData, round, rounds);
    }
}
