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
 * asks for; one test kills an executor in the middle of a job.
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
        assertEquals(Set.of("manifest.json", "train-00000-of-00002.bin", "train-00001-of-00002.bin",
            "val-00000-of-00001.bin"), localFiles);
        assertEquals(localFiles, hdfsNames("/out/shards"));
        for (String f : localFiles) {
            if (f.endsWith(".bin")) {
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
