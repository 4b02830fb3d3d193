package org.sparklm.jobs;

import org.apache.spark.SparkConf;

/** Defaults every job applies to its SparkConf, without overriding what spark-submit or spark-defaults set. */
final class JobSupport {
    private JobSupport() {
    }

    /** Work to run on a Spark context. */
    @FunctionalInterface
    interface SparkWork {
        void run(org.apache.spark.api.java.JavaSparkContext sc) throws Exception;
    }

    /** Starts a context named {@code app} with the defaults, runs the work, stops the context. */
    static void withContext(String app, SparkWork work) throws Exception {
        SparkConf conf = new SparkConf().setAppName(app);
        defaults(conf);
        try (org.apache.spark.api.java.JavaSparkContext sc = new org.apache.spark.api.java.JavaSparkContext(conf)) {
            work.run(sc);
        }
    }

    static void defaults(SparkConf conf) {
        conf.setIfMissing("spark.serializer", "org.apache.spark.serializer.KryoSerializer");
        conf.setIfMissing("spark.kryo.registrator", "org.sparklm.jobs.KryoRegistrator");
        // stage progress bars on an interactive terminal only (they would clutter logs)
        conf.setIfMissing("spark.ui.showConsoleProgress", String.valueOf(System.console() != null));
    }
}
