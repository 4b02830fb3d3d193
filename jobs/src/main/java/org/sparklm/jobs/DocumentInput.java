package org.sparklm.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.LongWritable;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.mapreduce.InputSplit;
import org.apache.hadoop.mapreduce.Job;
import org.apache.hadoop.mapreduce.lib.input.FileInputFormat;
import org.apache.hadoop.mapreduce.lib.input.FileSplit;
import org.apache.hadoop.mapreduce.lib.input.TextInputFormat;
import org.apache.spark.api.java.JavaNewHadoopRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.sparklm.io.SerializableConf;
import org.sparklm.cli.Options;
import org.sparklm.UsageException;
import org.sparklm.data.DocFormat;
import org.sparklm.data.DocumentReader;
import org.sparklm.data.ReadStats;
import org.sparklm.io.HadoopFiles;
import scala.Tuple2;

/**
 * The corpus of {@code bpe-train} and {@code shard} on the executors, read the same way for both: the inputs (files,
 * directories, globs on any Hadoop FileSystem) are expanded once on the driver, then each task gets the raw records of
 * its part of the input, named by their file's input-relative name: lines with their byte offsets (Hadoop's
 * {@code TextInputFormat}: any codec, input splits) for {@code line} and {@code jsonl}, whole files for {@code file}.
 * What a record's text is and what is skipped is core's {@link DocumentReader}; the options, the report fields and
 * the error lines about the input are here, so the two jobs cannot drift apart.
 */
final class DocumentInput {
    static final String DOC_FORMAT_HELP = "line (each non-blank line is a document), file (each file is one"
        + " document) or jsonl (one JSON object per line, text in --text-field)";
    static final String TEXT_FIELD_HELP = "jsonl: the field holding the text, or a JSON pointer such as /meta/body";
    static final String STRICT_HELP = "jsonl: malformed lines are an error (the first ones named by line number),"
        + " nothing is written; without it they are skipped and counted";

    private final String command;
    private final List<HadoopFiles.InputFile> files;
    private final long bytes;
    private final HashMap<String, String> nameOf = new HashMap<>();
    private final HashMap<String, String> uriOf = new HashMap<>();

    private DocumentInput(String command, List<HadoopFiles.InputFile> files) {
        this.command = command;
        this.files = files;
        this.bytes = files.stream().mapToLong(f -> f.status().getLen()).sum();
        for (HadoopFiles.InputFile f : files) {
            nameOf.put(f.status().getPath().toString(), f.name());
            uriOf.put(f.name(), f.status().getPath().toString());
        }
    }

    /**
     * Expands the input arguments; {@code command} prefixes the error lines.
     *
     * @throws java.io.FileNotFoundException naming the first argument that matches nothing
     */
    static DocumentInput expand(Configuration conf, String command, List<String> inputs) throws IOException {
        return new DocumentInput(command, HadoopFiles.expandInputsNamed(conf, inputs));
    }

    int fileCount() {
        return files.size();
    }

    /** The files' sizes (compressed sizes for compressed files). */
    long bytes() {
        return bytes;
    }

    /** The URI of a file by its input-relative name. */
    String uri(String name) {
        return uriOf.get(name);
    }

    String firstFile() {
        return files.get(0).status().getPath().toString();
    }

    /**
     * The input's raw records, each task's turned into results by {@code task}.
     *
     * @param minPartitions read in at least this many partitions, splitting files (0: Hadoop's own input splits for
     *     lines, twice Spark's default parallelism for whole files)
     */
    <T> JavaRDD<T> read(JavaSparkContext sc, DocFormat format, int minPartitions,
                        FlatMapFunction<Iterator<DocumentReader.Record>, T> task) throws IOException {
        Configuration hconf = sc.hadoopConfiguration();
        if (format == DocFormat.FILE) {
            List<String[]> list = new ArrayList<>();
            for (HadoopFiles.InputFile f : files) {
                list.add(new String[] {f.status().getPath().toString(), f.name()});
            }
            int slices = minPartitions > 0 ? minPartitions : 2 * Math.max(1, sc.defaultParallelism());
            SerializableConf taskConf = new SerializableConf(hconf);
            String cmd = command;
            return sc.parallelize(list, Math.max(1, Math.min(list.size(), slices)))
                .mapPartitions(it -> task.call(wholeFiles(it, taskConf, cmd)));
        }
        Job job = Job.getInstance(hconf);
        FileInputFormat.setInputPaths(job, files.stream().map(f -> f.status().getPath()).toArray(Path[]::new));
        if (minPartitions > 0) {
            FileInputFormat.setMaxInputSplitSize(job, Math.max(1 << 16, (bytes + minPartitions - 1) / minPartitions));
        }
        @SuppressWarnings("unchecked")
        JavaNewHadoopRDD<LongWritable, Text> lines = (JavaNewHadoopRDD<LongWritable, Text>) sc.newAPIHadoopRDD(
            job.getConfiguration(), TextInputFormat.class, LongWritable.class, Text.class);
        Map<String, String> names = nameOf;
        return lines.mapPartitionsWithInputSplit((split, it) -> task.call(lines(split, it, names)), false);
    }

    private static Iterator<DocumentReader.Record> lines(InputSplit split, Iterator<Tuple2<LongWritable, Text>> it,
                                                         Map<String, String> nameOf) {
        Path path = ((FileSplit) split).getPath();
        String name = nameOf.get(path.toString());
        if (name == null) {
            throw new IllegalStateException("input split of an unlisted file " + path);
        }
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return it.hasNext();
            }

            @Override
            public DocumentReader.Record next() {
                Tuple2<LongWritable, Text> t = it.next();
                return new DocumentReader.Record(name, t._1().get(), t._2().getBytes(), 0, t._2().getLength());
            }
        };
    }

    private static Iterator<DocumentReader.Record> wholeFiles(Iterator<String[]> it, SerializableConf conf, String cmd) {
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return it.hasNext();
            }

            @Override
            public DocumentReader.Record next() {
                String[] file = it.next();
                try (InputStream in = HadoopFiles.open(conf.get(), file[0])) {
                    byte[] b = in.readNBytes((int) DocumentReader.MAX_FILE_BYTES + 1);
                    if (b.length > DocumentReader.MAX_FILE_BYTES) {
                        throw new UsageException(cmd + ": " + file[0] + " is larger than "
                            + (DocumentReader.MAX_FILE_BYTES >> 20) + " MB, too large for one document"
                            + " (--doc-format file); use line or jsonl");
                    }
                    return new DocumentReader.Record(file[1], 0, b, 0, b.length);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        };
    }

    /** The first malformed records with their line numbers (reads those files up to them, on the driver). */
    List<ReadStats.MalformedRecord> describeMalformed(Configuration conf, ReadStats s) throws IOException {
        return s.describeMalformed(conf, uriOf);
    }

    /**
     * Fails with one line when the input cannot be used: malformed records under {@code --strict} (the first ones
     * named by file and line), or no document at all.
     */
    void check(ReadStats s, List<ReadStats.MalformedRecord> malformed, boolean strict) {
        String problem = s.problem(strict, malformed);
        if (problem != null) {
            throw new UsageException(command + ": " + problem);
        }
    }

    // ------------------------------------------------------------------------------------------------ options

    static DocFormat parseFormat(String command, Options.Parsed p) {
        try {
            return DocFormat.parse(p.string("doc-format"));
        } catch (IllegalArgumentException e) {
            throw new UsageException(command + ": --doc-format: " + e.getMessage());
        }
    }

    static String parseTextField(String command, Options.Parsed p) {
        String field = p.string("text-field");
        if (field.isEmpty()) {
            throw new UsageException(command + ": --text-field is empty");
        }
        return field;
    }

    // ------------------------------------------------------------------------------------------------ report

    /** The reading figures of a report's {@code input} object (the same fields in both jobs). */
    static void report(ObjectNode in, ReadStats s, List<ReadStats.MalformedRecord> malformed) {
        in.put("records", s.records);
        in.put("documents", s.documents);
        in.put("empty_documents_skipped", s.emptyDocuments);
        in.put("malformed_records_skipped", s.malformed);
        ArrayNode mal = in.putArray("first_malformed");
        for (ReadStats.MalformedRecord m : malformed) {
            ObjectNode o = mal.addObject();
            o.put("file", m.file());
            o.put("line", m.line());
            o.put("byte_offset", m.byteOffset());
            o.put("reason", m.reason());
        }
        in.put("invalid_utf8_sequences", s.invalidUtf8);
        in.put("text_bytes", s.textBytes);
    }

    /** Prints a report's first malformed records, one line each. */
    static void printMalformed(JsonNode in) {
        for (JsonNode m : in.path("first_malformed")) {
            System.out.printf(Locale.ROOT, "  malformed  %s line %d: %s%n", m.path("file").asText(),
                m.path("line").asLong(), m.path("reason").asText());
        }
    }
}
