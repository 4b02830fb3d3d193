package org.sparklm.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

class SvgChartTest {
    private static final String SVG = "http://www.w3.org/2000/svg";

    @Test
    void logAxisTicksAtDecadesAndTheirMultiplesOverShortRanges() {
        SvgChart.Axis wide = SvgChart.Axis.log(3e5, 2e9, true);
        assertEquals(1e5, wide.lo());
        assertEquals(1e10, wide.hi());
        assertEquals(List.of("100k", "1M", "10M", "100M", "1B", "10B"),
            wide.ticks().stream().map(wide::label).toList());
        assertEquals(0.0, wide.frac(1e5), 1e-12);
        assertEquals(0.6, wide.frac(1e8), 1e-12);
        SvgChart.Axis narrow = SvgChart.Axis.log(0.15, 0.9, false);
        assertEquals(List.of("0.1", "0.2", "0.5", "1"), narrow.ticks().stream().map(narrow::label).toList());
        SvgChart.Axis tiny = SvgChart.Axis.log(2e-7, 5e-6, false);
        assertEquals("1e-7", tiny.label(1e-7));
        assertEquals("2\u00d71e-7", tiny.label(2e-7));
    }

    @Test
    void drawsEverySeriesWithItsClassMarkersDashesAndLegend() throws Exception {
        SvgChart.Series fit = SvgChart.Series.line("fit", "fit", "#000000",
            List.of(new SvgChart.Point(1e6, 4.0), new SvgChart.Point(1e7, 3.5), new SvgChart.Point(1e8, 3.2)))
            .asDashed();
        SvgChart.Series runs = SvgChart.Series.points("runs", "run", SvgChart.PALETTE.get(1),
            List.of(new SvgChart.Point(1e6, 4.1), new SvgChart.Point(-1, 3.0), new SvgChart.Point(1e8, Double.NaN),
                new SvgChart.Point(3e7, 3.3)));
        String svg = SvgChart.svg(new SvgChart.Spec("parameters", "loss", true, false, true, List.of(fit, runs)));
        Document doc = HtmlReportTest.parse(svg);
        NodeList lines = doc.getElementsByTagNameNS(SVG, "polyline");
        assertEquals(1, lines.getLength());
        Element line = (Element) lines.item(0);
        assertEquals("fit", line.getAttribute("class"));
        assertEquals("6 4", line.getAttribute("stroke-dasharray"));
        assertEquals(3, line.getAttribute("points").split(" ").length);
        int markers = 0;
        NodeList circles = doc.getElementsByTagNameNS(SVG, "circle");
        for (int i = 0; i < circles.getLength(); i++) {
            markers += "run-marker".equals(((Element) circles.item(i)).getAttribute("class")) ? 1 : 0;
        }
        assertEquals(2, markers, "the non-positive x (log axis) and the NaN are left out");
        assertTrue(svg.contains(">fit</text>") && svg.contains(">runs</text>"));
        assertTrue(svg.contains(">1M</text>") && svg.contains(">100M</text>"));
        assertEquals("", SvgChart.svg(new SvgChart.Spec("x", "y", false, false, false, List.of())));
    }
}
