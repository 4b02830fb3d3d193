package org.sparklm.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparklm.io.AtomicCommit;
import org.sparklm.io.HadoopFiles;

/**
 * {@code metrics.jsonl} of a training run: one JSON object per round ({@link RoundMetrics#toJson}), kept in memory and
 * rewritten as a whole after every round (a temporary file renamed over the old one: appending is not available on
 * every Hadoop FileSystem). On resume, {@link #resume} reloads the file and drops the rounds after the step the run
 * resumes from, so the file always describes one trajectory. Also formats the console line of a round.
 *
 * <p>One writer per run directory (the training driver).
 */
public final class MetricsLog {
    private static final Logger LOG = LoggerFactory.getLogger(MetricsLog.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    public static final String FILE = "metrics.jsonl";

    private final FileSystem fs;
    private final Path file;
    private final List<RoundMetrics> records;

    private MetricsLog(FileSystem fs, Path file, List<RoundMetrics> records) {
        this.fs = fs;
        this.file = file;
        this.records = records;
    }

    /** An empty log for a new run; {@code runDir/metrics.jsonl} is (re)written at the first {@link #append}. */
    public static MetricsLog create(Configuration conf, String runDir) throws IOException {
        Path run = new Path(runDir);
        FileSystem fs = HadoopFiles.forWriting(conf, run);
        return new MetricsLog(fs, new Path(fs.makeQualified(run), FILE), new ArrayList<>());
    }

    /**
     * The log of a resumed run: the records of {@code runDir/metrics.jsonl} up to and including {@code resumedStep}
     * (later ones belong to the interrupted trajectory and are dropped; the file is rewritten at once when any
     * were). A missing file gives an empty log. A truncated last line (a crash while writing) is dropped with a
     * warning.
     *
     * @throws IOException when a line other than the last does not parse (naming the file and line)
     */
    public static MetricsLog resume(Configuration conf, String runDir, long resumedStep) throws IOException {
        MetricsLog log = create(conf, runDir);
        Path source = log.file;
        if (!log.fs.exists(source)) {
            source = log.newestTemp();
        }
        if (source == null) {
            LOG.info("no {} to resume: starting an empty one", log.file);
            return log;
        }
        List<RoundMetrics> all;
        try (InputStream in = log.fs.open(source)) {
            all = read(in, source.toString());
        }
        for (RoundMetrics r : all) {
            if (r.step() <= resumedStep) {
                log.records.add(r);
            }
        }
        int dropped = all.size() - log.records.size();
        if (dropped > 0 || !source.equals(log.file)) {
            LOG.info("{}: kept {} rounds up to step {}, dropped {} after it", log.file, log.records.size(),
                resumedStep, dropped);
            log.write();
        }
        log.deleteTemps();
        return log;
    }

    /**
     * Reads metrics records, one JSON object per line; blank lines are skipped; an unparsable last line is dropped
     * with a warning (a write cut short).
     *
     * @param name for messages
     */
    public static List<RoundMetrics> read(InputStream in, String name) throws IOException {
        List<String> lines = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                lines.add(line);
            }
        }
        int last = lines.size() - 1;
        while (last >= 0 && lines.get(last).isBlank()) {
            last--;
        }
        List<RoundMetrics> out = new ArrayList<>();
        for (int i = 0; i <= last; i++) {
            String line = lines.get(i);
            if (line.isBlank()) {
                continue;
            }
            try {
                out.add(RoundMetrics.fromJson(JSON.readTree(line)));
            } catch (IOException | IllegalArgumentException e) {
                if (i == last) {
                    LOG.warn("{}: dropping unreadable last line {} (a write cut short?): {}", name, i + 1,
                        e.getMessage());
                } else {
                    throw new IOException(name + ": line " + (i + 1) + " is not a metrics record: " + e.getMessage(),
                        e);
                }
            }
        }
        return out;
    }

    /** Where the log is written. */
    public Path file() {
        return file;
    }

    /** The records so far, oldest first (unmodifiable). */
    public List<RoundMetrics> records() {
        return Collections.unmodifiableList(records);
    }

    /** The last record, or null. */
    public RoundMetrics last() {
        return records.isEmpty() ? null : records.get(records.size() - 1);
    }

    /**
     * Adds a round and rewrites the file.
     *
     * @throws IllegalArgumentException when its step or round does not follow the last record's
     */
    public void append(RoundMetrics m) throws IOException {
        RoundMetrics prev = last();
        if (prev != null && (m.step() <= prev.step() || m.round() <= prev.round())) {
            throw new IllegalArgumentException("round " + m.round() + " at step " + m.step()
                + " does not follow round " + prev.round() + " at step " + prev.step());
        }
        records.add(m);
        write();
    }

    private void write() throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        for (RoundMetrics r : records) {
            buf.write(JSON.writeValueAsBytes(r.toJson()));
            buf.write('\n');
        }
        AtomicCommit.writeFile(fs, file, o -> buf.writeTo(o), true);
    }

    private List<FileStatus> temps() throws IOException {
        List<FileStatus> out = new ArrayList<>();
        try {
            for (FileStatus st : fs.listStatus(file.getParent())) {
                if (st.isFile() && st.getPath().getName().startsWith(AtomicCommit.tempPrefix(file))) {
                    out.add(st);
                }
            }
        } catch (FileNotFoundException e) {
            return out;
        }
        return out;
    }

    private Path newestTemp() throws IOException {
        return temps().stream().max(Comparator.comparingLong(FileStatus::getModificationTime))
            .map(FileStatus::getPath).orElse(null);
    }

    private void deleteTemps() throws IOException {
        for (FileStatus st : temps()) {
            fs.delete(st.getPath(), false);
        }
    }

    /**
     * The console line of a round, e.g. <pre>
     * round 12 | step 96/5000 | tokens 197k | loss 5.4321 | val 5.6012 ppl 270.8 | lr 3.00e-04 | 2281 tok/s |
     *   ETA 0:41:07   (one line)
     * </pre>
     * The validation part appears only when computed, the masked-token accuracy only for mlm, the total steps only
     * when known.
     */
    public static String consoleLine(RoundMetrics m) {
        StringBuilder sb = new StringBuilder();
        sb.append("round ").append(m.round());
        sb.append(" | step ").append(m.step());
        if (m.totalSteps() > 0) {
            sb.append('/').append(m.totalSteps());
        }
        sb.append(" | tokens ").append(formatCount(m.tokens()));
        sb.append(" | loss ").append(fixed(m.trainLoss(), 4));
        if (m.valLoss() != null) {
            sb.append(" | val ").append(fixed(m.valLoss(), 4)).append(" ppl ").append(perplexity(m.valPerplexity()));
        }
        if (m.mlmAccuracy() != null) {
            sb.append(" | acc ").append(fixed(100 * m.mlmAccuracy(), 1)).append('%');
        }
        if (m.extra() != null && m.extra().has("val_accuracy")) {
            sb.append(" | val acc ").append(fixed(100 * m.extra().path("val_accuracy").asDouble(), 1)).append('%')
                .append(" F1 ").append(fixed(m.extra().path("val_macro_f1").asDouble(), 3));
        }
        sb.append(" | lr ").append(String.format(Locale.ROOT, "%.2e", m.lr()));
        sb.append(" | ").append(fixed(m.tokensPerSecond(), 0)).append(" tok/s");
        sb.append(" | ETA ").append(formatDuration(m.etaSeconds()));
        return sb.toString();
    }

    /** Seconds as {@code h:mm:ss} (hours unbounded), or {@code ?} when null, negative or not finite. */
    public static String formatDuration(Double seconds) {
        if (seconds == null || !Double.isFinite(seconds) || seconds < 0) {
            return "?";
        }
        long s = Math.round(seconds);
        return String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
    }

    /** A count with three significant digits and an SI suffix: 999, 12.3k, 4.92M, 1.25B, 3.40T. */
    public static String formatCount(double n) {
        if (!Double.isFinite(n)) {
            return String.valueOf(n);
        }
        double a = Math.abs(n);
        if (a < 999.5) {
            return fixed(n, 0);
        }
        String[] suffix = {"k", "M", "B", "T"};
        int k = 0;
        double v = n / 1e3;
        while (Math.abs(v) >= 999.5 && k < suffix.length - 1) {
            v /= 1e3;
            k++;
        }
        double av = Math.abs(v);
        int decimals = av >= 99.95 ? 0 : av >= 9.995 ? 1 : 2;
        return fixed(v, decimals) + suffix[k];
    }

    private static String perplexity(double ppl) {
        if (!Double.isFinite(ppl)) {
            return fixed(ppl, 0);
        }
        return ppl >= 1e5 ? String.format(Locale.ROOT, "%.3g", ppl) : fixed(ppl, ppl >= 100 ? 1 : 2);
    }

    static String fixed(double v, int decimals) {
        if (Double.isNaN(v)) {
            return "NaN";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "inf" : "-inf";
        }
        return String.format(Locale.ROOT, "%." + decimals + "f", v);
    }
}
