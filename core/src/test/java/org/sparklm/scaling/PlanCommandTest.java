package org.sparklm.scaling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparklm.UsageException;
import org.sparklm.checkpoint.CheckpointStore;
import org.sparklm.io.Json;
import org.sparklm.model.TransformerConfig;
import org.sparklm.pretrain.PretrainRun;
import org.sparklm.train.Objective;
import org.sparklm.train.OuterOptimizer;

class PlanCommandTest {
    @TempDir
    Path tmp;

    private static JsonNode plan(String... args) throws Exception {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        assertEquals(0, PlanCommand.run(args, new PrintStream(b, true, StandardCharsets.UTF_8)));
        String out = b.toString(StandardCharsets.UTF_8);
        int end = out.indexOf("\n}\n");
        return Json.MAPPER.readTree(out.substring(0, end + 2));
    }

    @Test
    void flopsBudget() throws Exception {
        JsonNode p = plan("--flops", "5.76e23", "--law", "epoch");
        assertEquals(ScalingLaw.EPOCH.optimalParameters(5.76e23), p.at("/optimal/parameters").asDouble(), 1);
        assertEquals(18.39, p.at("/optimal/tokens_per_parameter").asDouble(), 0.01);
        // N_opt 7.22e10 lies between gpt3-13b (N 1.28e10, 5.6x smaller) and gpt3-175b (N 1.75e11, 2.4x larger)
        assertEquals("gpt3-175b", p.at("/nearest_model/name").asText());
        JsonNode f = p.at("/nearest_model/flops_per_token");
        // 175b: 12 x 96 x 2048 x 12288 = 2.899e13 attention FLOPs per token
        assertEquals(12.0 * 96 * 2048 * 12288, f.get("attention_12ltd").asDouble(), 1);
        assertEquals(f.get("dense_6n").asDouble() + f.get("attention_12ltd").asDouble(), f.get("total").asDouble(), 1);
    }

    @Test
    void hoursAtAThroughput() throws Exception {
        // 10 hours on 4 workers at 1000 tokens/s of tiny (vocab 8000, N 612 096): C = 36 000 x 4 x 1000 x 6 x 612 096
        JsonNode p = plan("--hours", "10", "--workers", "4", "--tokens-per-s", "1000", "--model", "tiny",
            "--family", "gpt");
        double c = 36_000.0 * 4 * 1000 * 6 * 612_096;
        assertEquals(c, p.at("/budget/flops").asDouble(), c * 1e-12);
        // the nearest model trains for the 10 hours at the same FLOP rate (full FLOPs per token, tiny's 3 770 880)
        JsonNode m = p.at("/nearest_model");
        double rate = 1000.0 * 3_770_880 / m.at("/flops_per_token/total").asDouble();
        assertEquals(rate, m.get("tokens_per_s_per_worker").asDouble(), rate * 1e-12);
        assertEquals(36_000.0 * 4 * rate, m.get("tokens").asDouble(), 1e-3);
        assertEquals(10, m.get("wall_hours").asDouble(), 1e-9);
        // --flops: the nearest model's tokens are the budget's, its wall time follows
        JsonNode f = plan("--flops", "1e17", "--tokens-per-s", "1000", "--workers", "4");
        JsonNode fm = f.at("/nearest_model");
        assertEquals(1e17 / (6 * fm.get("parameters").asDouble()), fm.get("tokens").asDouble(), 1);
        assertEquals(fm.get("tokens").asDouble() / (4 * fm.get("tokens_per_s_per_worker").asDouble()) / 3600,
            fm.get("wall_hours").asDouble(), 1e-9);
        // the family at the planner's vocabulary: 2x64 at vocabulary 2048 has N 2 x 49 984 + 128 + 64 x 2048
        JsonNode v = plan("--flops", "1e12", "--family-vocab-size", "2048");
        assertEquals("2x64", v.at("/nearest_model/name").asText());
        assertEquals(2 * 49_984 + 128 + 64 * 2048, v.at("/nearest_model/parameters").asLong());
    }

    @Test
    void runDirectoryGivesTheThroughputAndTheBudget() throws Exception {
        Path run = tmp.resolve("run");
        Files.createDirectories(run);
        TransformerConfig tiny = TransformerConfig.load("tiny", Map.of("vocab_size", "8000"));
        PretrainRun r = new PretrainRun("d", "sha", Objective.CLM, "tiny", tiny, tiny.parameterCount(), 2, 16, 8, 100,
            1e-3, 1e-4, 10, 0.1, 1, null, null, null, OuterOptimizer.Kind.AVERAGE, null, null, 1, "local");
        Files.write(run.resolve(Throughput.RUN_FILE), Json.MAPPER.writeValueAsBytes(r.toJson()));
        Files.writeString(run.resolve("metrics.jsonl"), "{\"round\":1,\"step\":8,\"total_steps\":100,"
            + "\"tokens\":200000,\"train_loss\":5,\"val_loss\":null,\"mlm_accuracy\":null,\"lr\":0.001,"
            + "\"tokens_per_s\":4000,\"seconds\":50,\"elapsed_seconds\":50,\"eta_seconds\":null}\n");
        JsonNode p = plan("--run", run.toString());
        // 200 000 tokens in 50 s on 2 workers: 2 000 tokens/s per worker; budget 6 x 612 096 x 200 000
        assertEquals(2000, p.at("/throughput/tokens_per_s_per_worker").asDouble(), 1e-9);
        assertEquals(6.0 * 612_096 * 200_000, p.at("/budget/flops").asDouble(), 1);
        assertTrue(p.at("/nearest_model/wall_hours").asDouble() > 0);
        // a pretrain run directory: no run.json, the run described by its newest checkpoint's state.json
        Files.delete(run.resolve(Throughput.RUN_FILE));
        assertThrows(UsageException.class, () -> plan("--run", run.toString()));
        ObjectNode state = Json.object();
        state.put("step", 8);
        state.set("run", r.toJson());
        CheckpointStore.open(new Configuration(), run.toString(), 3).write(8, state, Map.of());
        assertEquals(2000, plan("--run", run.toString()).at("/throughput/tokens_per_s_per_worker").asDouble(), 1e-9);
    }

    @Test
    void badInputIsOneUsageError() throws Exception {
        Path empty = tmp.resolve("empty");
        Files.createDirectories(empty);
        Path noConstants = tmp.resolve("law.json");
        Files.writeString(noConstants, "{\"E\": 1.7, \"alpha\": 0.3}");
        String[][] bad = {
            {},                                                    // no budget
            {"--flops", "-1e20"},                                  // negative compute
            {"--flops", "1e20", "--law", noConstants.toString()},  // a law file without its constants
            {"--run", empty.toString()},                           // a run directory without metrics
            {"--hours", "5"},                                      // hours without a throughput
            {"--flops", "1e20", "--law", "nope"},                  // unknown law
        };
        for (String[] args : bad) {
            Exception e = assertThrows(Exception.class, () -> PlanCommand.plan(PlanConfig.commandLine().parse(args),
                new Configuration()), String.join(" ", args));
            assertTrue(e instanceof UsageException || e instanceof IllegalArgumentException, e.toString());
        }
    }

    @Test
    void familyFile() throws Exception {
        Path f = tmp.resolve("family.json");
        Files.writeString(f, "{\"vocab_size\": 1000, \"context_length\": 128, \"models\": ["
            + "{\"name\": \"a\", \"layers\": 1, \"d_model\": 32, \"heads\": 1},"
            + "{\"name\": \"b\", \"layers\": 4, \"d_model\": 256, \"heads\": 4, \"context_length\": 512}]}");
        ModelFamily fam = ModelFamily.load(new Configuration(), f.toString());
        // the same file as a Hadoop URI (what hdfs:// or s3a:// paths go through)
        assertEquals(2, ModelFamily.load(new Configuration(), f.toUri().toString()).models().size());
        assertEquals(128, fam.models().get(0).config().contextLength());
        assertEquals(512, fam.models().get(1).config().contextLength());
        assertEquals("b", fam.nearest(3e6).name());
        assertEquals("a", fam.nearest(1e4).name());
        Files.writeString(f, "{\"vocab_size\": 1000, \"models\": [{\"name\": \"a\", \"layers\": 1, \"d_model\": 32,"
            + " \"heads\": 3, \"context_length\": 64}]}");
        assertThrows(UsageException.class, () -> ModelFamily.load(new Configuration(), f.toString()));
    }
}
