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
        kryo.register(DocKey.class);
        kryo.register(DocKey[].class);
        kryo.register(ShardJob.ShardResult.class);
        kryo.register(ShardJob.ShardResult[].class);
    }
}
