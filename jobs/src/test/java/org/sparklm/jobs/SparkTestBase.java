package org.sparklm.jobs;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** One local[2] Spark context per test class, stopped after the class. */
abstract class SparkTestBase {
    protected static JavaSparkContext sc;

    @BeforeAll
    static void startSpark() {
        SparkConf conf = new SparkConf()
            .setMaster("local[2]")
            .setAppName("sparklm-test")
            .set("spark.ui.enabled", "false")
            .set("spark.ui.showConsoleProgress", "false")
            .set("spark.driver.host", "127.0.0.1")
            .set("spark.driver.bindAddress", "127.0.0.1")
            .set("spark.kryo.registrationRequired", "true");
        JobSupport.defaults(conf);
        sc = new JavaSparkContext(conf);
        sc.setLogLevel("WARN");
    }

    @AfterAll
    static void stopSpark() {
        if (sc != null) {
            sc.stop();
            sc = null;
        }
    }
}
