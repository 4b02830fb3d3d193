package org.sparklm.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.List;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.sparklm.train.LmBatches;
import org.sparklm.train.OptimizerConfig;

/** Checkpoint round trips: parameters, Adam state, iteration counter and config come back exactly. */
class SaveLoadTest {

    private static int[] savedThreads;

    @BeforeAll
    static void threads() {
        savedThreads = ModelTestSupport.singleThread();
    }

    @AfterAll
    static void restore() {
        ModelTestSupport.restoreThreads(savedThreads);
    }

    private static final TransformerConfig CONFIG =
        new TransformerConfig(30, 2, 16, 2, 32, 8, 0.1, AttentionMode.CAUSAL);

    @Test
    void configurationJsonRoundTrip() {
        ComputationGraphConfiguration conf = TransformerLm.create(CONFIG, OptimizerConfig.defaults(100), 1)
            .getConfiguration();
        ComputationGraphConfiguration back = ComputationGraphConfiguration.fromJson(conf.toJson());
        assertEquals(conf, back);
        assertEquals(conf.toJson(), back.toJson());
        assertTrue(conf.toJson().contains("WarmupCosineSchedule") && conf.toJson().contains("DecoupledWeightDecay"));
    }

    @Test
    void modelAndUpdaterRoundTripThenTrainIdentically() throws Exception {
        ComputationGraph net = TransformerLm.create(CONFIG, OptimizerConfig.defaults(100), 5);
        List<int[]> w = ModelTestSupport.windows(3, 9, 0, 30, 6);
        MultiDataSet batch = LmBatches.clm(w, -1);
        for (int i = 0; i < 3; i++) {
            net.fit(batch);
        }
        ByteArrayOutputStream model = new ByteArrayOutputStream();
        TransformerLm.write(net, model, true);
        String json = CONFIG.toJson();

        ComputationGraph back = TransformerLm.read(new ByteArrayInputStream(model.toByteArray()), true);
        assertEquals(CONFIG, TransformerConfig.fromJson(json));
        assertEquals(net.params(), back.params());
        assertEquals(net.getUpdater().getStateViewArray(), back.getUpdater().getStateViewArray());
        assertEquals(net.getIterationCount(), back.getIterationCount());

        INDArray in = batch.getFeatures(0);
        assertEquals(net.outputSingle(false, in), back.outputSingle(false, in));

        // same RNG state for dropout, then the same steps: identical parameters
        Nd4j.getRandom().setSeed(99);
        net.fit(batch);
        net.fit(batch);
        Nd4j.getRandom().setSeed(99);
        back.fit(batch);
        back.fit(batch);
        assertTrue(net.params().equalsWithEps(back.params(), 1e-6), "training continues identically");

        LanguageModel lm = LanguageModel.read(new ByteArrayInputStream(model.toByteArray()), json);
        assertEquals(CONFIG, lm.config());
        assertEquals(DataType.FLOAT, lm.network().params().dataType());
    }
}
