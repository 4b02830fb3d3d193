package org.sparklm.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

class HtmlReportTest {
    @TempDir
    Path tmp;

    private static final String XHTML = "http://www.w3.org/1999/xhtml";
    private static final String SVG = "http://www.w3.org/2000/svg";

    /** Parses the page as XML, fetching nothing. */
    static Document parse(String html) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setNamespaceAware(true);
        f.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
        f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", false);
        DocumentBuilder b = f.newDocumentBuilder();
        return b.parse(new ByteArrayInputStream(html.getBytes(StandardCharsets.UTF_8)));
    }

    private static List<Element> polylines(Document d, String cls) {
        NodeList nl = d.getElementsByTagNameNS(SVG, "polyline");
        List<Element> out = new ArrayList<>();
        for (int i = 0; i < nl.getLength(); i++) {
            Element e = (Element) nl.item(i);
            if (e.getAttribute("class").equals(cls)) {
                out.add(e);
            }
        }
        return out;
    }

    private static int points(Element polyline) {
        String p = polyline.getAttribute("points").trim();
        return p.isEmpty() ? 0 : p.split("\\s+").length;
    }

    private static ObjectNode config() {
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.put("objective", "clm");
        c.put("note", "<script>alert('x') & \"y\"</script>\u0001");
        c.putObject("model").put("layers", 4).put("d_model", 128).putArray("list").add(1).add(2);
        return c;
    }

    private static List<RoundMetrics> rounds(int n, int valEvery) {
        List<RoundMetrics> rs = new ArrayList<>();
        for (int r = 1; r <= n; r++) {
            Double val = r % valEvery == 0 ? 8.0 / Math.sqrt(r) + 0.2 : null;
            rs.add(new RoundMetrics(r, r * 8L, n * 8L, r * 16_384L, 8.0 / Math.sqrt(r), val, null, 3e-4, 2000,
                8, 8.0 * r, 8.0 * (n - r), null));
        }
        return rs;
    }

    @Test
    void wellFormedWithCurvesSummaryAndEscapedConfig() throws Exception {
        HtmlReport.Input in = new HtmlReport.Input("tiny <clm> & co", config(), 1_850_000, rounds(40, 5),
            Instant.parse("2025-01-01T00:00:00Z"));
        String html = HtmlReport.render(in);
        Document d = parse(html);
        assertEquals(XHTML, d.getDocumentElement().getNamespaceURI());
        assertEquals("tiny <clm> & co", d.getElementsByTagNameNS(XHTML, "title").item(0).getTextContent());

        List<Element> train = polylines(d, "train");
        List<Element> val = polylines(d, "val");
        assertEquals(1, train.size());
        assertEquals(40, points(train.get(0)));
        assertEquals(1, val.size());
        assertEquals(8, points(val.get(0)));
        assertEquals(8, d.getElementsByTagNameNS(SVG, "circle").getLength(), "validation points are marked");

        assertFalse(html.contains("<script"), "config text is escaped");
        assertTrue(html.contains("&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;\uFFFD"));
        assertTrue(html.contains("<th>model.layers</th><td>4</td>"), "nested config flattened");
        assertTrue(html.contains("<th>model.list</th><td>[1,2]</td>"));
        // 40 rounds x 16384 tokens = 655360 tokens of 37M compute-optimal
        assertTrue(html.contains("The model saw 655k tokens, 1.77% of the compute-optimal budget of 37.0M tokens"),
            html);
        assertTrue(html.contains("best validation loss"));
        // nothing fetched: no src/href attributes, no external scripts or fonts
        assertFalse(html.contains("src=") || html.contains("href=") || html.contains("@import")
            || html.contains("url("));
    }

    private static List<RoundMetrics> timedRounds(int n, boolean spread) {
        List<RoundMetrics> rs = new ArrayList<>();
        for (int r = 1; r <= n; r++) {
            ObjectNode x = new ObjectMapper().createObjectNode();
            // round r: compute r s, rebuild 0.1 s, the rest 1 s; medians over 1..5: 3, 0.1, 1 of 4.1 s
            x.put("compute_seconds", (double) r).put("rebuild_seconds", 0.1).put("overhead_seconds", 1.0)
                .put("bytes_per_round", 2_000_000L).put("worker_spread", spread ? 10.0 / r : 0.0)
                .put("pseudo_gradient_norm", 20.0 / r);
            rs.add(new RoundMetrics(r, r * 8L, n * 8L, r * 16_384L, 8.0 / Math.sqrt(r), null, null, 3e-4, 2000,
                r + 1.1, 8.0 * r, 8.0 * (n - r), x));
        }
        return rs;
    }

    @Test
    void roundsSectionShowsWhereTheTimeWentAndTheDrift() throws Exception {
        String html = HtmlReport.render(new HtmlReport.Input("t", null, 1000, timedRounds(5, true), null));
        Document d = parse(html);
        assertTrue(html.contains("<h2>Rounds</h2>"), "no Rounds section");
        assertTrue(html.contains("4.100 s"), "median round time");
        assertTrue(html.contains("3.000 s (73.2%)"), "median compute time and share");
        assertTrue(html.contains("0.100 s (2.4%)") && html.contains("1.000 s (24.4%)"), "rebuild and the rest");
        assertTrue(html.contains("2 000 000"), "bytes per round");
        assertEquals(5, points(polylines(d, "train").get(polylines(d, "train").size() - 1)), "spread points");
        assertTrue(html.contains("pseudo-gradient norm"), "drift legend");
        // one worker: the timing, no drift chart (its spread is 0); earlier metrics: no section at all
        String one = HtmlReport.render(new HtmlReport.Input("t", null, 1000, timedRounds(5, false), null));
        assertTrue(one.contains("<h2>Rounds</h2>") && !one.contains("pseudo-gradient norm"), "one worker");
        String old = HtmlReport.render(new HtmlReport.Input("t", null, 1000, rounds(5, 1), null));
        assertFalse(old.contains("<h2>Rounds</h2>"), "a Rounds section without timing");
    }

    @Test
    void nonFiniteValuesBreakTheLineAndAreNoted() throws Exception {
        List<RoundMetrics> rs = new ArrayList<>(rounds(10, 2));
        RoundMetrics r4 = rs.get(3);
        rs.set(3, new RoundMetrics(4, r4.step(), r4.totalSteps(), r4.tokens(), Double.NaN, Double.POSITIVE_INFINITY,
            null, 3e-4, 1, 1, 1, null, null));
        RoundMetrics r7 = rs.get(6);
        rs.set(6, new RoundMetrics(7, r7.step(), r7.totalSteps(), r7.tokens(), Double.NEGATIVE_INFINITY, null,
            null, 3e-4, 1, 1, 1, null, null));
        Document d = parse(HtmlReport.render(new HtmlReport.Input("t", config(), 1000, rs, null)));
        List<Integer> train = polylines(d, "train").stream().map(HtmlReportTest::points).toList();
        assertEquals(List.of(3, 2, 3), train);
        // validation at rounds 2, 4 (infinite), 6, 8, 10
        assertEquals(List.of(1, 3), polylines(d, "val").stream().map(HtmlReportTest::points).toList());
        String html = HtmlReport.render(new HtmlReport.Input("t", config(), 1000, rs, null));
        assertTrue(html.contains("Not drawn: 2 training losses and 1 validation loss that are NaN or infinite"
            + " (the first at step 32)"), html);
        assertFalse(html.contains("NaN,") || html.contains("Infinity,"), "no non-finite coordinates");
    }

    @Test
    void singlePointNoValidationAndNoRounds() throws Exception {
        String one = HtmlReport.render(new HtmlReport.Input("t", null, 0, rounds(1, 1000), null));
        Document d = parse(one);
        assertEquals(1, polylines(d, "train").size());
        assertEquals(1, points(polylines(d, "train").get(0)));
        assertEquals(1, d.getElementsByTagNameNS(SVG, "circle").getLength(), "a single point gets a marker");
        assertTrue(one.contains("No validation loss was computed."));
        assertTrue(one.contains("parameter count unknown"));
        assertFalse(one.contains("NaN"), one);

        String none = HtmlReport.render(new HtmlReport.Input("t", new ObjectMapper().createObjectNode(), 5, List.of(),
            null));
        Document e = parse(none);
        assertEquals(0, e.getElementsByTagNameNS(SVG, "svg").getLength());
        assertTrue(none.contains("No training round recorded."));

        List<RoundMetrics> allNaN = List.of(new RoundMetrics(1, 1, 0, 10, Double.NaN, null, null, 0, 0, 0, 0, null,
            null));
        String nan = HtmlReport.render(new HtmlReport.Input("t", null, 5, allNaN, null));
        parse(nan);
        assertTrue(nan.contains("No finite loss value to plot."));
    }

    @Test
    void axisTicksAreNiceAndCoverTheData() {
        SvgChart.Axis x = SvgChart.Axis.of(16_384, 655_360, true);
        assertEquals(0, x.lo());
        assertEquals(700_000, x.hi());
        assertEquals(List.of("0", "100k", "200k", "300k", "400k", "500k", "600k", "700k"),
            x.ticks().stream().map(x::label).toList());
        SvgChart.Axis y = SvgChart.Axis.of(1.47, 8.0, false);
        assertEquals(List.of("1", "2", "3", "4", "5", "6", "7", "8"), y.ticks().stream().map(y::label).toList());
        SvgChart.Axis flat = SvgChart.Axis.of(3.2, 3.2, false);
        assertTrue(flat.lo() < 3.2 && flat.hi() > 3.2);
        SvgChart.Axis big = SvgChart.Axis.of(0, 1.5e9, true);
        assertEquals(List.of("0", "0.5B", "1.0B", "1.5B"), big.ticks().stream().map(big::label).toList());
    }

    @Test
    void writesReportHtmlAtomically() throws Exception {
        Path out = tmp.resolve("run");
        var file = HtmlReport.write(new Configuration(), out.toUri().toString(),
            new HtmlReport.Input("t", config(), 100, rounds(3, 1), null));
        assertEquals("report.html", file.getName());
        parse(Files.readString(out.resolve("report.html")));
        try (var s = Files.list(out)) {
            assertEquals(List.of("report.html"), s.map(p -> p.getFileName().toString()).toList());
        }
    }
}
