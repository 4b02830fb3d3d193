package org.sparklm.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.sparklm.cli.Options;
import org.sparklm.io.HadoopFiles;
import org.sparklm.io.RunStats;
import org.sparklm.tokenizer.SpecialTokens;
import org.sparklm.tokenizer.bpe.BpeMode;
import org.sparklm.tokenizer.bpe.BpeTokenizer;

/**
 * {@code bench-bpe}: the tokenizer benchmark. Runs {@code bpe-train} on a corpus into a temporary directory, then
 * encodes (a sample of) the corpus with the trained tokenizer on one thread and on all threads, and prints one JSON
 * object: counting seconds, merging seconds, total, encoding MB/s and tokens/s, peak memory.
 *
 * <pre>deploy/bin/bench bpe --input data/brown/brown.txt --vocab-size 30000</pre>
 */
public final class BenchBpeCommand {
    private BenchBpeCommand() {
    }

    static Options options() {
        return new Options("bench-bpe",
            "Benchmarks bpe-train (counting and merging) and the encoder (MB/s on one thread and on all threads)"
                + " on a corpus; prints JSON. The trained tokenizer goes to a temporary directory that is deleted.")
            .requiredList("input", "PATH...", "corpus files, directories or globs")
            .value("vocab-size", "N", "vocabulary size", "30000")
            .value("mode", "MODE", "byte or char-eow", "byte")
            .value("encode-mb", "MB", "encode at most this many megabytes of the corpus", "256")
            .value("threads", "N", "threads for batch encoding (0: all cores)", "0")
            .value("work-dir", "DIR", "where the temporary tokenizer is written", System.getProperty("java.io.tmpdir"));
    }

    public static void main(String[] args) throws Exception {
        Options opts = options();
        Options.Parsed p = opts.parse(args);
        if (p.help()) {
            System.out.print(opts.help());
            return;
        }
        BpeMode mode = BpeMode.parse(p.string("mode"));
        String out = new Path(p.string("work-dir"), "sparklm-bench-" + UUID.randomUUID()).toString();
        BpeTrainJob.Params params = new BpeTrainJob.Params(p.list("input"), out,
            p.intValue("vocab-size", 1, Integer.MAX_VALUE - 1024), mode, 2, SpecialTokens.DEFAULT, false, 0);
        SparkConf conf = new SparkConf().setAppName("sparklm bench-bpe");
        JobSupport.defaults(conf);
        ObjectNode result;
        BpeTokenizer tok;
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            BpeTrainJob.Report r = BpeTrainJob.run(sc, params);
            result = r.json();
            tok = new BpeTokenizer(r.model());
            new Path(out).getFileSystem(sc.hadoopConfiguration()).delete(new Path(out), true);
        }
        List<String> sample = readSample(p.list("input"), (long) (p.doubleValue("encode-mb", 0.001, 1e6) * 1e6));
        long sampleBytes = 0;
        for (String s : sample) {
            sampleBytes += s.getBytes(StandardCharsets.UTF_8).length + 1;
        }
        int threads = p.intValue("threads", 0, 1024);
        if (threads == 0) {
            threads = Runtime.getRuntime().availableProcessors();
        }
        // warm the JIT on a fresh tokenizer, then measure with another fresh one (cold cache, warm code)
        encodeAll(new BpeTokenizer(tok.model()), sample.subList(0, Math.max(1, sample.size() / 10)), 1);
        long t0 = System.nanoTime();
        long tokens1 = encodeAll(new BpeTokenizer(tok.model()), sample, 1);
        double s1 = (System.nanoTime() - t0) / 1e9;
        t0 = System.nanoTime();
        long tokensN = encodeAll(new BpeTokenizer(tok.model()), sample, threads);
        double sN = (System.nanoTime() - t0) / 1e9;
        ObjectNode b = new ObjectMapper().createObjectNode();
        b.put("corpus_bytes", result.at("/input/bytes").asLong());
        b.put("vocab_size", result.at("/vocabulary/size").asLong());
        b.put("merges", result.at("/vocabulary/merges").asLong());
        b.put("unique_words", result.at("/input/unique_words").asLong());
        b.put("spark_master", result.at("/config/spark_master").asText());
        b.put("count_seconds", round(result.at("/seconds/count_words").asDouble()
            + result.at("/seconds/count_pairs").asDouble() + result.at("/seconds/collect_words").asDouble()));
        b.put("merge_seconds", result.at("/seconds/merge").asDouble());
        b.put("train_total_seconds", result.at("/seconds/total").asDouble());
        b.set("train_seconds_by_phase", result.get("seconds"));
        b.put("encode_sample_bytes", sampleBytes);
        b.put("encode_tokens", tokens1);
        b.put("encode_mb_per_s_1_thread", round(sampleBytes / 1e6 / s1));
        b.put("encode_tokens_per_s_1_thread", Math.round(tokens1 / s1));
        b.put("encode_threads", threads);
        b.put("encode_mb_per_s_all_threads", round(sampleBytes / 1e6 / sN));
        b.put("encode_tokens_per_s_all_threads", Math.round(tokensN / sN));
        b.put("bytes_per_token", round((double) sampleBytes / Math.max(1, tokens1)));
        b.put("peak_heap_mb", Math.round(RunStats.peakHeapBytes() / 1e6));
        b.put("peak_rss_mb", Math.round(RunStats.peakRssBytes() / 1e6));
        System.out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(b));
    }

    private static double round(double x) {
        return Math.round(x * 1000) / 1000.0;
    }

    private static List<String> readSample(List<String> inputs, long maxBytes) throws IOException {
        Configuration conf = new Configuration();
        List<String> lines = new ArrayList<>();
        long n = 0;
        for (FileStatus f : HadoopFiles.expandInputs(conf, inputs)) {
            try (InputStream in = HadoopFiles.open(conf, f.getPath().toString());
                 BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8), 1 << 16)) {
                String line;
                while ((line = r.readLine()) != null) {
                    lines.add(line);
                    n += line.length() + 1;
                    if (n >= maxBytes) {
                        return lines;
                    }
                }
            }
        }
        return lines;
    }

    /** Encodes the lines in batches of 1000 on the given number of threads; returns the number of tokens. */
    private static long encodeAll(BpeTokenizer tok, List<String> lines, int threads) throws Exception {
        if (threads == 1) {
            long n = 0;
            for (String l : lines) {
                n += tok.encode(l).length;
            }
            return n;
        }
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<Long>> parts = new ArrayList<>();
            int batch = 1000;
            for (int i = 0; i < lines.size(); i += batch) {
                List<String> chunk = lines.subList(i, Math.min(lines.size(), i + batch));
                parts.add(pool.submit(() -> {
                    long n = 0;
                    for (String l : chunk) {
                        n += tok.encode(l).length;
                    }
                    return n;
                }));
            }
            long n = 0;
            for (Future<Long> f : parts) {
                n += f.get();
            }
            return n;
        } finally {
            pool.shutdown();
        }
    }
}
