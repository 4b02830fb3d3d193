package org.sparklm.jobs;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.Serializable;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparklm.io.SerializableConf;
import org.sparklm.cli.Options;
import org.sparklm.UsageException;
import org.sparklm.data.DocFormat;
import org.sparklm.data.DocumentEncoder;
import org.sparklm.data.DocumentKey;
import org.sparklm.data.EncodeStats;
import org.sparklm.data.EncodedDocument;
import org.sparklm.data.ReadStats;
import org.sparklm.data.ShardManifest;
import org.sparklm.data.ShardPlan;
import org.sparklm.data.ShardWriter;
import org.sparklm.data.TokenDtype;
import org.sparklm.io.AtomicOutput;
import org.sparklm.io.HadoopFiles;
import org.sparklm.io.RunStats;
import org.sparklm.io.StoredTokenizer;
import org.sparklm.tokenizer.bpe.BpeTokenizer;
import org.sparklm.tokenizer.bpe.TokenizerFiles;
import scala.Tuple2;

/**
 * {@code shard}: encodes a corpus on the executors into training shards (docs/FORMATS.md).
 *
 * <pre>
 * spark-submit --class org.sparklm.jobs.Main jobs/target/sparklm-jobs-0.1.0-SNAPSHOT.jar shard \
 *   --input hdfs:///corpus/*.jsonl.gz --doc-format jsonl --tokenizer hdfs:///tokenizers/bpe-32k \
 *   --output hdfs:///shards/corpus-bpe-32k
 * </pre>
 *
 * <p>Pipeline: (1) executors read documents (lines, JSON lines or whole files, any Hadoop FileSystem), encode each with
 * the broadcast tokenizer, append EOS and hash the document's identity (input-relative file name and byte position)
 * with the seed ({@link DocumentKey}); the encoded documents are cached. (2) The split: validation when the split hash
 * is under {@code val-fraction * 2^64}. (3) Planning: the documents' (split, order hash, length) are sorted (range
 * partitions of the uniform hash, no sampling pass), and
 * per-partition token sums give each document its offset in its split, hence its shard ({@link ShardPlan}); only the
 * first key of each run of one shard reaches the driver. (4) The documents are shuffled to one partition per shard,
 * sorted by order hash, and each task writes its shard. (5) The tokenizer.json the documents were encoded with and
 * manifest.json go beside the shards, and the directory is committed atomically. Nothing depends on the partitioning:
 * 1 or 100 input partitions give the same bytes. Reading is {@link DocumentInput} (shared with bpe-train), planning
 * {@link ShardPlan}, writing {@link ShardWriter}.
 */
public final class ShardJob {
    private static final Logger LOG = LoggerFactory.getLogger(ShardJob.class);

    /** The job's parameters. */
    public record Params(List<String> inputs, String tokenizer, String output, double valFraction, int shards,
                         DocFormat format, String textField, long seed, String eosToken, int partitions,
                         boolean strict, boolean overwrite) {
    }

    /** What the job wrote and measured. */
    public record Result(ShardManifest manifest, ObjectNode report) {
    }

    private ShardJob() {
    }

    public static Options options() {
        return new Options("shard",
            "Encodes a corpus with a trained tokenizer on the executors and writes training shards: flat"
                + " little-endian uint16/uint32 token files (numpy.memmap reads them) split into train and val,"
                + " documents shuffled across shards and each followed by the EOS id, plus manifest.json.")
            .requiredList("input", "PATH...", "text files, directories or globs on any Hadoop FileSystem"
                + " (file://, hdfs://, s3a://); .gz and other Hadoop codecs are decompressed")
            .required("tokenizer", "DIR", "a bpe-train output directory (or its tokenizer.json)")
            .required("output", "DIR", "output directory (must not exist unless --overwrite)")
            .value("val-fraction", "F", "share of documents in the validation split, in [0, 1)", "0.01")
            .value("shards", "N", "number of training shards (0: one per 100M tokens); validation shards are"
                + " sized like training shards", "0")
            .value("doc-format", "FORMAT", DocumentInput.DOC_FORMAT_HELP, "line")
            .value("text-field", "NAME", DocumentInput.TEXT_FIELD_HELP, "text")
            .value("seed", "S", "seed of the split and of the shuffle", "1234")
            .value("eos-token", "TOKEN", "the special token appended to every document", "[EOS]")
            .value("partitions", "N", "read the input in at least N partitions, splitting files (0: twice"
                + " Spark's default parallelism); the output does not depend on it", "0")
            .flag("strict", DocumentInput.STRICT_HELP)
            .flag("overwrite", "replace an existing output directory");
    }

    /** Parses arguments; null when --help was printed. */
    static Params parse(String[] args) {
        Options.Parsed p = options().parseOrHelp(args, System.out);
        if (p == null) {
            return null;
        }
        DocFormat format = DocumentInput.parseFormat("shard", p);
        double val = p.doubleValue("val-fraction", 0, 1);
        if (val >= 1) {
            throw new UsageException("shard: --val-fraction must be below 1, got " + p.string("val-fraction"));
        }
        String field = DocumentInput.parseTextField("shard", p);
        return new Params(p.list("input"), p.string("tokenizer"), p.string("output"), val,
            p.intValue("shards", 0, 1 << 20), format, field, p.longValue("seed", Long.MIN_VALUE, Long.MAX_VALUE),
            p.string("eos-token"), p.intValue("partitions", 0, 1 << 20), p.flag("strict"), p.flag("overwrite"));
    }

    public static void main(String[] args) throws Exception {
        Params params = parse(args);
        if (params == null) {
            return;
        }
        JobSupport.withContext("sparklm shard", sc -> {
            Result r = run(sc, params);
            printSummary(r, params);
        });
    }

    /** Runs the job on an existing context; tests call this directly. */
    public static Result run(JavaSparkContext sc, Params p) throws IOException {
        long t0 = System.nanoTime();
        Configuration hconf = sc.hadoopConfiguration();
        // ---- fail fast, before any work: output, tokenizer, inputs
        Path outPath = new Path(p.output());
        FileSystem outFs = outPath.getFileSystem(hconf);
        AtomicOutput.checkWritable(outFs, outFs.makeQualified(outPath), p.overwrite());
        StoredTokenizer tok = StoredTokenizer.read(hconf, p.tokenizer());
        int eosId = tok.model().id(p.eosToken());
        if (eosId < 0) {
            throw new UsageException("shard: the tokenizer has no token " + p.eosToken() + " (--eos-token)");
        }
        TokenDtype dtype = TokenDtype.forVocabulary(tok.model().vocabSize());
        DocumentInput input = DocumentInput.expand(hconf, "shard", p.inputs());
        LOG.info("shard: {} input file(s), {} bytes, format {}, tokenizer {} ({} ids, {}), val fraction {}",
            input.fileCount(), input.bytes(), p.format().cliName(), p.tokenizer(), tok.model().vocabSize(),
            dtype.numpyName(), p.valFraction());

        // ---- (1) executors: read, encode, hash; cached
        Broadcast<byte[]> tokBytes = sc.broadcast(tok.bytes());
        int target = p.partitions() > 0 ? p.partitions() : 2 * Math.max(1, sc.defaultParallelism());
        long threshold0 = DocumentKey.threshold(p.valFraction());
        EncoderSpec spec = new EncoderSpec(tokBytes, tok.sha256(), eosId, p.format(), p.textField(), p.seed(),
            threshold0);
        JavaRDD<EncodedDocument> encoded = input.read(sc, p.format(), target, it -> spec.encoder().encodeAll(it))
            .persist(StorageLevel.fromString(System.getProperty("sparklm.shard.storage", "MEMORY_AND_DISK_SER")));
        try {
            sc.setJobDescription("shard: read and encode documents");
            EncodeStats stats = encoded.filter(d -> !d.isDocument()).map(d -> d.stats).reduce(EncodeStats::merge);
            long tEncode = System.nanoTime();
            LOG.info("shard: encoded {} documents, {} tokens in {} s ({} empty skipped, {} malformed)",
                stats.documents(), stats.tokens, secs(t0, tEncode), stats.read.emptyDocuments, stats.read.malformed);
            List<ReadStats.MalformedRecord> malformed = input.describeMalformed(hconf, stats.read);
            input.check(stats.read, malformed, p.strict());
            long threshold = ShardPlan.finalThreshold(p.valFraction(), threshold0, stats);

            // ---- (2, 3) plan: sort (split, order, length), per-partition sums, runs of equal shard
            sc.setJobDescription("shard: plan the shards");
            JavaRDD<EncodedDocument> docs = encoded.filter(EncodedDocument::isDocument);
            ShardPlan plan = plan(sc, docs, threshold, p.shards());
            long tPlan = System.nanoTime();

            // ---- (4) shuffle to one partition per shard, sorted by order; each task writes its shard
            try (AtomicOutput out = AtomicOutput.begin(hconf, p.output(), p.overwrite())) {
                sc.setJobDescription("shard: write " + plan.totalShards() + " shard(s)");
                List<ShardManifest.Shard> written = writeShards(docs, plan, threshold, dtype, out.temp(), hconf);
                try (OutputStream o = out.create(ShardManifest.TOKENIZER_FILE)) {
                    o.write(tok.bytes());
                }
                long tWrite = System.nanoTime();
                ShardManifest manifest = new ShardManifest(ShardManifest.VERSION, tok.sha256(),
                    ShardManifest.TOKENIZER_FILE, tok.model().vocabSize(), dtype, eosId, plan.splits(written));
                ObjectNode report = report(p, sc, input, stats, malformed, manifest,
                    new double[] {secs(t0, tEncode), secs(tEncode, tPlan), secs(tPlan, tWrite), secs(t0, tWrite)});
                try (OutputStream o = out.create(ShardManifest.FILE)) {
                    manifest.write(o, report);
                }
                out.commit();
                return new Result(manifest, report);
            }
        } finally {
            encoded.unpersist(false);
            tokBytes.destroy();
            sc.setJobDescription(null);
        }
    }

    // ------------------------------------------------------------------------------------------------ reading

    /** What each encoding task needs; captured in the task closures. */
    record EncoderSpec(Broadcast<byte[]> tokenizer, String tokenizerSha, int eosId, DocFormat format,
                       String textField, long seed, long threshold) implements Serializable {
        DocumentEncoder encoder() {
            return new DocumentEncoder(TokenizerCache.get(tokenizerSha, tokenizer), eosId, format, textField, seed,
                threshold);
        }
    }

    /** One tokenizer per executor JVM, built from the broadcast tokenizer.json once. */
    static final class TokenizerCache {
        private static final Map<String, BpeTokenizer> CACHE = new ConcurrentHashMap<>();

        private TokenizerCache() {
        }

        static BpeTokenizer get(String sha, Broadcast<byte[]> bytes) {
            return CACHE.computeIfAbsent(sha, k -> {
                if (CACHE.size() > 4) {
                    CACHE.clear();
                }
                try {
                    return new BpeTokenizer(TokenizerFiles.readTokenizerJson(new ByteArrayInputStream(bytes.value())));
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
        }
    }

    // ------------------------------------------------------------------------------------------------ planning

    /**
     * The shard plan ({@link ShardPlan}, where the steps are explained): the documents' (split, order hash, length)
     * sorted into range partitions of the uniform hash (no sampling pass), their per-partition sums, and the run
     * starts; only sums and run starts reach the driver.
     */
    private static ShardPlan plan(JavaSparkContext sc, JavaRDD<EncodedDocument> docs, long threshold, int shards) {
        int planParts = Math.max(1, sc.defaultParallelism());
        JavaPairRDD<DocKey, Long> sorted = docs
            .mapToPair(d -> new Tuple2<>(new DocKey(DocumentKey.isValidation(d.split, threshold) ? ShardPlan.VAL
                : ShardPlan.TRAIN, d.orderHi, d.orderLo), (long) d.tokens.length))
            .repartitionAndSortWithinPartitions(new DocKey.HashRangePartitioner(2, planParts), new DocKey.Order())
            .persist(StorageLevel.MEMORY_AND_DISK());
        try {
            List<long[]> sums = sorted.mapPartitions(it -> {
                ShardPlan.Sums s = new ShardPlan.Sums();
                it.forEachRemaining(t -> s.add(t._1().group, t._2()));
                return List.of(s.toArray()).iterator();
            }).collect();
            ShardPlan plan = ShardPlan.fromSums(sums, shards);
            List<long[]> runs = sorted.mapPartitionsWithIndex((idx, it) -> {
                ShardPlan.RunStarts r = plan.runStarts(idx);
                it.forEachRemaining(t -> r.add(t._1().group, t._1().hi, t._1().lo, t._2()));
                return r.starts().iterator();
            }, false).collect();
            LOG.info("shard: train {} documents, {} tokens in {} shard(s); val {} documents, {} tokens in {}"
                    + " shard(s)", plan.documents(ShardPlan.TRAIN), plan.tokens(ShardPlan.TRAIN),
                plan.shards(ShardPlan.TRAIN), plan.documents(ShardPlan.VAL), plan.tokens(ShardPlan.VAL),
                plan.shards(ShardPlan.VAL));
            return plan.withRuns(runs);
        } finally {
            sorted.unpersist(false);
        }
    }

    // ------------------------------------------------------------------------------------------------ writing

    /** What one write task reports back: a {@link ShardManifest.Shard} as a plain class for Kryo. */
    static final class ShardResult implements Serializable {
        private static final long serialVersionUID = 1L;
        int index;
        String file;
        long tokens;
        long documents;
        String sha256;

        ShardManifest.Shard shard() {
            return new ShardManifest.Shard(file, tokens, documents, sha256);
        }
    }

    /** Shuffles the documents to one partition per shard, sorted by order hash; each task writes its shard. */
    private static List<ShardManifest.Shard> writeShards(JavaRDD<EncodedDocument> docs, ShardPlan plan,
                                                         long threshold, TokenDtype dtype, Path dir,
                                                         Configuration hconf) {
        String tempDir = dir.toString();
        SerializableConf taskConf = new SerializableConf(hconf);
        return docs
            .mapToPair(d -> new Tuple2<>(new DocKey(plan.shard(DocumentKey.isValidation(d.split, threshold),
                d.orderHi, d.orderLo), d.orderHi, d.orderLo), d.tokens))
            .repartitionAndSortWithinPartitions(new DocKey.GroupPartitioner(plan.totalShards()), new DocKey.Order())
            .mapPartitionsWithIndex((idx, it) -> {
                Path to = new Path(tempDir);
                ShardManifest.Shard s = ShardWriter.writeFile(HadoopFiles.forWriting(taskConf.get(), to), to,
                    plan.fileName(idx), new Iterator<int[]>() {
                        @Override
                        public boolean hasNext() {
                            return it.hasNext();
                        }

                        @Override
                        public int[] next() {
                            return it.next()._2();
                        }
                    }, dtype);
                ShardResult r = new ShardResult();
                r.index = idx;
                r.file = s.file();
                r.tokens = s.tokens();
                r.documents = s.documents();
                r.sha256 = s.sha256();
                return List.of(r).iterator();
            }, false)
            .collect().stream()
            .sorted((a, b) -> Integer.compare(a.index, b.index))
            .map(ShardResult::shard)
            .toList();
    }

    // ------------------------------------------------------------------------------------------------ report

    private static double secs(long from, long to) {
        return Math.round((to - from) / 1e6) / 1e3;
    }

    private static ObjectNode report(Params p, JavaSparkContext sc, DocumentInput input, EncodeStats s,
                                     List<ReadStats.MalformedRecord> malformed, ShardManifest m, double[] secs) {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        ObjectNode cfg = root.putObject("config");
        ArrayNode inputs = cfg.putArray("input");
        p.inputs().forEach(inputs::add);
        cfg.put("tokenizer", p.tokenizer());
        cfg.put("doc_format", p.format().cliName());
        if (p.format() == DocFormat.JSONL) {
            cfg.put("text_field", p.textField());
        }
        cfg.put("val_fraction", p.valFraction());
        cfg.put("shards", p.shards());
        cfg.put("seed", p.seed());
        cfg.put("eos_token", p.eosToken());
        cfg.put("spark_master", sc.master());
        cfg.put("spark_version", sc.version());
        ObjectNode in = root.putObject("input");
        in.put("files", input.fileCount());
        in.put("bytes", input.bytes());
        DocumentInput.report(in, s.read, malformed);
        ObjectNode sp = root.putObject("splits");
        for (String split : List.of("train", "val")) {
            ObjectNode o = sp.putObject(split);
            List<ShardManifest.Shard> shards = m.shards(split);
            o.put("documents", m.documents(split));
            o.put("tokens", m.tokens(split));
            o.put("shards", shards.size());
            o.put("min_shard_tokens", shards.stream().mapToLong(ShardManifest.Shard::tokens).min().orElse(0));
            o.put("max_shard_tokens", shards.stream().mapToLong(ShardManifest.Shard::tokens).max().orElse(0));
        }
        long tokens = m.tokens("train") + m.tokens("val");
        long docs = m.documents("train") + m.documents("val");
        root.put("tokens", tokens);
        root.put("bytes_per_token", tokens - docs > 0 ? round3((double) s.read.textBytes / (tokens - docs)) : 0);
        ObjectNode t = root.putObject("seconds");
        t.put("read_encode", secs[0]);
        t.put("plan", secs[1]);
        t.put("write", secs[2]);
        t.put("total", secs[3]);
        root.put("tokens_per_second", secs[3] > 0 ? Math.round(tokens / secs[3]) : 0);
        root.put("encode_tokens_per_second", secs[0] > 0 ? Math.round(tokens / secs[0]) : 0);
        root.put("driver_peak_heap_bytes", RunStats.peakHeapBytes());
        return root;
    }

    private static double round3(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    private static void printSummary(Result r, Params p) {
        ObjectNode j = r.report();
        System.out.printf(Locale.ROOT, "shard: wrote %s%n", p.output());
        System.out.printf(Locale.ROOT, "  input      %d file(s), %,d bytes, %,d records: %,d documents, %,d empty"
                + " skipped, %,d malformed skipped, %d invalid UTF-8 sequences%n", j.at("/input/files").asLong(),
            j.at("/input/bytes").asLong(), j.at("/input/records").asLong(), j.at("/input/documents").asLong(),
            j.at("/input/empty_documents_skipped").asLong(), j.at("/input/malformed_records_skipped").asLong(),
            j.at("/input/invalid_utf8_sequences").asLong());
        DocumentInput.printMalformed(j.path("input"));
        for (String split : List.of("train", "val")) {
            ObjectNode o = (ObjectNode) j.at("/splits/" + split);
            System.out.printf(Locale.ROOT, "  %-10s %,d documents, %,d tokens in %d shard(s) (%,d to %,d tokens"
                    + " each)%n", split, o.path("documents").asLong(), o.path("tokens").asLong(),
                o.path("shards").asLong(), o.path("min_shard_tokens").asLong(), o.path("max_shard_tokens").asLong());
        }
        System.out.printf(Locale.ROOT, "  tokens     %s, %.3f bytes of text per token (EOS not counted)%n",
            r.manifest().dtype().numpyName(), j.path("bytes_per_token").asDouble());
        System.out.printf(Locale.ROOT, "  seconds    read+encode %.2f, plan %.2f, write %.2f, total %.2f;"
                + " %,d tokens/s (%,d tokens/s while encoding)%n", j.at("/seconds/read_encode").asDouble(),
            j.at("/seconds/plan").asDouble(), j.at("/seconds/write").asDouble(), j.at("/seconds/total").asDouble(),
            j.path("tokens_per_second").asLong(), j.path("encode_tokens_per_second").asLong());
        System.out.printf(Locale.ROOT, "  manifest   %s/%s%n", p.output(), ShardManifest.FILE);
    }
}
