package org.sparklm.scaling;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.sparklm.UsageException;
import org.sparklm.checkpoint.Checkpoint;
import org.sparklm.checkpoint.CheckpointStore;
import org.sparklm.io.Json;
import org.sparklm.model.TransformerConfig;
import org.sparklm.pretrain.PretrainRun;
import org.sparklm.report.MetricsLog;
import org.sparklm.report.RoundMetrics;

/**
 * A measured training throughput: tokens per second of one worker on a model. Assuming the same FLOP rate, another
 * model runs at {@code R * F(measured) / F(other)} tokens per second, F the full training FLOPs per token
 * ({@link TransformerConfig#trainingFlopsPerToken()}, attention included: that is what the hardware spends).
 *
 * @param tokensPerSecond per worker
 * @param model           the model it was measured on
 * @param runTokens       tokens the measured run trained on (all workers), 0 when not from a run
 * @param source          where it comes from (a run directory, or "--tokens-per-s")
 */
public record Throughput(double tokensPerSecond, TransformerConfig model, long runTokens, String source) {

    /** The run description a sweep writes next to each run's metrics (the same JSON as a checkpoint's "run"). */
    public static final String RUN_FILE = "run.json";

    /** FLOPs per second of one worker. */
    public double flopsPerSecond() {
        return tokensPerSecond * model.trainingFlopsPerToken();
    }

    /** Tokens per second of one worker on {@code other}, at the same FLOP rate. */
    public double tokensPerSecondOn(TransformerConfig other) {
        return flopsPerSecond() / other.trainingFlopsPerToken();
    }

    /**
     * Reads a run directory: its {@code metrics.jsonl} (tokens over elapsed seconds of the last record, over the
     * run's workers) and its run description ({@code run.json}, else the newest checkpoint's {@code state.json}).
     *
     * @throws UsageException when the directory has no metrics, no usable record or no run description
     */
    public static Throughput ofRun(Configuration conf, String dir) throws IOException {
        Path root = new Path(dir);
        FileSystem fs = root.getFileSystem(conf);
        Path metrics = new Path(root, MetricsLog.FILE);
        if (!fs.exists(metrics)) {
            throw new UsageException("--run " + dir + ": no " + MetricsLog.FILE + " (not a training run directory)");
        }
        List<RoundMetrics> records;
        try (InputStream in = fs.open(metrics)) {
            records = MetricsLog.read(in, metrics.toString());
        }
        if (records.isEmpty()) {
            throw new UsageException("--run " + dir + ": " + MetricsLog.FILE + " has no record");
        }
        RoundMetrics last = records.get(records.size() - 1);
        if (!(last.elapsedSeconds() > 0) || last.tokens() == 0) {
            throw new UsageException("--run " + dir + ": the last record of " + MetricsLog.FILE
                + " has no tokens or no elapsed time");
        }
        JsonNode run = runDescription(fs, root, conf);
        if (run == null) {
            throw new UsageException("--run " + dir + ": no " + RUN_FILE + " and no checkpoint: the model is unknown");
        }
        PretrainRun r;
        try {
            r = PretrainRun.fromJson(run);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--run " + dir + ": " + e.getMessage());
        }
        double perWorker = last.tokens() / last.elapsedSeconds() / Math.max(1, r.workers());
        return new Throughput(perWorker, r.model(), last.tokens(), dir);
    }

    private static JsonNode runDescription(FileSystem fs, Path root, Configuration conf) throws IOException {
        Path f = new Path(root, RUN_FILE);
        if (fs.exists(f)) {
            try (InputStream in = fs.open(f)) {
                return Json.MAPPER.readTree(in);
            }
        }
        if (!fs.exists(new Path(root, CheckpointStore.DIR))) {
            return null;
        }
        try {
            Checkpoint cp = CheckpointStore.open(conf, root.toString(), 1000).latestIntact(false).latest()
                .orElse(null);
            return cp == null ? null : cp.readState().path("run");
        } catch (FileNotFoundException e) {
            return null;
        }
    }

    public ObjectNode toJson() {
        ObjectNode o = Json.object();
        o.put("tokens_per_s_per_worker", tokensPerSecond);
        o.put("flops_per_s_per_worker", flopsPerSecond());
        o.put("source", source);
        o.set("measured_on", Json.MAPPER.valueToTree(java.util.Map.of("layers", model.layers(), "d_model",
            model.dModel(), "heads", model.heads(), "context_length", model.contextLength(), "vocab_size",
            model.vocabSize(), "parameters", Scaling.parameters(model))));
        return o;
    }
}
