package org.sparklm.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.HashPartitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparklm.cli.Options;
import org.sparklm.UsageException;
import org.sparklm.data.DocFormat;
import org.sparklm.data.DocumentReader;
import org.sparklm.data.ReadStats;
import org.sparklm.io.AtomicOutput;
import org.sparklm.io.HadoopFiles;
import org.sparklm.io.RunStats;
import org.sparklm.tokenizer.SpecialTokens;
import org.sparklm.tokenizer.bpe.BpeMemory;
import org.sparklm.tokenizer.bpe.BpeMode;
import org.sparklm.tokenizer.bpe.BpeModel;
import org.sparklm.tokenizer.bpe.BpeTokenizer;
import org.sparklm.tokenizer.bpe.BpeTrainer;
import org.sparklm.tokenizer.bpe.TokenizerFiles;
import org.sparklm.tokenizer.bpe.WordCounter;
import org.sparklm.tokenizer.bpe.WordSplitter;
import org.sparklm.util.LongLongMap;
import scala.Tuple2;

/**
 * {@code bpe-train}: learns a byte-pair-encoding vocabulary from a corpus.
 *
 * <pre>
 * spark-submit --class org.sparklm.jobs.Main jobs/target/sparklm-jobs-0.1.0-SNAPSHOT.jar bpe-train \
 *   --input hdfs:///corpus/*.jsonl.gz --doc-format jsonl --output hdfs:///tokenizers/bpe-32k --vocab-size 32000
 * </pre>
 *
 * <p>On the executors: read documents exactly as {@code shard} does ({@link DocumentInput}, {@link DocumentReader}:
 * lines, whole files or a JSON Lines text field, any Hadoop FileSystem, globs, directories, compressed files), split
 * each document into words ({@link WordSplitter}), count words per partition, sum the counts across partitions
 * ({@code partitionBy}), and count the initial adjacent pairs of the unique words
 * ({@link BpeTrainer#countInitialPairs}). On the driver: the table's size is checked against the free heap
 * ({@link BpeMemory}), the unique-word table and the pair counts are streamed in, and the incremental merge loop
 * ({@link BpeTrainer}) runs. Outputs (tokenizer.json, vocab.json, merges.txt, report.json) are committed atomically.
 */
public final class BpeTrainJob {
    private static final Logger LOG = LoggerFactory.getLogger(BpeTrainJob.class);

    /** The job's parameters. */
    public record Params(List<String> inputs, String output, int vocabSize, BpeMode mode, long minFrequency,
                         SpecialTokens specialTokens, boolean overwrite, int partitions, long minWordCount,
                         DocFormat format, String textField, boolean strict) {
        /** Line documents (the default format). */
        public Params(List<String> inputs, String output, int vocabSize, BpeMode mode, long minFrequency,
                      SpecialTokens specialTokens, boolean overwrite, int partitions, long minWordCount) {
            this(inputs, output, vocabSize, mode, minFrequency, specialTokens, overwrite, partitions, minWordCount,
                DocFormat.LINE, "text", false);
        }

        /** Line documents, every word kept. */
        public Params(List<String> inputs, String output, int vocabSize, BpeMode mode, long minFrequency,
                      SpecialTokens specialTokens, boolean overwrite, int partitions) {
            this(inputs, output, vocabSize, mode, minFrequency, specialTokens, overwrite, partitions, 1);
        }
    }

    /** What the job measured; also written as report.json. */
    public record Report(ObjectNode json, BpeModel model, String firstFile) {
    }

    private BpeTrainJob() {
    }

    public static Options options() {
        return new Options("bpe-train",
            "Learns a byte-pair-encoding vocabulary from a text corpus on Spark: the executors count words and"
                + " pairs, the driver adds merges of the most frequent adjacent pair until the vocabulary size is"
                + " reached. Writes tokenizer.json (HuggingFace), vocab.json + merges.txt (GPT-2) and report.json.")
            .requiredList("input", "PATH...", "text files, directories or globs on any Hadoop FileSystem"
                + " (file://, hdfs://, s3a://); .gz and other Hadoop codecs are decompressed")
            .required("output", "DIR", "output directory (must not exist unless --overwrite)")
            .value("doc-format", "FORMAT", DocumentInput.DOC_FORMAT_HELP, "line")
            .value("text-field", "NAME", DocumentInput.TEXT_FIELD_HELP, "text")
            .value("vocab-size", "N", "total number of ids: special tokens + base symbols + merges", "30000")
            .value("mode", "MODE", "byte (GPT-2 byte-level, never unknown) or char-eow (characters, </w>)", "byte")
            .value("min-frequency", "N", "stop when the best pair occurs fewer times", "2")
            .value("special-tokens", "LIST", "comma-separated special tokens; 'default' is [PAD] [UNK] [BOS] [EOS]"
                + " [MASK] [CLS] [SEP] <extra_id_0>..<extra_id_99>; 'none' for none", "default")
            .value("partitions", "N", "partitions of the word table (0: Spark's default parallelism)", "0")
            .value("min-word-count", "N", "drop words seen fewer than N times before merging, to bound driver"
                + " memory on huge corpora (1 keeps every word: exact)", "1")
            .flag("strict", DocumentInput.STRICT_HELP)
            .flag("overwrite", "replace an existing output directory");
    }

    /** Parses arguments; null when --help was printed. */
    static Params parse(String[] args) {
        Options.Parsed p = options().parseOrHelp(args, System.out);
        if (p == null) {
            return null;
        }
        DocFormat format = DocumentInput.parseFormat("bpe-train", p);
        String field = DocumentInput.parseTextField("bpe-train", p);
        BpeMode mode;
        SpecialTokens specials;
        try {
            mode = BpeMode.parse(p.string("mode"));
            specials = SpecialTokens.parse(p.string("special-tokens"));
        } catch (IllegalArgumentException e) {
            throw new UsageException("bpe-train: " + e.getMessage());
        }
        int vocab = p.intValue("vocab-size", 1, Integer.MAX_VALUE - 1024);
        long minF = p.longValue("min-frequency", 1, Long.MAX_VALUE);
        try {
            new BpeTrainer.Config(mode, vocab, minF, specials);
        } catch (IllegalArgumentException e) {
            throw new UsageException("bpe-train: --vocab-size: " + e.getMessage());
        }
        return new Params(p.list("input"), p.string("output"), vocab, mode, minF, specials, p.flag("overwrite"),
            p.intValue("partitions", 0, 1 << 20), p.longValue("min-word-count", 1, Long.MAX_VALUE), format, field,
            p.flag("strict"));
    }

    public static void main(String[] args) throws Exception {
        Params params = parse(args);
        if (params == null) {
            return;
        }
        JobSupport.withContext("sparklm bpe-train", sc -> {
            Report r = run(sc, params);
            printSummary(r, params, sc.hadoopConfiguration());
        });
    }

    /** Runs the job on an existing context; tests call this directly. */
    public static Report run(JavaSparkContext sc, Params p) throws IOException {
        long t0 = System.nanoTime();
        Configuration hconf = sc.hadoopConfiguration();
        // ---- fail fast, before any work: output, inputs
        Path outPath = new Path(p.output());
        FileSystem outFs = outPath.getFileSystem(hconf);
        AtomicOutput.checkWritable(outFs, outFs.makeQualified(outPath), p.overwrite());
        DocumentInput input = DocumentInput.expand(hconf, "bpe-train", p.inputs());
        if (input.bytes() == 0) {
            throw new UsageException("bpe-train: the input is empty (" + input.fileCount() + " file(s), 0 bytes)");
        }
        LOG.info("bpe-train: {} input file(s), {} bytes, format {}, mode {}, vocabulary {}", input.fileCount(),
            input.bytes(), p.format().cliName(), p.mode().cliName(), p.vocabSize());

        // ---- executors: documents -> words -> counts per task -> summed counts per word-hash partition; cached
        sc.setJobDescription("bpe-train: read, pre-tokenize and count words");
        JavaRDD<WordBlock> table = countWords(sc, input, p).persist(StorageLevel.MEMORY_AND_DISK());
        try {
            ReadStats read = table.map(b -> new ReadStats().merge(b.stats())).reduce(ReadStats::merge);
            List<ReadStats.MalformedRecord> malformed = input.describeMalformed(hconf, read);
            input.check(read, malformed, p.strict());
            long tCount = System.nanoTime();
            // ---- executors: initial pair counts of the unique words; driver: refuse a table it cannot hold
            sc.setJobDescription("bpe-train: count initial pairs");
            LongLongMap pairs = initialPairs(table, p.mode());
            long tPairs = System.nanoTime();
            // ---- driver: stream the word table in, one block (partition) at a time, then merge
            sc.setJobDescription("bpe-train: collect the word table");
            BpeTrainer trainer = new BpeTrainer(new BpeTrainer.Config(p.mode(), p.vocabSize(), p.minFrequency(),
                p.specialTokens()));
            table.toLocalIterator().forEachRemaining(b -> b.forEach(trainer::addWord));
            table.unpersist(false);
            if (trainer.wordCount() == 0) {
                throw new UsageException("bpe-train: the input holds no words (" + read.documents + " document(s),"
                    + " all whitespace to the pre-tokenizer)");
            }
            long tCollect = System.nanoTime();
            LOG.info("bpe-train: {} unique words, {} distinct initial pairs; merging", trainer.wordCount(),
                pairs.size());
            BpeTrainer.Result result = merge(trainer, pairs);
            long tMerge = System.nanoTime();

            // ---- outputs, committed atomically
            ObjectNode report = report(p, input, read, malformed, result, sc);
            write(hconf, p, result.model(), report, new long[] {t0, tCount, tPairs, tCollect, tMerge});
            return new Report(report, result.model(), input.firstFile());
        } finally {
            table.unpersist(false);
            sc.setJobDescription(null);
        }
    }

    /**
     * The word table: each task reads its documents ({@link DocumentInput}, {@link DocumentReader}), splits them
     * into words and counts them; the counts are summed per word-hash partition (words below --min-word-count
     * dropped), one {@link WordBlock} per partition.
     */
    private static JavaRDD<WordBlock> countWords(JavaSparkContext sc, DocumentInput input, Params p)
        throws IOException {
        DocFormat format = p.format();
        String field = p.textField();
        BpeMode mode = p.mode();
        int parts = p.partitions() > 0 ? p.partitions() : Math.max(1, sc.defaultParallelism());
        long minWordCount = p.minWordCount();
        return JavaPairRDD.fromJavaRDD(input.read(sc, format, 0,
                it -> countPartition(it, new DocumentReader(format, field), mode, parts)))
            .partitionBy(new HashPartitioner(parts))
            .mapPartitions(it -> mergePartition(it, minWordCount));
    }

    /**
     * The initial pair counts of the table's unique words, summed on the driver; refuses, before the table is
     * collected, a table whose merge loop would not fit the driver's free heap ({@link BpeMemory}).
     */
    private static LongLongMap initialPairs(JavaRDD<WordBlock> table, BpeMode mode) {
        List<long[]> pairParts = table.map(b -> pairsOfBlock(b, mode)).collect();
        LongLongMap seeded = new LongLongMap(1 << 12);
        long uniqueWords = 0;
        long symbols = 0;
        for (long[] a : pairParts) {
            uniqueWords += a[0];
            symbols += a[1];
            for (int i = 2; i < a.length; i += 2) {
                seeded.add(a[i], a[i + 1]);
            }
        }
        long need = BpeMemory.estimateBytes(uniqueWords, symbols, seeded.size());
        Runtime rt = Runtime.getRuntime();
        long free = rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
        LOG.info("bpe-train: {} unique words, {} symbols, {} distinct pairs: about {} MB on the driver ({} MB free)",
            uniqueWords, symbols, seeded.size(), need >> 20, free >> 20);
        if (need > free) {
            throw new UsageException(String.format(Locale.ROOT, "bpe-train: the word table (%,d unique words, %,d"
                + " symbols) needs about %,d MB on the driver but only %,d MB of heap is free: give the driver"
                + " more memory (--driver-memory) or drop rare words with --min-word-count", uniqueWords, symbols,
                need >> 20, free >> 20));
        }
        return seeded;
    }

    private static BpeTrainer.Result merge(BpeTrainer trainer, LongLongMap seeded) {
        try {
            return trainer.train(new ProgressLog(), seeded);
        } catch (IllegalArgumentException e) {
            throw new UsageException("bpe-train: " + e.getMessage());
        }
    }

    /** Writes tokenizer.json, vocab.json, merges.txt and report.json (with the phases' seconds), atomically. */
    private static void write(Configuration hconf, Params p, BpeModel model, ObjectNode report, long[] t)
        throws IOException {
        try (AtomicOutput out = AtomicOutput.begin(hconf, p.output(), p.overwrite())) {
            try (OutputStream o = out.create(TokenizerFiles.TOKENIZER_JSON)) {
                TokenizerFiles.writeTokenizerJson(model, o);
            }
            try (OutputStream o = out.create(TokenizerFiles.VOCAB_JSON)) {
                TokenizerFiles.writeVocabJson(model, o);
            }
            try (OutputStream o = out.create(TokenizerFiles.MERGES_TXT)) {
                TokenizerFiles.writeMergesTxt(model, o);
            }
            long tWrite = System.nanoTime();
            ObjectNode phases = report.putObject("seconds");
            phases.put("count_words", secs(t[0], t[1]));
            phases.put("count_pairs", secs(t[1], t[2]));
            phases.put("collect_words", secs(t[2], t[3]));
            phases.put("merge", secs(t[3], t[4]));
            phases.put("write", secs(t[4], tWrite));
            phases.put("total", secs(t[0], tWrite));
            ObjectNode mem = report.putObject("memory");
            mem.put("driver_peak_heap_bytes", RunStats.peakHeapBytes());
            mem.put("driver_peak_rss_bytes", RunStats.peakRssBytes());
            mem.put("driver_max_heap_bytes", Runtime.getRuntime().maxMemory());
            try (OutputStream o = out.create("report.json")) {
                new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(o, report);
            }
            out.commit();
        }
    }

    /**
     * Reads one partition's documents and counts their words (a document is split whole: its newlines are
     * whitespace to the pre-tokenizer); returns one block per word-hash bucket (bucket = target partition), the
     * reading statistics riding on the first.
     */
    static Iterator<Tuple2<Integer, WordBlock>> countPartition(Iterator<DocumentReader.Record> it,
                                                               DocumentReader reader, BpeMode mode, int parts) {
        WordCounter local = new WordCounter();
        WordBlock[] buckets = new WordBlock[parts];
        for (int i = 0; i < parts; i++) {
            buckets[i] = new WordBlock();
        }
        while (it.hasNext()) {
            String text = reader.text(it.next());
            if (text != null) {
                WordSplitter.split(mode, text, (s, e) -> local.add(text, s, e));
            }
        }
        buckets[0].setStats(reader.stats());
        local.forEach((w, c) -> buckets[Math.floorMod(w.hashCode(), parts)].add(w, c));
        List<Tuple2<Integer, WordBlock>> out = new ArrayList<>(parts);
        for (int i = 0; i < parts; i++) {
            if (i == 0 || buckets[i].words() > 0) {
                out.add(new Tuple2<>(i, buckets[i].compact()));
            }
        }
        return out.iterator();
    }

    /** Sums one partition's blocks into one block of unique words (dropping words below minWordCount). */
    static Iterator<WordBlock> mergePartition(Iterator<Tuple2<Integer, WordBlock>> it, long minWordCount) {
        WordCounter sum = new WordCounter();
        WordBlock out = new WordBlock();
        while (it.hasNext()) {
            WordBlock b = it.next()._2();
            out.addStats(b);
            b.forEach(sum::add);
        }
        sum.forEach((w, c) -> {
            if (c >= minWordCount) {
                out.add(w, c);
            }
        });
        return List.of(out.compact()).iterator();
    }

    /**
     * The initial pair counts of one block of unique words, as {unique words, symbols, pair, count, pair, count...}.
     */
    static long[] pairsOfBlock(WordBlock block, BpeMode mode) {
        LongLongMap local = new LongLongMap(1 << 12);
        long[] sizes = new long[2];
        block.forEach((w, c) -> {
            BpeTrainer.countInitialPairs(mode, w, c, local);
            sizes[0]++;
            sizes[1] += BpeMemory.symbols(mode, w);
        });
        long[] out = new long[2 + 2 * local.size()];
        out[0] = sizes[0];
        out[1] = sizes[1];
        int[] i = {2};
        local.forEach((k, v) -> {
            out[i[0]++] = k;
            out[i[0]++] = v;
        });
        return out;
    }

    private static double secs(long from, long to) {
        return Math.round((to - from) / 1e6) / 1e3;
    }

    private static ObjectNode report(Params p, DocumentInput input, ReadStats read,
                                     List<ReadStats.MalformedRecord> malformed, BpeTrainer.Result r,
                                     JavaSparkContext sc) {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        ObjectNode cfg = root.putObject("config");
        ArrayNode inputs = cfg.putArray("input");
        p.inputs().forEach(inputs::add);
        cfg.put("doc_format", p.format().cliName());
        if (p.format() == DocFormat.JSONL) {
            cfg.put("text_field", p.textField());
        }
        cfg.put("mode", p.mode().cliName());
        cfg.put("vocab_size", p.vocabSize());
        cfg.put("min_frequency", p.minFrequency());
        ArrayNode sp = cfg.putArray("special_tokens");
        p.specialTokens().tokens().forEach(sp::add);
        cfg.put("spark_master", sc.master());
        cfg.put("spark_version", sc.version());
        cfg.put("partitions", p.partitions());
        cfg.put("min_word_count", p.minWordCount());
        ObjectNode in = root.putObject("input");
        in.put("files", input.fileCount());
        in.put("bytes", input.bytes());
        in.put("lines", read.records); // the records and their bytes, under their names from line-only days
        in.put("line_bytes", read.inputBytes);
        DocumentInput.report(in, read, malformed);
        in.put("words", r.totalWords());
        in.put("unique_words", r.uniqueWords());
        in.put("initial_pairs", r.initialPairs());
        ObjectNode out = root.putObject("vocabulary");
        out.put("size", r.model().vocabSize());
        out.put("special_tokens", r.model().specialTokens().size());
        out.put("base_symbols", r.model().baseCount());
        out.put("merges", r.model().mergeCount());
        out.put("stop_reason", r.stopReason());
        ArrayNode counts = out.putArray("merge_counts");
        for (long c : r.mergeCounts()) {
            counts.add(c);
        }
        return root;
    }

    private static void printSummary(Report r, Params p, Configuration conf) throws IOException {
        ObjectNode j = r.json();
        System.out.printf(Locale.ROOT, "bpe-train: wrote %s%n", p.output());
        System.out.printf(Locale.ROOT, "  input      %d file(s), %,d bytes, %,d records: %,d documents, %,d empty"
                + " skipped, %,d malformed skipped; %,d words (%,d unique), %d invalid UTF-8 sequences%n",
            j.at("/input/files").asLong(), j.at("/input/bytes").asLong(), j.at("/input/records").asLong(),
            j.at("/input/documents").asLong(), j.at("/input/empty_documents_skipped").asLong(),
            j.at("/input/malformed_records_skipped").asLong(), j.at("/input/words").asLong(),
            j.at("/input/unique_words").asLong(), j.at("/input/invalid_utf8_sequences").asLong());
        DocumentInput.printMalformed(j.path("input"));
        System.out.printf(Locale.ROOT, "  vocabulary %,d ids = %d special + %d base + %,d new (%,d merges); %s%n",
            j.at("/vocabulary/size").asLong(), j.at("/vocabulary/special_tokens").asLong(),
            j.at("/vocabulary/base_symbols").asLong(),
            j.at("/vocabulary/size").asLong() - j.at("/vocabulary/special_tokens").asLong()
                - j.at("/vocabulary/base_symbols").asLong(),
            j.at("/vocabulary/merges").asLong(), j.at("/vocabulary/stop_reason").asText());
        System.out.printf(Locale.ROOT, "  seconds    count words %.2f, count pairs %.2f, collect %.2f, merge %.2f,"
                + " write %.2f, total %.2f%n", j.at("/seconds/count_words").asDouble(),
            j.at("/seconds/count_pairs").asDouble(), j.at("/seconds/collect_words").asDouble(),
            j.at("/seconds/merge").asDouble(), j.at("/seconds/write").asDouble(), j.at("/seconds/total").asDouble());
        System.out.printf(Locale.ROOT, "  memory     driver peak heap %.0f MB, peak RSS %.0f MB%n",
            j.at("/memory/driver_peak_heap_bytes").asLong() / 1e6, j.at("/memory/driver_peak_rss_bytes").asLong() / 1e6);
        String example = firstDocumentLine(conf, r.firstFile(), p.format(), p.textField());
        if (example != null) {
            BpeTokenizer tok = new BpeTokenizer(r.model());
            int[] ids = tok.encode(example);
            StringBuilder pieces = new StringBuilder();
            for (int i = 0; i < ids.length && i < 40; i++) {
                pieces.append(i == 0 ? "" : " | ").append(tok.decode(new int[] {ids[i]}));
            }
            System.out.printf(Locale.ROOT, "  example    %s%n", abbreviate(example, 160));
            System.out.printf(Locale.ROOT, "  tokens     %s%s%n", pieces, ids.length > 40 ? " ..." : "");
            StringBuilder idList = new StringBuilder();
            for (int i = 0; i < ids.length && i < 40; i++) {
                idList.append(i == 0 ? "" : " ").append(ids[i]);
            }
            System.out.printf(Locale.ROOT, "  ids        %s%s (%d tokens for %d characters)%n", idList,
                ids.length > 40 ? " ..." : "", ids.length, example.length());
        }
        System.out.printf(Locale.ROOT, "  report     %s/report.json%n", p.output());
    }

    private static String abbreviate(String s, int n) {
        return s.length() <= n ? s : s.substring(0, n) + "...";
    }

    /**
     * The first non-blank line of the first document of a file (at most 500 characters of it, from the file's first
     * megabyte), for the example.
     */
    private static String firstDocumentLine(Configuration conf, String file, DocFormat format, String field) {
        try (InputStream in = HadoopFiles.open(conf, file)) {
            byte[] b = in.readNBytes(1 << 20);
            DocumentReader reader = new DocumentReader(format, field);
            String text = null;
            if (format == DocFormat.FILE) {
                text = reader.text("example", 0, b, 0, b.length);
            } else {
                for (int start = 0, i = 0; i <= b.length && text == null; i++) {
                    if (i == b.length || b[i] == '\n' || b[i] == '\r') {
                        text = reader.text("example", start, b, start, i - start);
                        start = i + 1;
                    }
                }
            }
            if (text == null) {
                return null;
            }
            String line = text.strip().lines().filter(l -> !l.isBlank()).findFirst().orElse("").strip();
            return line.length() <= 500 ? line : line.substring(0, 500);
        } catch (IOException | RuntimeException e) {
            LOG.debug("no example line: {}", e.toString());
            return null;
        }
    }

    /** Logs merge progress about every 10% and at most every few seconds. */
    private static final class ProgressLog implements BpeTrainer.Progress {
        private long last = System.nanoTime();
        private int lastPct = -1;

        @Override
        public void merged(int merges, int target, long count) {
            int pct = target == 0 ? 100 : (int) (100L * merges / target);
            long now = System.nanoTime();
            if (pct / 10 != lastPct / 10 || now - last > 5_000_000_000L) {
                LOG.info("bpe-train: merge {} of at most {} ({}%), count {}", merges, target, pct, count);
                lastPct = pct;
                last = now;
            }
        }
    }
}
