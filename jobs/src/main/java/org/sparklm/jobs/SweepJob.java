package org.sparklm.jobs;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparklm.UsageException;
import org.sparklm.data.ShardManifest;
import org.sparklm.data.ShardWindows;
import org.sparklm.io.AtomicOutput;
import org.sparklm.io.Json;
import org.sparklm.io.SerializableConf;
import org.sparklm.io.StoredTokenizer;
import org.sparklm.scaling.SweepConfig;
import org.sparklm.scaling.SweepGrid;
import org.sparklm.scaling.SweepReport;
import org.sparklm.scaling.SweepTrainer;

/**
 * {@code sweep}: a grid of pretraining runs, one Spark task per run (each task trains its own model in its executor
 * with {@link SweepTrainer}), then the scaling-law fit and the IsoFLOP minima on the driver ({@link SweepReport}).
 *
 * <pre>
 * spark-submit --class org.sparklm.jobs.Main jobs/target/sparklm-jobs-0.1.0-SNAPSHOT.jar sweep \
 *   --data hdfs:///shards/corpus --output hdfs:///runs/sweep \
 *   --sizes 1x32 2x48 2x64 3x96 --tokens-per-param 5 20 80
 * </pre>
 *
 * <p>The output is written aside and renamed into place at the end (runs/NAME/ by the tasks, then sweep.json,
 * law.json, report.html). A failed run is reported (sweep.json, report.html, the log) and the fit uses the rest.
 */
public final class SweepJob {
    private static final Logger LOG = LoggerFactory.getLogger(SweepJob.class);

    private SweepJob() {
    }

    public static void main(String[] args) throws Exception {
        SweepConfig c = SweepConfig.commandLine().parseOrHelp(args, System.out);
        if (c != null) {
            JobSupport.withContext("sparklm sweep", sc -> run(sc, c));
        }
    }

    /** Runs the sweep on an existing context; tests call this directly. */
    public static SweepReport.Analysis run(JavaSparkContext sc, SweepConfig c) throws IOException {
        Configuration hconf = sc.hadoopConfiguration();
        ShardManifest manifest = ShardWindows.manifest(hconf, new Path(c.data()));
        StoredTokenizer tok;
        if (c.tokenizer() == null) {
            try {
                tok = manifest.tokenizer(hconf, new Path(c.data()));
            } catch (java.io.FileNotFoundException e) {
                throw new UsageException("sweep: " + e.getMessage() + " (--tokenizer DIR)");
            }
        } else {
            tok = StoredTokenizer.read(hconf, c.tokenizer());
        }
        if (!tok.sha256().equals(manifest.tokenizerSha256())) {
            throw new UsageException("sweep: " + c.data() + " was encoded with another tokenizer (sha256 "
                + manifest.tokenizerSha256() + ", the tokenizer has " + tok.sha256() + ")");
        }
        List<SweepGrid.Spec> specs = SweepGrid.runs(c, manifest.vocabSize());
        try (AtomicOutput out = AtomicOutput.begin(hconf, c.output(), c.overwrite())) {
            String runsDir = new Path(out.temp(), "runs").toString();
            SweepTrainer trainer = new SweepTrainer(c, manifest, tok.sha256(),
                tok.model().specialTokens().size(), new SerializableConf(hconf));
            LOG.info("sweep: {} runs ({} sizes x {} token budgets) as {} Spark tasks on {} task slots; vocabulary {},"
                    + " context {}, batch {}", specs.size(), c.sizes().size(), c.tokensPerParam().size(),
                specs.size(), sc.defaultParallelism(), manifest.vocabSize(), c.context(), c.batchSize());
            AtomicInteger finished = new AtomicInteger();
            SparkListener progress = new SparkListener() {
                @Override
                public void onTaskEnd(SparkListenerTaskEnd end) {
                    LOG.info("sweep: {}/{} runs finished", finished.incrementAndGet(), specs.size());
                }
            };
            sc.sc().addSparkListener(progress);
            List<SweepTrainer.RunResult> results;
            try {
                sc.setJobDescription("sweep: " + specs.size() + " runs");
                List<SweepGrid.Spec> grid = specs;   // the closure carries the grid, the trainer and the path only
                results = new ArrayList<>(sc.parallelize(IntStream.range(0, specs.size()).boxed().toList(),
                        specs.size())
                    .map(i -> {
                        RoundLoop.prepareTask();
                        SweepGrid.Spec s = grid.get(i);
                        return trainer.train(s, runsDir + "/" + s.name());
                    })
                    .collect());
            } finally {
                sc.sc().removeSparkListener(progress);
                sc.setJobDescription(null);
            }
            results.sort(Comparator.comparingLong(SweepTrainer.RunResult::parameters)
                .thenComparingDouble(SweepTrainer.RunResult::tokensPerParam));
            for (SweepTrainer.RunResult r : results) {
                if (r.ok()) {
                    LOG.info(String.format(Locale.ROOT, "sweep: %-16s N %9d  D %11d  val %.4f  %.0f tokens/s  %.0f s",
                        r.name(), r.parameters(), r.tokens(), r.valLoss(), r.tokensPerSecond(), r.seconds()));
                } else {
                    LOG.warn("sweep: {} FAILED: {}", r.name(), r.error());
                }
            }
            SweepReport.Analysis a = SweepReport.analyse(results, c.isoflopTolerance());
            ObjectNode law = SweepReport.write(out, Json.MAPPER.valueToTree(c), a, SweepReport.title(c, a));
            if (law != null) {
                var l = a.fit().law();
                LOG.info(String.format(Locale.ROOT, "sweep: fitted L = %.4f + %.4g / N^%.4f + %.4g / D^%.4f"
                    + " (N_opt ~ C^%.3f; Chinchilla: C^%.3f) from %d runs", l.e(), l.a(), l.alpha(), l.b(), l.beta(),
                    l.parameterExponent(), org.sparklm.scaling.ScalingLaw.HOFFMANN.parameterExponent(),
                    a.ok().size()));
            } else {
                LOG.warn("sweep: no law.json: {}", a.fitError());
            }
            out.commit();
            LOG.info("sweep: done: {} of {} runs finished, {} failed; {}/{} and {}", a.ok().size(), results.size(),
                a.failed().size(), c.output(), SweepReport.REPORT_FILE, law == null ? "no law.json" : c.output() + "/"
                    + SweepReport.LAW_FILE);
            return a;
        }
    }
}
