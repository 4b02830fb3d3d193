package org.sparklm.pretrain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.sparklm.model.AttentionMode;
import org.sparklm.model.TransformerConfig;
import org.sparklm.train.Objective;
import org.sparklm.train.SecondMoment;

/** The run stored in checkpoints: its JSON keys, reading files of earlier versions, and what --resume compares. */
class PretrainRunTest {

    private static PretrainRun run(long steps, String master) {
        TransformerConfig m = new TransformerConfig(500, 2, 64, 2, 256, 64, 0.1, AttentionMode.CAUSAL);
        return new PretrainRun("shards", "ab".repeat(32), Objective.CLM, "tiny", m, m.parameterCount(), 2, 16, 8,
            steps, 1e-3, 1e-4, 10, 0.1, 1.0, 0.9, 0.95, 1e-8, null, null, null, 1234, master);
    }

    @Test
    void writesTheKeysOfStateJsonAndReadsThemBack() {
        ObjectNode j = run(96, "local[2]").toJson();
        for (String k : new String[] {"data", "tokenizer_sha256", "objective", "model_name", "model", "parameters",
            "workers", "batch_size_per_worker", "averaging_frequency", "steps", "lr", "min_lr", "warmup_steps",
            "weight_decay", "grad_clip", "seed", "spark_master", "second_moment", "keep_worker_state"}) {
            assertTrue(j.has(k), k + " in " + j);
        }
        assertEquals("clm", j.path("objective").asText());
        assertEquals("causal", j.path("model").path("attention").asText());
        assertEquals(64, j.path("model").path("d_model").asInt());
        assertEquals(run(96, "local[2]"), PretrainRun.fromJson(j));
        // a file of an earlier version: no Adam betas (their defaults then), an unknown later key ignored
        j.remove("beta1");
        j.remove("beta2");
        j.remove("adam_epsilon");
        j.remove("second_moment");
        j.remove("keep_worker_state");
        j.put("val_loss_untrained", 8.9);
        assertEquals(run(96, "local[2]"), PretrainRun.fromJson(j));
    }

    @Test
    void resumeComparesTheTrajectoryOnly() {
        assertNull(run(96, "local[2]").differenceFrom(run(96, "spark://h:7077")), "the master is not the trajectory");
        assertEquals("steps is 96 but this run asks for 192", run(96, "x").differenceFrom(run(192, "x")));
        PretrainRun a = run(96, "x");
        PretrainRun wider = new PretrainRun(a.data(), a.tokenizerSha256(), a.objective(), a.modelName(),
            a.model().withContextLength(128), a.parameters(), a.workers(), a.batchSizePerWorker(),
            a.averagingFrequency(), a.steps(), a.lr(), a.minLr(), a.warmupSteps(), a.weightDecay(), a.gradClip(),
            a.beta1(), 0.99, a.adamEpsilon(), a.outerOptimizer(), a.outerLr(), a.outerMomentum(), a.seed(), "x");
        assertTrue(a.differenceFrom(wider).startsWith("model is {"), a.differenceFrom(wider));
        assertEquals(96L * 0 + 2 * 16 * 64, a.tokensPerStep());
        assertEquals("second_moment is \"mean\" but this run asks for \"combined\"",
            a.differenceFrom(withAveraging(a, SecondMoment.COMBINED, false)));
        assertEquals("keep_worker_state is false but this run asks for true",
            a.differenceFrom(withAveraging(a, SecondMoment.MEAN, true)));
        assertEquals("combined", withAveraging(a, SecondMoment.COMBINED, false).toJson().path("second_moment").asText());
        assertEquals(12, a.rounds());
    }

    @Test
    void theObjectivesOwnOptionsAreStoredAndComparedOnlyWhereTheyApply() {
        PretrainConfig clm = PretrainConfig.commandLine().parse(new String[] {"--data", "d", "--output", "o",
            "--steps", "5", "--noise-density", "0.3"});
        assertEquals(java.util.Arrays.asList(null, null, null, null),
            java.util.Arrays.asList(PretrainRun.objectiveOptions(clm)));
        PretrainConfig span = PretrainConfig.commandLine().parse(new String[] {"--data", "d", "--output", "o",
            "--steps", "5", "--objective", "span", "--noise-density", "0.3", "--mean-span-length", "2.5"});
        assertEquals(java.util.Arrays.asList(0.3, 2.5, null, null),
            java.util.Arrays.asList(PretrainRun.objectiveOptions(span)));
        PretrainConfig prefix = PretrainConfig.commandLine().parse(new String[] {"--data", "d", "--output", "o",
            "--steps", "5", "--objective", "prefix-lm", "--prefix-min", "0.25", "--prefix-max", "0.75"});
        assertEquals(java.util.Arrays.asList(null, null, 0.25, 0.75),
            java.util.Arrays.asList(PretrainRun.objectiveOptions(prefix)));
        PretrainRun a = withOwn(run(96, "x"), 0.15, 3.0);
        PretrainRun b = withOwn(run(96, "x"), 0.3, 3.0);
        assertEquals("noise_density is 0.15 but this run asks for 0.3", a.differenceFrom(b));
        assertEquals(a, PretrainRun.fromJson(a.toJson()));
        assertEquals(0.15, a.toJson().path("noise_density").asDouble(), 0);
        assertTrue(!run(96, "x").toJson().has("noise_density") && !a.toJson().has("prefix_min"),
            "options an objective does not use are not written");
        assertNull(run(96, "x").differenceFrom(PretrainRun.fromJson(run(96, "x").toJson())));
    }

    private static PretrainRun withAveraging(PretrainRun a, SecondMoment secondMoment, boolean keepWorkerState) {
        return new PretrainRun(a.data(), a.tokenizerSha256(), a.objective(), a.modelName(), a.model(),
            a.parameters(), a.workers(), a.batchSizePerWorker(), a.averagingFrequency(), a.steps(), a.lr(), a.minLr(),
            a.warmupSteps(), a.weightDecay(), a.gradClip(), a.beta1(), a.beta2(), a.adamEpsilon(),
            a.outerOptimizer(), a.outerLr(), a.outerMomentum(), a.seed(), a.sparkMaster(), null, null, null, null,
            secondMoment, keepWorkerState);
    }

    private static PretrainRun withOwn(PretrainRun a, Double density, Double mean) {
        return new PretrainRun(a.data(), a.tokenizerSha256(), Objective.SPAN, a.modelName(), a.model(),
            a.parameters(), a.workers(), a.batchSizePerWorker(), a.averagingFrequency(), a.steps(), a.lr(), a.minLr(),
            a.warmupSteps(), a.weightDecay(), a.gradClip(), a.beta1(), a.beta2(), a.adamEpsilon(),
            a.outerOptimizer(), a.outerLr(), a.outerMomentum(), a.seed(), a.sparkMaster(), density, mean, null, null,
            null, null);
    }
}
