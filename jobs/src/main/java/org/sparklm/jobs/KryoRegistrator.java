package org.sparklm.jobs;

import com.esotericsoftware.kryo.Kryo;

/** Registers the classes our jobs shuffle, so that Kryo writes class ids rather than names. */
public final class KryoRegistrator implements org.apache.spark.serializer.KryoRegistrator {
    @Override
    public void registerClasses(Kryo kryo) {
        kryo.register(long[].class);
        kryo.register(int[].class);
        kryo.register(byte[].class);
        kryo.register(String[].class);
        kryo.register(scala.Tuple2.class);
        kryo.register(scala.Tuple2[].class);
        kryo.register(Long.class);
        kryo.register(Object[].class);
        kryo.register(WordBlock.class);
        kryo.register(WordBlock[].class);
        kryo.register(long[][].class);
        kryo.register(java.util.ArrayList.class);
        kryo.register(org.sparklm.data.EncodedDocument.class);
        kryo.register(org.sparklm.data.EncodeStats.class);
        kryo.register(org.sparklm.data.ReadStats.class);
        kryo.register(DocKey.class);
        kryo.register(DocKey[].class);
        kryo.register(ShardJob.ShardResult.class);
        kryo.register(ShardJob.ShardResult[].class);
        // pretrain (dl4j-spark parameter averaging). nd4j-kryo 1.0.0-M2 ships Nd4jSerializer but no registrator: the
        // INDArray classes are registered here, by name so that the other jobs never load ND4J.
        org.nd4j.kryo.Nd4jSerializer arrays = new org.nd4j.kryo.Nd4jSerializer();
        for (String name : new String[] {"org.nd4j.linalg.cpu.nativecpu.NDArray",
            "org.nd4j.linalg.jcublas.JCublasNDArray"}) {
            try {
                kryo.register(Class.forName(name, false, KryoRegistrator.class.getClassLoader()), arrays);
            } catch (ClassNotFoundException e) {
                // that ND4J backend is not on the class path
            }
        }
        kryo.register(org.deeplearning4j.spark.api.worker.NetBroadcastTuple.class, new NetBroadcastSerializer());
        kryo.register(org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingResult.class);
        kryo.register(org.deeplearning4j.spark.impl.paramavg.aggregator.ParameterAveragingAggregationTuple.class);
        kryo.register(RoundTrainingMaster.RoundState.class);
        kryo.register(RoundTrainingMaster.Sums.class);
        // finetune: encoded labelled examples collected to the driver, the training set broadcast to the executors
        // (records: Kryo 4's field serializer cannot build them; Java serialization of these few objects is fine)
        kryo.register(FinetuneJob.LabelledInput.Part.class, new com.esotericsoftware.kryo.serializers.JavaSerializer());
        kryo.register(org.sparklm.finetune.ExampleEncoder.Encoded.class,
            new com.esotericsoftware.kryo.serializers.JavaSerializer());
        kryo.register(org.sparklm.finetune.ExampleEncoder.Stats.class);
        kryo.register(org.sparklm.finetune.ExampleSet.class);
        // sweep: each task returns its run's result (a record: Java serialization)
        kryo.register(org.sparklm.scaling.SweepTrainer.RunResult.class,
            new com.esotericsoftware.kryo.serializers.JavaSerializer());
        kryo.register(org.sparklm.scaling.SweepTrainer.RunResult[].class);
    }
}
