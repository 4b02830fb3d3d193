package org.sparklm.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MetricsLogTest {
    @TempDir
    Path tmp;

    private final Configuration conf = new Configuration();

    static RoundMetrics round(long round, double trainLoss, Double valLoss) {
        long step = round * 8;
        return new RoundMetrics(round, step, 400, step * 2048, trainLoss, valLoss, null, 3e-4, 2281.4, 7.2,
            7.2 * round, 7.2 * (50 - round), null);
    }

    private String run() {
        return tmp.resolve("run").toUri().toString();
    }

    private List<String> lines() throws IOException {
        return Files.readAllLines(tmp.resolve("run").resolve(MetricsLog.FILE));
    }

    @Test
    void writesOneJsonRecordPerRoundAndRewritesWithoutLeftovers() throws IOException {
        MetricsLog log = MetricsLog.create(conf, run());
        log.append(round(1, 8.1, null));
        assertEquals(1, lines().size());
        ObjectNode extra = new ObjectMapper().createObjectNode().put("broadcast_seconds", 0.4);
        log.append(new RoundMetrics(2, 16, 400, 32768, 7.5, 7.7, 0.25, 2e-4, 2000, 7, 14, 300.0, extra));
        List<String> lines = lines();
        assertEquals(2, lines.size());
        JsonNode first = new ObjectMapper().readTree(lines.get(0));
        assertTrue(first.get("val_loss").isNull());
        assertTrue(first.get("val_ppl").isNull());
        assertEquals(8, first.get("step").asLong());
        JsonNode second = new ObjectMapper().readTree(lines.get(1));
        assertEquals(7.7, second.get("val_loss").asDouble());
        assertEquals(Math.exp(7.7), second.get("val_ppl").asDouble(), 1e-9);
        assertEquals(0.25, second.get("mlm_accuracy").asDouble());
        assertEquals(0.4, second.get("broadcast_seconds").asDouble());
        assertEquals(List.of("metrics.jsonl"), listRun(), "no temporary files or .crc files left");
    }

    private List<String> listRun() throws IOException {
        try (Stream<Path> s = Files.list(tmp.resolve("run"))) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void nonFiniteLossesRoundTripAsStrings() throws IOException {
        MetricsLog log = MetricsLog.create(conf, run());
        log.append(round(1, Double.NaN, Double.POSITIVE_INFINITY));
        assertTrue(lines().get(0).contains("\"train_loss\":\"NaN\""), lines().get(0));
        RoundMetrics back = MetricsLog.resume(conf, run(), 100).last();
        assertTrue(Double.isNaN(back.trainLoss()));
        assertEquals(Double.POSITIVE_INFINITY, back.valLoss());
    }

    @Test
    void resumeKeepsRecordsUpToTheResumedStep() throws IOException {
        MetricsLog log = MetricsLog.create(conf, run());
        for (int r = 1; r <= 5; r++) {
            log.append(round(r, 9 - r, r % 2 == 0 ? 9.5 - r : null));
        }
        MetricsLog resumed = MetricsLog.resume(conf, run(), 24); // rounds 1..3 are at steps 8, 16, 24
        assertEquals(List.of(1L, 2L, 3L), resumed.records().stream().map(RoundMetrics::round).toList());
        assertEquals(3, lines().size(), "the file is rewritten at once");
        assertEquals(log.records().subList(0, 3), resumed.records());
        resumed.append(round(4, 4.9, null));
        assertEquals(4, lines().size());
        assertThrows(IllegalArgumentException.class, () -> resumed.append(round(4, 4.8, null)));
        // nothing to resume from: an empty log
        assertTrue(MetricsLog.resume(conf, tmp.resolve("other").toUri().toString(), 10).records().isEmpty());
    }

    @Test
    void resumeDropsATruncatedLastLineAndRecoversAnInterruptedReplace() throws IOException {
        MetricsLog log = MetricsLog.create(conf, run());
        log.append(round(1, 8, null));
        log.append(round(2, 7, null));
        Path file = tmp.resolve("run").resolve(MetricsLog.FILE);
        String text = Files.readString(file);
        Files.writeString(file, text.substring(0, text.length() - 20)); // cut inside the second record
        assertEquals(1, MetricsLog.resume(conf, run(), 100).records().size());

        // crash between deleting the old file and renaming the new one: only the complete temporary file remains
        Files.move(file, tmp.resolve("run").resolve(".metrics.jsonl._tmp-abc"));
        assertEquals(1, MetricsLog.resume(conf, run(), 100).records().size());
        assertEquals(List.of("metrics.jsonl"), listRun());

        // a bad line that is not the last is an error naming the line
        Files.writeString(file, "{\"nope\": 1}\n" + Files.readString(file));
        IOException e = assertThrows(IOException.class, () -> MetricsLog.resume(conf, run(), 100));
        assertTrue(e.getMessage().contains("line 1"), e.getMessage());
    }

    @Test
    void consoleLine() {
        RoundMetrics m = new RoundMetrics(12, 96, 5000, 196_608, 5.43214, 5.6012, null, 3e-4, 2281.4, 7.2, 86.4,
            2467.0, null);
        assertEquals("round 12 | step 96/5000 | tokens 197k | loss 5.4321 | val 5.6012 ppl 270.8 | lr 3.00e-04"
            + " | 2281 tok/s | ETA 0:41:07", MetricsLog.consoleLine(m));
        RoundMetrics noVal = new RoundMetrics(1, 8, 0, 16_384, Double.NaN, null, null, 1e-5, 10, 1, 1, null, null);
        assertEquals("round 1 | step 8 | tokens 16.4k | loss NaN | lr 1.00e-05 | 10 tok/s | ETA ?",
            MetricsLog.consoleLine(noVal));
        RoundMetrics mlm = new RoundMetrics(2, 16, 16, 4_900_000, 3.2, 3.3, 0.4123, 1e-4, 999, 1, 2, 0.0, null);
        assertTrue(MetricsLog.consoleLine(mlm).contains("| acc 41.2% |"), MetricsLog.consoleLine(mlm));
        assertTrue(MetricsLog.consoleLine(mlm).contains("tokens 4.90M"), MetricsLog.consoleLine(mlm));
    }

    @Test
    void durationsAndCounts() {
        assertEquals("0:00:00", MetricsLog.formatDuration(0.2));
        assertEquals("1:01:01", MetricsLog.formatDuration(3661.0));
        assertEquals("123:00:00", MetricsLog.formatDuration(123 * 3600.0));
        assertEquals("?", MetricsLog.formatDuration(null));
        assertEquals("?", MetricsLog.formatDuration(Double.NaN));
        assertEquals("999", MetricsLog.formatCount(999));
        assertEquals("1.00k", MetricsLog.formatCount(1000));
        assertEquals("1.00M", MetricsLog.formatCount(999_999));
        assertEquals("37.0M", MetricsLog.formatCount(37e6));
        assertEquals("1.25B", MetricsLog.formatCount(1.25e9));
    }

    @Test
    void recordValidation() {
        ObjectNode clash = new ObjectMapper().createObjectNode().put("step", 1);
        assertThrows(IllegalArgumentException.class,
            () -> new RoundMetrics(1, 1, 0, 0, 1, null, null, 0, 0, 0, 0, null, clash));
        assertThrows(IllegalArgumentException.class,
            () -> new RoundMetrics(0, 1, 0, 0, 1, null, null, 0, 0, 0, 0, null, null));
        assertNull(round(1, 1, null).valPerplexity());
        IOException e = assertThrows(IOException.class, () -> MetricsLog.read(new ByteArrayInputStream(
            "{\"round\": 1}\n{}\n".getBytes(StandardCharsets.UTF_8)), "x.jsonl"));
        assertTrue(e.getMessage().startsWith("x.jsonl: line 1"), e.getMessage());
    }
}
