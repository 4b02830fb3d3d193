package org.sparklm.jobs;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.spark.api.worker.NetBroadcastTuple;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Kryo form of dl4j-spark's broadcast (network configuration, parameters, updater state): the configuration as its
 * JSON (DL4J's own format, which keeps the iteration counter the learning-rate schedule reads), the arrays through
 * the INDArray serializer. Field-by-field Kryo would have to register every class of a configuration's object graph.
 */
final class NetBroadcastSerializer extends Serializer<NetBroadcastTuple> {
    @Override
    public void write(Kryo kryo, Output out, NetBroadcastTuple t) {
        out.writeString(t.getConfiguration() == null ? null : t.getConfiguration().toJson());
        out.writeString(t.getGraphConfiguration() == null ? null : t.getGraphConfiguration().toJson());
        kryo.writeClassAndObject(out, t.getParameters());
        kryo.writeClassAndObject(out, t.getUpdaterState());
    }

    @Override
    public NetBroadcastTuple read(Kryo kryo, Input in, Class<NetBroadcastTuple> type) {
        String layers = in.readString();
        String graph = in.readString();
        INDArray params = (INDArray) kryo.readClassAndObject(in);
        INDArray updater = (INDArray) kryo.readClassAndObject(in);
        return new NetBroadcastTuple(layers == null ? null : MultiLayerConfiguration.fromJson(layers),
            graph == null ? null : ComputationGraphConfiguration.fromJson(graph), params, updater);
    }
}
