package org.sparklm.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.sparklm.cli.Options;
import org.sparklm.data.DocFormat;
import org.sparklm.data.DocumentEncoder;
import org.sparklm.data.DocumentKey;
import org.sparklm.data.EncodedDocument;
import org.sparklm.io.HadoopFiles;
import org.sparklm.tokenizer.bpe.BpeTokenizer;

/**
 * {@code bench-shard}: the shard job's encoding throughput against the single-thread encoder. First encodes a sample
 * of the first input file's lines on one thread, exactly as a shard task does (decode, encode, EOS, identity hash);
 * then runs the whole {@code shard} job on the input into a temporary directory (deleted afterwards). Prints JSON:
 * both throughputs, their ratio, and the job's phases.
 *
 * <pre>deploy/bin/bench --master local[2] shard --input corpus.txt --tokenizer runs/quickstart/tokenizer</pre>
 */
public final class BenchShardCommand {
    private BenchShardCommand() {
    }

    static Options options() {
        return new Options("bench-shard",
            "Benchmarks the shard job: encoding throughput of one thread (a sample, as a task encodes it) against"
                + " the whole job on this Spark master; prints JSON. The shards go to a temporary directory that is"
                + " deleted.")
            .requiredList("input", "PATH...", "corpus files, directories or globs (one line per document)")
            .required("tokenizer", "DIR", "a bpe-train output directory")
            .value("sample-mb", "MB", "megabytes of the first file encoded on one thread", "64")
            .value("work-dir", "DIR", "where the temporary shards are written", System.getProperty("java.io.tmpdir"));
    }

    public static void main(String[] args) throws Exception {
        Options opts = options();
        Options.Parsed p = opts.parse(args);
        if (p.help()) {
            System.out.print(opts.help());
            return;
        }
        Configuration hconf = new Configuration();
        org.sparklm.io.StoredTokenizer tok = org.sparklm.io.StoredTokenizer.read(hconf, p.string("tokenizer"));
        BpeTokenizer warm = new BpeTokenizer(tok.model());
        int eos = tok.model().id("[EOS]");
        String first = HadoopFiles.expandInputs(hconf, p.list("input")).get(0).getPath().toString();
        List<byte[]> lines = readLines(hconf, first, (long) (p.doubleValue("sample-mb", 0.001, 1e6) * 1e6));
        // warm the JIT on one tokenizer, measure with a fresh one (cold word cache, as a new task has)
        encode(new DocumentEncoder(warm, eos, DocFormat.LINE, "text", 1, 0), lines.subList(0,
            Math.max(1, lines.size() / 10)));
        DocumentEncoder enc = new DocumentEncoder(new BpeTokenizer(tok.model()), eos, DocFormat.LINE, "text", 1,
            DocumentKey.threshold(0.01));
        long t0 = System.nanoTime();
        encode(enc, lines);
        double s1 = (System.nanoTime() - t0) / 1e9;
        long bytes1 = enc.stats().read.inputBytes;
        long tokens1 = enc.stats().tokens;

        String out = new Path(p.string("work-dir"), "sparklm-bench-" + UUID.randomUUID()).toString();
        SparkConf conf = new SparkConf().setAppName("sparklm bench-shard");
        JobSupport.defaults(conf);
        ObjectNode b = new ObjectMapper().createObjectNode();
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            ShardJob.Result r = ShardJob.run(sc, new ShardJob.Params(p.list("input"), p.string("tokenizer"), out,
                0.01, 0, DocFormat.LINE, "text", 1234, "[EOS]", 0, false, false));
            new Path(out).getFileSystem(sc.hadoopConfiguration()).delete(new Path(out), true);
            ObjectNode j = r.report();
            double encS = j.at("/seconds/read_encode").asDouble();
            long tokens = j.path("tokens").asLong();
            long inBytes = j.at("/input/bytes").asLong();
            b.put("spark_master", sc.master());
            b.put("default_parallelism", sc.defaultParallelism());
            b.put("vocab_size", tok.model().vocabSize());
            b.put("one_thread_sample_bytes", bytes1);
            b.put("one_thread_mb_per_s", round(bytes1 / 1e6 / s1));
            b.put("one_thread_tokens_per_s", Math.round(tokens1 / s1));
            b.put("job_input_bytes", inBytes);
            b.put("job_tokens", tokens);
            b.put("job_read_encode_mb_per_s", round(inBytes / 1e6 / encS));
            b.put("job_read_encode_tokens_per_s", Math.round(tokens / encS));
            b.put("job_total_tokens_per_s", j.path("tokens_per_second").asLong());
            b.put("speedup_read_encode_vs_one_thread", round(tokens / encS / (tokens1 / s1)));
            b.set("job_seconds", j.get("seconds"));
            b.put("bytes_per_token", j.path("bytes_per_token").asDouble());
        }
        System.out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(b));
    }

    private static void encode(DocumentEncoder enc, List<byte[]> lines) {
        long pos = 0;
        for (byte[] l : lines) {
            EncodedDocument d = enc.encode("bench", pos, l, 0, l.length);
            pos += l.length + 1;
            if (d != null && d.tokens.length == 0) {
                throw new AssertionError();
            }
        }
    }

    private static List<byte[]> readLines(Configuration conf, String file, long maxBytes) throws IOException {
        List<byte[]> lines = new ArrayList<>();
        long n = 0;
        try (InputStream in = new java.io.BufferedInputStream(HadoopFiles.open(conf, file), 1 << 16)) {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            int c;
            while ((c = in.read()) >= 0 && n < maxBytes) {
                if (c == '\n') {
                    lines.add(line.toByteArray());
                    n += line.size() + 1;
                    line.reset();
                } else {
                    line.write(c);
                }
            }
            if (line.size() > 0 && n < maxBytes) {
                lines.add(line.toByteArray());
            }
        }
        return lines;
    }

    private static double round(double x) {
        return Math.round(x * 1000) / 1000.0;
    }
}
