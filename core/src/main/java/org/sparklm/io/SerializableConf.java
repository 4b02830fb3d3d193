package org.sparklm.io;

import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import org.apache.hadoop.conf.Configuration;

/**
 * A Hadoop Configuration that travels in task closures (so {@code spark.hadoop.*} settings reach the executors): Java
 * serialization writes it with Hadoop's own {@code write}/{@code readFields}.
 */
public final class SerializableConf implements Serializable {
    private static final long serialVersionUID = 1L;
    private transient Configuration conf;

    public SerializableConf(Configuration conf) {
        this.conf = conf;
    }

    public Configuration get() {
        return conf;
    }

    private void writeObject(ObjectOutputStream out) throws IOException {
        out.defaultWriteObject();
        conf.write(out);
    }

    private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
        in.defaultReadObject();
        conf = new Configuration(false);
        conf.readFields(in);
    }
}
