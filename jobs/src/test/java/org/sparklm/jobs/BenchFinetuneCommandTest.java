package org.sparklm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.sparklm.UsageException;
import org.sparklm.finetune.FinetuneConfig.Method;
import org.sparklm.io.Json;

class BenchFinetuneCommandTest {

    private static BenchFinetuneCommand.Config parse(String... extra) {
        List<String> a = new ArrayList<>(List.of("--checkpoint", "c", "--train", "t", "--eval", "e", "--output", "o"));
        a.addAll(List.of(extra));
        return BenchFinetuneCommand.commandLine().parse(a.toArray(String[]::new));
    }

    @Test
    void sizesAndMethodsAreTypedLists() {
        BenchFinetuneCommand.Config d = parse();
        assertEquals(List.of(100, 300, 1000, 0), d.sizes());
        assertEquals(List.of(Method.FULL, Method.HEAD, Method.LORA, Method.PREFIX), d.methods());
        assertEquals(List.of(Method.FULL, Method.HEAD), d.scratch());
        BenchFinetuneCommand.Config c = parse("--sizes", "50,0", "--methods", "lora", "--scratch", "");
        assertEquals(List.of(50, 0), c.sizes());
        assertEquals(List.of(Method.LORA), c.methods());
        assertEquals(List.of(), c.scratch());
        assertTrue(assertThrows(UsageException.class, () -> parse("--methods", "full,adapter")).getMessage()
            .startsWith("bench-finetune: --methods: method must be "));
        assertEquals("bench-finetune: --sizes must be between 0 and 2147483647, got -5",
            assertThrows(UsageException.class, () -> parse("--sizes", "-5")).getMessage());
        assertEquals("bench-finetune: --methods and --scratch are both empty: nothing to run",
            assertThrows(UsageException.class, () -> parse("--methods", "", "--scratch", "")).getMessage());
    }

    @Test
    void sizesMeaningTheSameNumberOfExamplesAreRefused() {
        assertEquals(List.of(100, 300, 500), BenchFinetuneCommand.counts(List.of(100, 300, 0), 500, "t.tsv"));
        assertEquals(List.of(100, 500), BenchFinetuneCommand.counts(List.of(100, 900), 500, "t.tsv"));
        assertEquals("bench-finetune: --sizes 0 and 900 both mean all 500 examples of t.tsv; give each size once",
            assertThrows(UsageException.class,
                () -> BenchFinetuneCommand.counts(List.of(0, 100, 900), 500, "t.tsv")).getMessage());
        assertEquals("bench-finetune: --sizes 500 and 0 both mean all 500 examples of t.tsv; give each size once",
            assertThrows(UsageException.class,
                () -> BenchFinetuneCommand.counts(List.of(500, 0), 500, "t.tsv")).getMessage());
        assertEquals("bench-finetune: --sizes lists 100 twice",
            assertThrows(UsageException.class, () -> parse("--sizes", "100,300,100")).getMessage());
        assertEquals("bench-finetune: --methods lists lora twice",
            assertThrows(UsageException.class, () -> parse("--methods", "lora,LORA")).getMessage());
    }

    @Test
    void stratifiedSubsetKeepsEveryLabelAndTheFileOrder() {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 90; i++) {
            lines.add((i % 10 == 0 ? "rare" : "common") + "\tt" + i);
        }
        List<String> sub = BenchFinetuneCommand.stratified(lines, 10);
        assertEquals(10, sub.size());
        assertEquals(1, sub.stream().filter(l -> l.startsWith("rare")).count());
        assertEquals(sub.stream().sorted((a, b) -> lines.indexOf(a) - lines.indexOf(b)).toList(), sub);
        assertEquals(lines, BenchFinetuneCommand.stratified(lines, 500));
    }

    @Test
    void pageHasTheTableAndOneCurvePerMethodAgainstTheLabelCount() throws Exception {
        ObjectNode result = Json.object();
        ArrayNode runs = result.putArray("runs");
        for (String m : List.of("full", "lora")) {
            for (int n : List.of(100, 300, 1000)) {
                ObjectNode r = runs.addObject();
                r.put("method", m);
                r.put("init", "pretrained");
                r.put("examples", n);
                r.put("accuracy", 0.2 + n / 1e4 + (m.equals("lora") ? 0.01 : 0));
                r.put("macro_f1", 0.1);
                r.put("trainable_parameters", m.equals("lora") ? 5071 : 617167);
                r.put("majority_class_accuracy", 0.133);
            }
        }
        String page = BenchFinetuneCommand.table(result);
        var doc = javax.xml.parsers.DocumentBuilderFactory.newInstance().newDocumentBuilder()
            .parse(new java.io.ByteArrayInputStream(page.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        assertEquals(3, doc.getElementsByTagName("polyline").getLength(), "two methods and the majority line");
        assertEquals(6, doc.getElementsByTagName("circle").getLength());
        assertTrue(page.contains("0.230 (0.100)"), "the table keeps accuracy (macro-F1)");
        assertTrue(page.contains(">lora (pretrained)</text>") && page.contains(">majority class</text>"));
    }
}
