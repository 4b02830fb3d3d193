package org.sparklm.finetune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.dataset.api.MultiDataSet;

/** Labelled text, labels, epochs as real passes, minibatches and classification metrics. */
class FinetuneDataTest {

    private static LabelledText.Example parse(LabelledText r, String line) throws LabelledText.Malformed {
        byte[] b = line.getBytes(StandardCharsets.UTF_8);
        return r.parse(b, 0, b.length);
    }

    private static String malformed(LabelledText r, String line) {
        return assertThrows(LabelledText.Malformed.class, () -> parse(r, line)).getMessage();
    }

    @Test
    void readsJsonlFieldsPointersAndTsv() throws Exception {
        LabelledText j = new LabelledText(LabelledText.Format.JSONL, "text", "label");
        assertEquals(new LabelledText.Example("a \"b\"\nc", "sports"),
            parse(j, "{\"text\": \"a \\\"b\\\"\\nc\", \"label\": \"sports\"}"));
        assertEquals("3", parse(j, "{\"text\": \"x\", \"label\": 3}").label());
        assertEquals("true", parse(j, "{\"text\": \"x\", \"label\": true}").label());
        LabelledText p = new LabelledText(LabelledText.Format.JSONL, "/doc/body", "/meta/topic");
        assertEquals(new LabelledText.Example("t", "k"),
            parse(p, "{\"doc\": {\"body\": \"t\"}, \"meta\": {\"topic\": \"k\"}}"));
        assertTrue(malformed(j, "{\"text\": \"x\"}").contains("no label field 'label'"));
        assertTrue(malformed(j, "{\"label\": \"x\"}").contains("no field 'text'"));
        assertTrue(malformed(j, "{\"text\": 5, \"label\": \"x\"}").contains("not a string"));
        assertTrue(malformed(j, "{\"text\": \"x\", \"label\": [1]}").contains("not a string, number"));
        assertTrue(malformed(j, "{\"text\": ").startsWith("invalid JSON"));
        assertTrue(malformed(j, "[1]").contains("not a JSON object"));
        LabelledText t = new LabelledText(LabelledText.Format.TSV, "text", "label");
        assertEquals(new LabelledText.Example("the text\twith a tab", "news"), parse(t, "news\tthe text\twith a tab"));
        assertTrue(malformed(t, "no tab here").contains("no tab"));
        assertTrue(malformed(t, " \ttext").contains("empty label"));
    }

    @Test
    void labelsAreSortedDistinctAndRoundTrip() {
        LabelSet s = new LabelSet(List.of("sports", "arts", "news", "arts"));
        assertEquals(List.of("arts", "news", "sports"), s.labels());
        assertEquals(2, s.id("sports"));
        assertEquals(-1, s.id("weather"));
        assertEquals(s, LabelSet.fromJson(s.toJson()));
        assertThrows(IllegalArgumentException.class, () -> new LabelSet(List.of("only")));
    }

    @Test
    void everyEpochUsesEveryExampleExactlyOnceInASeededOrder() {
        for (int[] c : new int[][] {{103, 2, 8}, {16, 2, 8}, {17, 3, 4}, {5, 5, 16}, {1000, 4, 7}}) {
            int n = c[0];
            EpochPlan plan = new EpochPlan(n, c[1], c[2], 42);
            int steps = plan.stepsPerEpoch();
            assertEquals((n + c[1] * c[2] - 1) / (c[1] * c[2]), steps);
            for (int epoch = 0; epoch < 3; epoch++) {
                int[] seen = new int[n];
                List<Integer> order = new ArrayList<>();
                for (int s = 0; s < steps; s++) {
                    for (int w = 0; w < c[1]; w++) {
                        int[] mb = plan.minibatch((long) epoch * steps + s, w);
                        assertTrue(mb.length >= 1 && mb.length <= c[2], "size " + mb.length);
                        for (int i : mb) {
                            seen[i]++;
                            order.add(i);
                        }
                    }
                }
                for (int i = 0; i < n; i++) {
                    assertEquals(1, seen[i], "example " + i + " in epoch " + epoch + " of " + Arrays.toString(c));
                }
                if (epoch == 1 && n > 10) {
                    assertTrue(!order.equals(toList(plan.permutation(0))), "a new order every epoch");
                }
            }
        }
        assertArrayEquals(new EpochPlan(50, 2, 4, 7).minibatch(9, 1), new EpochPlan(50, 2, 4, 7).minibatch(9, 1));
        assertTrue(!Arrays.equals(new EpochPlan(50, 2, 4, 7).permutation(0), new EpochPlan(50, 2, 4, 8)
            .permutation(0)));
        assertThrows(IllegalArgumentException.class, () -> new EpochPlan(3, 4, 8, 1));
    }

    private static List<Integer> toList(int[] a) {
        return Arrays.stream(a).boxed().toList();
    }

    @Test
    void minibatchesArePaddedWithAMask() {
        ExampleSet set = new ExampleSet(List.of(new ExampleSet.Encoded(new int[] {5, 6, 7}, 1),
            new ExampleSet.Encoded(new int[] {8}, 0)));
        MultiDataSet b = ClassBatches.of(set, new int[] {1, 0}, 0);
        assertArrayEquals(new long[] {2, 3}, b.getFeatures(0).shape());
        assertArrayEquals(new float[] {8, 0, 0, 5, 6, 7}, b.getFeatures(0).data().asFloat());
        assertArrayEquals(new float[] {1, 0, 0, 1, 1, 1}, b.getFeaturesMaskArray(0).data().asFloat());
        assertArrayEquals(new float[] {0, 1}, b.getLabels(0).data().asFloat());
        assertNull(ClassBatches.of(set, new int[] {0}, 0).getFeaturesMaskArrays(), "no padding, no mask");
        assertEquals(4, set.tokenCount());
        assertArrayEquals(new long[] {1, 1}, set.classCounts(2));
    }

    @Test
    void metricsAgainstAHandComputation() {
        // 3 classes; truth/predicted pairs
        ClassificationMetrics m = new ClassificationMetrics(3);
        int[][] pairs = {{0, 0}, {0, 0}, {0, 1}, {1, 1}, {1, 2}, {2, 2}, {2, 2}, {2, 0}};
        for (int[] p : pairs) {
            m.add(p[0], p[1]);
        }
        assertEquals(5.0 / 8, m.accuracy(), 1e-12);
        // class 0: P 2/3, R 2/3; class 1: P 1/2, R 1/2; class 2: P 2/3, R 2/3
        assertEquals(2.0 / 3, m.f1(0), 1e-12);
        assertEquals(0.5, m.f1(1), 1e-12);
        assertEquals((2.0 / 3 + 0.5 + 2.0 / 3) / 3, m.macroF1(), 1e-12);
        var json = m.toJson(new LabelSet(List.of("a", "b", "c")));
        assertEquals(3, json.path("per_class").path("a").path("support").asInt());
        assertEquals(2, json.path("confusion").get(2).get(2).asInt());
        ClassificationMetrics empty = new ClassificationMetrics(2);
        empty.add(0, 0);
        assertEquals(0.5, empty.macroF1(), 1e-12, "a class never seen nor predicted has F1 0");
    }
}
