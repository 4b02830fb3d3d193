package org.sparklm.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * The jobs on a real Spark standalone cluster reading and writing a real HDFS, through the real spark-submit path:
 * {@code deploy/bin/hdfs start} (NameNode + DataNode), {@code deploy/bin/cluster start} (a master and 2 workers of
 * 1 core each), then {@code deploy/bin/submit --master spark://127.0.0.1:PORT COMMAND} with every input and output on
 * hdfs://, each result checked against the same command in local mode ({@code --master local[2]}) on local files.
 * The workers offer fake GPUs (deploy/conf/gpu-discovery-fake.sh: worker I has address I), which only the GPU test
 * asks for. The failure tests: an executor SIGKILLed in the middle of bpe-train and of pretrain (the job completes),
 * the driver SIGKILLed in the middle of pretrain and the command resubmitted with {@code --resume} (training continues
 * from the newest checkpoint to the requested step), a worker stopped and started again during pretrain (a new
 * executor on it runs later rounds); after each, nothing half-written is left in the output directory.
 * The cluster runs use {@code conf/cluster/standalone.conf} and {@code spark.kryo.registrationRequired=true}, so a
 * class missing from the Kryo registrator fails the test.
 *
 * <p>Everything lives in {@code target/e2e} (run directories, logs of every command in {@code target/e2e/logs});
 * every process started is stopped by PID in {@link #stopServices()}, also from a shutdown hook.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterEndToEndIT {
    /** Lines of data/brown/brown.txt in the corpus: about 350 KB, 10 000 unique words. */
    private static final int LINES = 3000;
    private static final String VOCAB = "1000";
    private static final Duration SERVICE_TIMEOUT = Duration.ofSeconds(150);
    private static final Duration JOB_TIMEOUT = Duration.ofSeconds(240);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The line a training task logs for its GPU: Nd4jDeviceBinder on the CPU backend, GpuBinding on CUDA. */
    private static final Pattern GPU_LOG = Pattern.compile(
        "task \\d+ (?:was assigned GPU address\\(es\\) |bound to GPU address )(\\S+)");

    private final AtomicBoolean stopped = new AtomicBoolean();
    private Path home;
    private Path dir;
    private Path clusterDir;
    private Path hdfsDir;
    private Path corpus;
    private Scripts sh;
    private Thread shutdownHook;
    private String hdfs;
    private String master;
    private FileSystem fs;
    private boolean tokenizerDone;
    private boolean shardsDone;

    @BeforeAll
    void startServices() throws Exception {
        home = Path.of(System.getProperty("sparklm.home", "../..")).toRealPath();
        dir = Path.of(System.getProperty("sparklm.e2e.dir", "target/e2e")).toAbsolutePath().normalize();
        clusterDir = dir.resolve("cluster");
        hdfsDir = dir.resolve("hdfs");
        stopLeftovers();
        deleteTree(dir);
        Files.createDirectories(dir);
        sh = new Scripts(home, dir.resolve("logs"));
        shutdownHook = new Thread(this::stopServices, "e2e-stop-services");
        Runtime.getRuntime().addShutdownHook(shutdownHook);

        corpus = dir.resolve("input/brown.txt");
        Files.createDirectories(corpus.getParent());
        try (Stream<String> lines = Files.lines(home.resolve("data/brown/brown.txt"), StandardCharsets.UTF_8)) {
            Files.write(corpus, (Iterable<String>) lines.limit(LINES)::iterator, StandardCharsets.UTF_8);
        }

        ok(sh.run("hdfs-start", SERVICE_TIMEOUT, "hdfs", "start", "--run-dir", hdfsDir.toString(),
            "--namenode-port", "0", "--http-port", "0", "--timeout", "120"));
        hdfs = Files.readString(hdfsDir.resolve("hdfs.uri"), StandardCharsets.UTF_8).trim();
        int masterPort = freePort();
        int masterUiPort = freePort();
        ok(sh.run("cluster-start", SERVICE_TIMEOUT, "cluster", "start", "--run-dir", clusterDir.toString(),
            "--workers", "2", "--worker-cores", "1", "--worker-memory", "1g", "--master-port",
            String.valueOf(masterPort), "--master-ui-port", String.valueOf(masterUiPort), "--worker-ui-port", "0",
            "--gpus-per-worker", "1", "--fake-gpus", "--timeout", "120"));
        master = "spark://127.0.0.1:" + masterPort;
        // the corpus goes up through the script's file system shell, as a user would put it there
        ok(sh.run("hdfs-put", SERVICE_TIMEOUT, "hdfs", "dfs", "--run-dir", hdfsDir.toString(), "-put",
            corpus.toString(), "/brown.txt"));

        Configuration conf = new Configuration();
        conf.setBoolean("fs.hdfs.impl.disable.cache", true);
        fs = FileSystem.get(URI.create(hdfs), conf);
        assertEquals(Files.size(corpus), fs.getFileStatus(new org.apache.hadoop.fs.Path("/brown.txt")).getLen());
    }

    /** A previous run killed before its cleanup may have left daemons: their scripts stop the PIDs they recorded. */
    private void stopLeftovers() throws IOException, InterruptedException {
        if (!Files.isDirectory(clusterDir.resolve("pids")) && !Files.isDirectory(hdfsDir.resolve("pids"))) {
            return;
        }
        Path logs = Files.createTempDirectory("sparklm-e2e-leftovers");
        try (Scripts old = new Scripts(home, logs)) {
            old.run("cluster-stop-leftovers", Duration.ofSeconds(120), "cluster", "stop", "--run-dir",
                clusterDir.toString(), "--timeout", "30");
            old.run("hdfs-stop-leftovers", Duration.ofSeconds(120), "hdfs", "stop", "--run-dir", hdfsDir.toString(),
                "--timeout", "30");
        }
        deleteTree(logs);
    }

    /** Stops the cluster and HDFS through their scripts, and kills any command still running. Idempotent. */
    @AfterAll
    void stopServices() {
        if (!stopped.compareAndSet(false, true)) {
            return;
        }
        try {
            if (fs != null) {
                fs.close();
            }
        } catch (IOException e) {
            // the NameNode may already be gone
        }
        if (sh == null) {
            return;
        }
        sh.close();
        for (String[] stop : new String[][] {{"cluster", clusterDir.toString()}, {"hdfs", hdfsDir.toString()}}) {
            try {
                Scripts.Result r = sh.run(stop[0] + "-stop", Duration.ofSeconds(120), stop[0], "stop", "--run-dir",
                    stop[1], "--timeout", "30");
                if (r.exitCode() != 0) {
                    System.err.println(r.describe());
                }
            } catch (Exception | AssertionError e) {
                System.err.println("e2e: could not stop " + stop[0] + ": " + e);
            }
        }
        sh.close();
        deleteExecutorJars();
        if (Thread.currentThread() != shutdownHook) {
            try {
                Runtime.getRuntime().removeShutdownHook(shutdownHook);
            } catch (IllegalStateException e) {
                // the JVM is shutting down already
            }
        }
    }

    /**
     * Each executor keeps a copy of the application jar (about 150 MB) in its work directory: deleted once the
     * cluster has stopped, keeping the executors' logs.
     */
    private void deleteExecutorJars() {
        Path work = clusterDir.resolve("work");
        if (!Files.isDirectory(work)) {
            return;
        }
        try (Stream<Path> s = Files.walk(work)) {
            s.filter(p -> p.toString().endsWith(".jar")).forEach(p -> p.toFile().delete());
        } catch (IOException | UncheckedIOException e) {
            System.err.println("e2e: could not delete the executors' jars: " + e);
        }
    }

    @Test
    @Order(1)
    @Timeout(600)
    void bpeTrainOnTheClusterGivesTheLocalMerges() throws Exception {
        Path local = dir.resolve("local/tokenizer");
        ok(submit("bpe-train-local", "local[2]", "bpe-train", "--input", corpus.toString(), "--output",
            local.toString(), "--vocab-size", VOCAB));

        Set<String> appsBefore = apps();
        ok(submit("bpe-train-cluster", master, "bpe-train", "--input", hdfs + "/brown.txt", "--output",
            hdfs + "/out/tokenizer", "--vocab-size", VOCAB));
        assertRanOnBothWorkers(appsBefore);

        List<String> merges = lines(local.resolve("merges.txt"));
        assertTrue(merges.size() > 500, "merges.txt has " + merges.size() + " lines");
        assertEquals(merges, hdfsLines("/out/tokenizer/merges.txt"), "merges on the cluster vs local mode");
        for (String f : List.of("vocab.json", "tokenizer.json")) {
            assertArrayEquals(Files.readAllBytes(local.resolve(f)), hdfsBytes("/out/tokenizer/" + f), f);
        }
        assertEquals(Set.of("merges.txt", "vocab.json", "tokenizer.json", "report.json"), hdfsNames("/out/tokenizer"));
        assertEquals(Set.of("tokenizer"), hdfsNames("/out"), "nothing but the output in /out");
        tokenizerDone = true;
    }

    @Test
    @Order(2)
    @Timeout(600)
    void shardOnTheClusterGivesTheLocalShards() throws Exception {
        assumeTrue(tokenizerDone, "needs the tokenizer of the bpe-train test");
        Path local = dir.resolve("local/shards");
        String[] opts = {"--val-fraction", "0.05", "--shards", "2"};
        ok(submit("shard-local", "local[2]", concat(new String[] {"shard", "--input", corpus.toString(),
            "--tokenizer", dir.resolve("local/tokenizer").toString(), "--output", local.toString()}, opts)));
        Set<String> appsBefore = apps();
        ok(submit("shard-cluster", master, concat(new String[] {"shard", "--input", hdfs + "/brown.txt",
            "--tokenizer", hdfs + "/out/tokenizer", "--output", hdfs + "/out/shards"}, opts)));
        assertRanOnBothWorkers(appsBefore);

        Set<String> localFiles = new TreeSet<>();
        try (Stream<Path> s = Files.list(local)) {
            s.forEach(p -> localFiles.add(p.getFileName().toString()));
        }
        assertEquals(Set.of("manifest.json", "tokenizer.json", "train-00000-of-00002.bin", "train-00001-of-00002.bin",
            "val-00000-of-00001.bin"), localFiles);
        assertEquals(localFiles, hdfsNames("/out/shards"));
        for (String f : localFiles) {
            if (f.endsWith(".bin") || f.equals("tokenizer.json")) {
                assertArrayEquals(Files.readAllBytes(local.resolve(f)), hdfsBytes("/out/shards/" + f), f);
            }
        }
        // the manifest less its report (timings, paths, master) must be identical: hashes, counts, tokenizer
        ObjectNode localManifest = (ObjectNode) JSON.readTree(local.resolve("manifest.json").toFile());
        ObjectNode clusterManifest = (ObjectNode) JSON.readTree(hdfsBytes("/out/shards/manifest.json"));
        assertEquals(localManifest.get("report").get("splits"), clusterManifest.get("report").get("splits"));
        localManifest.remove("report");
        clusterManifest.remove("report");
        assertEquals(localManifest, clusterManifest);
        assertEquals(Set.of("tokenizer", "shards"), hdfsNames("/out"), "nothing but the outputs in /out");
        shardsDone = true;
    }

    @Test
    @Order(3)
    @Timeout(600)
    void pretrainOnTheClusterLowersTheValidationLoss() throws Exception {
        assumeTrue(shardsDone, "needs the shards of the shard test");
        Set<String> appsBefore = apps();
        Scripts.Result train = ok(submit("pretrain-cluster", master, "pretrain", "--data", hdfs + "/out/shards",
            "--tokenizer", hdfs + "/out/tokenizer", "--output", hdfs + "/out/model", "--model", "tiny",
            "--objective", "clm", "--workers", "2", "--steps", "16", "--averaging-frequency", "4",
            "--eval-every", "1", "--eval-windows", "64"));
        assertRanOnBothWorkers(appsBefore);

        List<JsonNode> metrics = new ArrayList<>();
        for (String line : hdfsLines("/out/model/metrics.jsonl")) {
            metrics.add(JSON.readTree(line));
        }
        assertEquals(4, metrics.size(), "one metrics record per round (16 steps / 4)");
        JsonNode last = metrics.get(metrics.size() - 1);
        assertEquals(16, last.get("step").asInt());
        double firstVal = metrics.get(0).get("val_loss").asDouble();
        double lastVal = last.get("val_loss").asDouble();
        double untrained = untrainedValLoss(train.stderr());
        assertTrue(lastVal < firstVal && lastVal < untrained - 0.1,
            "validation loss went down: untrained " + untrained + ", round 1 " + firstVal + ", last " + lastVal);
        assertTrue(fs.exists(new org.apache.hadoop.fs.Path("/out/model/checkpoints/step-00000016/model.zip")));
        assertTrue(fs.exists(new org.apache.hadoop.fs.Path("/out/model/report.html")));

        // evaluate (a plain JVM) reads the run directory's newest checkpoint and the shards from hdfs://
        Scripts.Result eval = ok(sh.run("evaluate", JOB_TIMEOUT, "evaluate", "--checkpoint", hdfs + "/out/model",
            "--data", hdfs + "/out/shards", "--eval-windows", "64"));
        JsonNode result = JSON.readTree(eval.stdout());
        assertEquals(16, result.get("step").asInt());
        assertEquals(lastVal, result.get("loss").asDouble(), 1e-3,
            "evaluate on the final checkpoint gives the last round's validation loss (same windows)");
        assertTrue(hdfsNames("/out/model").stream().noneMatch(n -> n.startsWith(".")),
            "no temporary files left in the run directory: " + hdfsNames("/out/model"));
    }

    @Test
    @Order(4)
    @Timeout(600)
    void pretrainTasksGetDistinctGpuAddresses() throws Exception {
        assumeTrue(shardsDone, "needs the shards of the shard test");
        Set<String> appsBefore = apps();
        // one GPU per executor and per task (conf/spark-gpu.conf); the workers offer the fake addresses 0 and 1
        ok(sh.run("pretrain-cluster-gpu", JOB_TIMEOUT, "submit", submitArgs(master, List.of("--conf",
            "spark.executor.resource.gpu.amount=1", "--conf", "spark.task.resource.gpu.amount=1"), "pretrain",
            "--data", hdfs + "/out/shards", "--tokenizer", hdfs + "/out/tokenizer", "--output", hdfs + "/out/model-gpu",
            "--model", "tiny", "--objective", "clm", "--workers", "2", "--steps", "4", "--averaging-frequency", "4",
            "--eval-windows", "16")));
        String app = assertRanOnBothWorkers(appsBefore);
        // each worker's executor trained with the GPU address its worker offered: worker I has address I
        for (int w = 0; w < 2; w++) {
            Set<String> addresses = new TreeSet<>();
            try (Stream<Path> logs = Files.walk(clusterDir.resolve("work/worker-" + w + "/" + app))) {
                for (Path log : logs.filter(p -> p.getFileName().toString().equals("stderr")).toList()) {
                    Matcher m = GPU_LOG.matcher(Files.readString(log, StandardCharsets.UTF_8));
                    while (m.find()) {
                        addresses.add(m.group(1));
                    }
                }
            }
            assertEquals(Set.of(String.valueOf(w)), addresses, "GPU addresses the training tasks on worker-" + w
                + " logged");
        }
    }

    @Test
    @Order(5)
    @Timeout(600)
    void bpeTrainSurvivesAKilledExecutor() throws Exception {
        assumeTrue(tokenizerDone, "compares with the local merges of the bpe-train test");
        Set<String> appsBefore = apps();
        Scripts.Running job = sh.start("bpe-train-cluster-kill", "submit", submitArgs(master, List.of(), "bpe-train",
            "--input", hdfs + "/brown.txt", "--output", hdfs + "/out/tokenizer-kill", "--vocab-size", VOCAB));
        long killed = -1;
        long deadline = System.nanoTime() + JOB_TIMEOUT.toNanos();
        while (killed < 0 && job.isAlive() && System.nanoTime() < deadline) {
            for (Executor e : executors()) {
                if (!appsBefore.contains(e.app()) && e.runningATask()) {
                    // SIGKILL: the executor gets no chance to say goodbye, as when its machine dies
                    ProcessHandle.of(e.pid()).ifPresent(ProcessHandle::destroyForcibly);
                    killed = e.pid();
                    System.err.println("e2e: killed executor " + e + " (a task was running)");
                    break;
                }
            }
            Thread.sleep(100);
        }
        assertTrue(killed > 0, "no executor of the job was seen running a task before the job ended");
        Scripts.Result r = ok(job.await(JOB_TIMEOUT));
        assertTrue(r.stderr().contains("Lost executor"), "the driver saw the executor go:\n"
            + Scripts.tail(r.stderr(), 40));
        assertEquals(lines(dir.resolve("local/tokenizer/merges.txt")), hdfsLines("/out/tokenizer-kill/merges.txt"),
            "merges after an executor was killed vs local mode");
        assertEquals(Set.of("merges.txt", "vocab.json", "tokenizer.json", "report.json"),
            hdfsNames("/out/tokenizer-kill"));
        assertTrue(hdfsNames("/out").stream().noneMatch(n -> n.startsWith(".")),
            "nothing half-written beside the outputs: " + hdfsNames("/out"));
    }

    // ---- pretraining under failures (issue 5): small runs, checkpoint every round ----

    /** The pretrain command of the failure tests: tiny, clm, W=2, context 32, 4 steps per round, hdfs:// data. */
    private String[] pretrainCommand(String output, int steps, String... extra) {
        List<String> c = new ArrayList<>(List.of("pretrain", "--data", hdfs + "/out/shards", "--tokenizer",
            hdfs + "/out/tokenizer", "--output", hdfs + output, "--model", "tiny", "--model-set", "context_length=32",
            "--objective", "clm", "--workers", "2", "--steps", String.valueOf(steps), "--averaging-frequency", "4",
            "--eval-every", "1", "--eval-windows", "32", "--checkpoint-every", "1"));
        c.addAll(Arrays.asList(extra));
        return c.toArray(String[]::new);
    }

    private Scripts.Running startPretrain(String label, String output, int steps, String... extra) throws IOException {
        return sh.start(label, "submit", submitArgs(master, List.of(), pretrainCommand(output, steps, extra)));
    }

    /** Waits until the driver's log has a line containing {@code text}; false if the job ended first or timed out. */
    private static boolean awaitLog(Scripts.Running job, String text, Duration timeout)
            throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (job.stderrSoFar().contains(text)) {
                return true;
            }
            if (!job.isAlive()) {
                return job.stderrSoFar().contains(text);
            }
            Thread.sleep(50);
        }
        return false;
    }

    /** metrics.jsonl of a run directory on HDFS, one node per round. */
    private List<JsonNode> hdfsMetrics(String runDir) throws IOException {
        List<JsonNode> metrics = new ArrayList<>();
        for (String line : hdfsLines(runDir + "/metrics.jsonl")) {
            if (!line.isBlank()) {
                metrics.add(JSON.readTree(line));
            }
        }
        return metrics;
    }

    /**
     * A finished run of {@code steps} steps, 4 per round: one metrics record per round with steps 4, 8, ..., steps
     * (a single trajectory, even across a resume), the last validation loss below the first round's and below
     * {@code untrained}, the final checkpoint complete, nothing half-written anywhere in the run directory.
     */
    private void assertCompleteRun(String runDir, int steps, double untrained) throws IOException {
        List<JsonNode> metrics = hdfsMetrics(runDir);
        List<Integer> got = metrics.stream().map(m -> m.get("step").asInt()).toList();
        List<Integer> want = new ArrayList<>();
        for (int s = 4; s <= steps; s += 4) {
            want.add(s);
        }
        assertEquals(want, got, "the steps of " + runDir + "/metrics.jsonl");
        double firstVal = metrics.get(0).get("val_loss").asDouble();
        double lastVal = metrics.get(metrics.size() - 1).get("val_loss").asDouble();
        assertTrue(lastVal < firstVal && lastVal < untrained - 0.1,
            "validation loss went down: untrained " + untrained + ", round 1 " + firstVal + ", last " + lastVal);
        String last = String.format(java.util.Locale.ROOT, "step-%08d", steps);
        assertTrue(hdfsNames(runDir + "/checkpoints").contains(last), "final checkpoint " + last + " in "
            + hdfsNames(runDir + "/checkpoints"));
        for (String blob : List.of("checkpoint.json", "state.json", "model.zip")) {
            assertTrue(fs.exists(new org.apache.hadoop.fs.Path(runDir + "/checkpoints/" + last + "/" + blob)),
                last + "/" + blob);
        }
        assertTrue(fs.exists(new org.apache.hadoop.fs.Path(runDir + "/report.html")), "report.html");
        assertNothingHalfWritten(runDir);
    }

    /** No hidden (temporary, {@code ._tmp-}, {@code ._old-}) file or directory anywhere under {@code root} on HDFS. */
    private void assertNothingHalfWritten(String root) throws IOException {
        List<String> hidden = new ArrayList<>();
        List<org.apache.hadoop.fs.Path> todo = new ArrayList<>(List.of(new org.apache.hadoop.fs.Path(root)));
        while (!todo.isEmpty()) {
            for (FileStatus s : fs.listStatus(todo.remove(todo.size() - 1))) {
                String name = s.getPath().getName();
                if (name.startsWith(".") || name.contains("._tmp") || name.contains("._old")) {
                    hidden.add(s.getPath().toUri().getPath());
                }
                if (s.isDirectory()) {
                    todo.add(s.getPath());
                }
            }
        }
        assertEquals(List.of(), hidden, "half-written files left under " + root);
    }

    /** The new application's id once its executors have started (their work directories exist). */
    private String awaitNewApp(Set<String> before, Scripts.Running job) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + JOB_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline && job.isAlive()) {
            Set<String> added = apps();
            added.removeAll(before);
            if (!added.isEmpty()) {
                return added.iterator().next();
            }
            Thread.sleep(100);
        }
        throw new AssertionError("the job started no executor:\n" + Scripts.tail(job.stderrSoFar(), 30));
    }

    /** How many times {@code text} occurs in {@code s}. */
    private static int count(String s, String text) {
        int n = 0;
        for (int i = s.indexOf(text); i >= 0; i = s.indexOf(text, i + text.length())) {
            n++;
        }
        return n;
    }

    @Test
    @Order(6)
    @Timeout(600)
    void pretrainSurvivesAKilledExecutor() throws Exception {
        assumeTrue(shardsDone, "needs the shards of the shard test");
        long t0 = System.nanoTime();
        String out = "/out/model-executor-kill";
        Set<String> appsBefore = apps();
        Scripts.Running job = startPretrain("pretrain-cluster-executor-kill", out, 16);
        Executor killed = null;
        try {
            // after the first round, so that the job is well in the middle: the next round's task on an executor
            assertTrue(awaitLog(job, "round 1 |", JOB_TIMEOUT), "round 1 never ended:\n"
                + Scripts.tail(job.stderrSoFar(), 40));
            List<Executor> mine = executors().stream().filter(e -> !appsBefore.contains(e.app())).toList();
            assertFalse(mine.isEmpty(), "no executor of the job is running");
            long deadline = System.nanoTime() + JOB_TIMEOUT.toNanos();
            while (killed == null && job.isAlive() && System.nanoTime() < deadline) {
                for (Executor e : mine) {
                    String log = Files.readString(e.workDir().resolve("stderr"), StandardCharsets.UTF_8);
                    if (count(log, "Running task") > count(log, "Finished task")) {
                        // SIGKILL in the middle of a training task, as when the executor's machine dies
                        ProcessHandle.of(e.pid()).ifPresent(ProcessHandle::destroyForcibly);
                        killed = e;
                        System.err.println("e2e: killed executor " + e + " while it ran a pretraining task");
                        break;
                    }
                }
                Thread.sleep(20);
            }
            assertNotNull(killed, "no executor of the job was seen running a task before the job ended");
            assertFalse(job.stderrSoFar().contains("pretrain: done"), "the executor was killed after the job was done");
            Scripts.Result r = ok(job.await(JOB_TIMEOUT));
            assertTrue(r.stderr().contains("Lost executor"), "the driver saw the executor go:\n"
                + Scripts.tail(r.stderr(), 40));
            assertCompleteRun(out, 16, untrainedValLoss(r.stderr()));
        } finally {
            sh.close();
        }
        System.err.printf("e2e: pretrain with a killed executor (%s): %.0f s%n", killed,
            (System.nanoTime() - t0) / 1e9);
    }

    @Test
    @Order(7)
    @Timeout(600)
    void pretrainResumesAfterAKilledDriver() throws Exception {
        assumeTrue(shardsDone, "needs the shards of the shard test");
        long t0 = System.nanoTime();
        String out = "/out/model-driver-kill";
        Scripts.Running job = startPretrain("pretrain-cluster-driver-kill", out, 16);
        double untrained;
        String killedAfter;
        try {
            // the driver is the JVM of deploy/bin/submit itself (the script execs java)
            String cmd = "?";
            for (int i = 0; i < 200 && !cmd.endsWith("/java") && job.isAlive(); i++) {
                Thread.sleep(50);
                cmd = ProcessHandle.of(job.pid()).flatMap(h -> h.info().command()).orElse("?");
            }
            assertTrue(cmd.endsWith("/java"), "deploy/bin/submit execs the driver's JVM: " + cmd);
            org.apache.hadoop.fs.Path pattern =
                new org.apache.hadoop.fs.Path(out + "/checkpoints/step-*/checkpoint.json");
            FileStatus[] done = null;
            long deadline = System.nanoTime() + JOB_TIMEOUT.toNanos();
            while (job.isAlive() && System.nanoTime() < deadline) {
                done = fs.globStatus(pattern);
                if (done != null && done.length > 0) {
                    break;
                }
                Thread.sleep(50);
            }
            assertTrue(done != null && done.length > 0, "no checkpoint appeared before the job ended:\n"
                + Scripts.tail(job.stderrSoFar(), 40));
            // SIGKILL: no shutdown hook, no cleanup, as when the driver's machine dies
            ProcessHandle.of(job.pid()).ifPresent(ProcessHandle::destroyForcibly);
            Scripts.Result r = job.await(Duration.ofSeconds(30));
            assertTrue(r.exitCode() != 0, "the driver was killed");
            assertFalse(r.stderr().contains("pretrain: done"), "the driver was killed after the job was done");
            untrained = untrainedValLoss(r.stderr());
            killedAfter = Arrays.stream(done).map(s -> s.getPath().getParent().getName()).sorted().toList()
                .toString();
            System.err.println("e2e: killed the driver (PID " + job.pid() + ") after checkpoints " + killedAfter);
        } finally {
            sh.close();
        }

        // the same command with --resume: continues from the newest checkpoint to the requested step count
        Scripts.Result resumed = ok(sh.run("pretrain-cluster-resume", JOB_TIMEOUT, "submit",
            submitArgs(master, List.of(), pretrainCommand(out, 16, "--resume"))));
        Matcher m = Pattern.compile("pretrain: resuming \\S+ at step (\\d+) of 16").matcher(resumed.stderr());
        assertTrue(m.find(), "the resumed run says where it resumes:\n" + Scripts.tail(resumed.stderr(), 30));
        int from = Integer.parseInt(m.group(1));
        assertTrue(from > 0 && from < 16 && from % 4 == 0, "resumed at step " + from + " (checkpoints " + killedAfter
            + " when the driver was killed)");
        assertFalse(resumed.stderr().contains("(untrained) val"), "a resumed run does not start from scratch");
        assertTrue(resumed.stderr().contains("pretrain: done at step 16"), Scripts.tail(resumed.stderr(), 20));
        assertCompleteRun(out, 16, untrained);
        System.err.printf("e2e: pretrain killed driver + resume from step %d: %.0f s%n", from,
            (System.nanoTime() - t0) / 1e9);
    }

    @Test
    @Order(8)
    @Timeout(600)
    void pretrainUsesAWorkerAgainAfterItRestarts() throws Exception {
        assumeTrue(shardsDone, "needs the shards of the shard test");
        long t0 = System.nanoTime();
        String out = "/out/model-worker-restart";
        int steps = 48;
        Set<String> appsBefore = apps();
        Scripts.Running job = startPretrain("pretrain-cluster-worker-restart", out, steps);
        boolean workerDown = false;
        try {
            assertTrue(awaitLog(job, "round 1 |", JOB_TIMEOUT), "round 1 never ended:\n"
                + Scripts.tail(job.stderrSoFar(), 40));
            String app = awaitNewApp(appsBefore, job);
            ok(sh.run("cluster-stop-worker", SERVICE_TIMEOUT, "cluster", "stop-worker", "1", "--run-dir",
                clusterDir.toString(), "--timeout", "30"));
            workerDown = true;
            String atStop = lastRoundLine(job.stderrSoFar());
            Thread.sleep(1000);  // a short outage: the job goes on with worker 0 alone
            Set<String> executorsBefore = executorDirs(1, app);
            ok(sh.run("cluster-start-worker", SERVICE_TIMEOUT, "cluster", "start-worker", "1", "--run-dir",
                clusterDir.toString(), "--timeout", "60"));
            workerDown = false;
            String atRestart = lastRoundLine(job.stderrSoFar());
            assertTrue(job.isAlive() && !job.stderrSoFar().contains("pretrain: done"),
                "the job ended before worker 1 was back");
            Scripts.Result r = ok(job.await(JOB_TIMEOUT));
            System.err.println("e2e: worker 1 stopped after [" + atStop + "], back after [" + atRestart + "]");
            // a new executor on the restarted worker ran training tasks of the same application
            Set<String> added = executorDirs(1, app);
            added.removeAll(executorsBefore);
            boolean ranTasks = false;
            for (String id : added) {
                Path log = clusterDir.resolve("work/worker-1/" + app + "/" + id + "/stderr");
                ranTasks |= Files.isRegularFile(log)
                    && Files.readString(log, StandardCharsets.UTF_8).contains("Finished task");
            }
            assertTrue(ranTasks, "a new executor on worker-1 (" + added + ") ran tasks of " + app
                + " after the restart; driver log:\n" + Scripts.tail(r.stderr(), 30));
            assertCompleteRun(out, steps, untrainedValLoss(r.stderr()));
        } finally {
            sh.close();
            if (workerDown) {
                sh.run("cluster-start-worker-cleanup", SERVICE_TIMEOUT, "cluster", "start-worker", "1", "--run-dir",
                    clusterDir.toString(), "--timeout", "60");
            }
        }
        System.err.printf("e2e: pretrain with worker 1 stopped and restarted: %.0f s%n",
            (System.nanoTime() - t0) / 1e9);
    }

    /** The executor ids the application has had on worker I (directories under its work directory). */
    private Set<String> executorDirs(int worker, String app) throws IOException {
        Set<String> ids = new TreeSet<>();
        Path d = clusterDir.resolve("work/worker-" + worker + "/" + app);
        if (Files.isDirectory(d)) {
            try (Stream<Path> s = Files.list(d)) {
                s.forEach(p -> ids.add(p.getFileName().toString()));
            }
        }
        return ids;
    }

    /** The driver's last "round N | step S/T" line so far, for the test's own log. */
    private static String lastRoundLine(String log) {
        String last = "(no round yet)";
        for (String line : log.split("\n")) {
            int i = line.indexOf("pretrain: round ");
            if (i >= 0) {
                last = line.substring(i + "pretrain: ".length(), Math.min(line.length(), i + 40));
            }
        }
        return last;
    }

    // ---- helpers ----

    private Scripts.Result submit(String label, String sparkMaster, String... command)
            throws IOException, InterruptedException {
        return sh.run(label, JOB_TIMEOUT, "submit", submitArgs(sparkMaster, List.of(), command));
    }

    /**
     * spark-submit options of every run (small memory, no web UI, Kryo registration required; on the cluster
     * conf/cluster/standalone.conf), then {@code extra} spark-submit options, then the command.
     */
    private String[] submitArgs(String sparkMaster, List<String> extra, String... command) {
        List<String> a = new ArrayList<>(List.of("--master", sparkMaster, "--driver-memory", "1g",
            "--conf", "spark.ui.enabled=false", "--conf", "spark.kryo.registrationRequired=true"));
        if (sparkMaster.startsWith("spark://")) {
            // the documented template for standalone clusters, so that it is tested
            a.addAll(List.of("--properties-file", home.resolve("conf/cluster/standalone.conf").toString(),
                "--executor-memory", "768m", "--conf", "spark.hadoop.dfs.replication=1"));
        }
        a.addAll(extra);
        a.addAll(Arrays.asList(command));
        return a.toArray(String[]::new);
    }

    private static Scripts.Result ok(Scripts.Result r) {
        if (r.exitCode() != 0) {
            fail(r.describe());
        }
        return r;
    }

    /** The applications the workers have run so far (their work directories). */
    private Set<String> apps() throws IOException {
        Set<String> apps = new TreeSet<>();
        for (int w = 0; w < 2; w++) {
            Path work = clusterDir.resolve("work/worker-" + w);
            if (Files.isDirectory(work)) {
                try (Stream<Path> s = Files.list(work)) {
                    s.forEach(p -> apps.add(p.getFileName().toString()));
                }
            }
        }
        return apps;
    }

    /** The one application started since {@code before} had executors on both workers; returns its id. */
    private String assertRanOnBothWorkers(Set<String> before) throws IOException {
        Set<String> added = apps();
        added.removeAll(before);
        assertEquals(1, added.size(), "one new application on the cluster: " + added);
        String app = added.iterator().next();
        for (int w = 0; w < 2; w++) {
            Path d = clusterDir.resolve("work/worker-" + w + "/" + app);
            assertTrue(Files.isDirectory(d), "worker-" + w + " ran no executor of " + app);
        }
        return app;
    }

    /** An executor JVM the cluster's workers launched. */
    record Executor(long pid, String worker, String app, String id, Path workDir) {
        boolean runningATask() {
            try {
                return Files.readString(workDir.resolve("stderr"), StandardCharsets.UTF_8).contains("Running task");
            } catch (IOException e) {
                return false;
            }
        }
    }

    /** The executors, from {@code deploy/bin/cluster executors} ("PID worker-I APP ID" lines). */
    private List<Executor> executors() throws IOException, InterruptedException {
        Scripts.Result r = ok(sh.run("cluster-executors", Duration.ofSeconds(30), "cluster", "executors", "--run-dir",
            clusterDir.toString()));
        List<Executor> list = new ArrayList<>();
        for (String line : r.stdout().split("\n")) {
            String[] f = line.trim().split(" ");
            if (f.length == 4) {
                list.add(new Executor(Long.parseLong(f[0]), f[1], f[2], f[3],
                    clusterDir.resolve("work").resolve(f[1]).resolve(f[2]).resolve(f[3])));
            }
        }
        return list;
    }

    /** The driver's "step 0 (untrained) val X" line. */
    private static double untrainedValLoss(String log) {
        for (String line : log.split("\n")) {
            int i = line.indexOf("(untrained) val ");
            if (i >= 0) {
                return Double.parseDouble(line.substring(i + "(untrained) val ".length()).trim().split(" ")[0]);
            }
        }
        throw new AssertionError("no '(untrained) val' line in the driver's log:\n" + Scripts.tail(log, 30));
    }

    private byte[] hdfsBytes(String path) throws IOException {
        try (InputStream in = fs.open(new org.apache.hadoop.fs.Path(path))) {
            return in.readAllBytes();
        }
    }

    private List<String> hdfsLines(String path) throws IOException {
        return List.of(new String(hdfsBytes(path), StandardCharsets.UTF_8).split("\n"));
    }

    private static List<String> lines(Path p) throws IOException {
        return List.of(Files.readString(p, StandardCharsets.UTF_8).split("\n"));
    }

    private Set<String> hdfsNames(String dirPath) throws IOException {
        Set<String> names = new TreeSet<>();
        for (FileStatus s : fs.listStatus(new org.apache.hadoop.fs.Path(dirPath))) {
            names.add(s.getPath().getName());
        }
        assertNotNull(names);
        return names;
    }

    private static String[] concat(String[] a, String[] b) {
        String[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
        assertFalse(Files.exists(root));
    }
}
