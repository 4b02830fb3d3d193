package org.sparklm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.sparklm.io.Json;

class BenchFinetuneCommandTest {

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
