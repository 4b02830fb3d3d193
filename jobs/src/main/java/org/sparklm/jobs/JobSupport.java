package org.sparklm.jobs;

import org.apache.spark.SparkConf;

/** Defaults every job applies to its SparkConf, without overriding what spark-submit or spark-defaults set. */
final class JobSupport {
    private JobSupport() {
    }

    static void defaults(SparkConf conf) {
        conf.setIfMissing("spark.serializer", "org.apache.spark.serializer.KryoSerializer");
        conf.setIfMissing("spark.kryo.registrator", "org.sparklm.jobs.KryoRegistrator");
        // stage progress bars on an interactive terminal only (they would clutter logs)
        conf.setIfMissing("spark.ui.showConsoleProgress", String.valueOf(System.console() != null));
    }
}
