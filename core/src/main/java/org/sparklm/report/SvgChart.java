package org.sparklm.report;

import java.util.ArrayList;
import java.util.List;

/**
 * An x-y chart as inline SVG, the one drawing code of every report page (training curves, few-shot accuracy, scaling
 * fits): a frame with grid and ticks, axis labels, any number of series, and a legend. An axis is linear with "nice"
 * ticks (1, 2 or 5 times a power of ten) or logarithmic (ticks at powers of ten, with 2 and 5 between them when the
 * range is under three decades). Each series is drawn as one {@code polyline} per segment (class = the series' css
 * class), with markers ({@code circle}, class {@code <cls>-marker}) when asked or when a segment has one point; a
 * series can also be markers only. Non-finite points, and points at or below zero on a log axis, must be left out by
 * the caller (they are ignored here).
 */
public final class SvgChart {
    static final int WIDTH = 760;
    static final int HEIGHT = 380;
    private static final int LEFT = 70;
    private static final int RIGHT = 20;
    private static final int TOP = 20;
    private static final int BOTTOM = 52;

    /** A palette for series without a color of their own (matplotlib's first ten). */
    public static final List<String> PALETTE = List.of("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
        "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf");

    private SvgChart() {
    }

    /** The i-th color of {@link #PALETTE}, cycling. */
    public static String color(int i) {
        return PALETTE.get(Math.floorMod(i, PALETTE.size()));
    }

    /** A point of a series. */
    public record Point(double x, double y) {
    }

    /**
     * One series.
     *
     * @param name     its legend text (null: not in the legend)
     * @param cls      its css class (polylines get it, markers get {@code cls + "-marker"})
     * @param color    stroke and fill color
     * @param segments unbroken runs of points, each drawn as one line
     * @param line     whether to join the points of a segment by a line
     * @param markers  whether to draw every point as a marker (a one-point segment always is)
     * @param dashed   whether the line is dashed (fitted curves, references)
     */
    public record Series(String name, String cls, String color, List<List<Point>> segments, boolean line,
                         boolean markers, boolean dashed) {
        /** A line through the points, without markers. */
        public static Series line(String name, String cls, String color, List<Point> points) {
            return new Series(name, cls, color, List.of(points), true, false, false);
        }

        /** Markers only. */
        public static Series points(String name, String cls, String color, List<Point> points) {
            return new Series(name, cls, color, List.of(points), false, true, false);
        }

        /** This series with markers on (or off). */
        public Series withMarkers(boolean on) {
            return new Series(name, cls, color, segments, line, on, dashed);
        }

        /** This series dashed. */
        public Series asDashed() {
            return new Series(name, cls, color, segments, line, markers, true);
        }

        boolean isEmpty() {
            return segments.stream().allMatch(List::isEmpty);
        }
    }

    /**
     * What to draw.
     *
     * @param xLabel      the horizontal axis' label
     * @param yLabel      the vertical axis' label
     * @param logX        a logarithmic horizontal axis
     * @param logY        a logarithmic vertical axis
     * @param countsX     horizontal tick labels as counts (k, M, B suffixes)
     * @param series      the series, drawn in this order (later ones on top)
     */
    public record Spec(String xLabel, String yLabel, boolean logX, boolean logY, boolean countsX,
                       List<Series> series) {
    }

    /** Whether the spec has no point to draw. */
    public static boolean isEmpty(Spec spec) {
        return spec.series().stream().allMatch(Series::isEmpty);
    }

    /** The chart as an {@code <svg>} element (an empty string when there is no point to draw). */
    public static String svg(Spec spec) {
        double xmin = Double.POSITIVE_INFINITY;
        double xmax = Double.NEGATIVE_INFINITY;
        double ymin = Double.POSITIVE_INFINITY;
        double ymax = Double.NEGATIVE_INFINITY;
        for (Series se : spec.series()) {
            for (List<Point> seg : se.segments()) {
                for (Point p : seg) {
                    if (drawable(p, spec)) {
                        xmin = Math.min(xmin, p.x());
                        xmax = Math.max(xmax, p.x());
                        ymin = Math.min(ymin, p.y());
                        ymax = Math.max(ymax, p.y());
                    }
                }
            }
        }
        if (xmin > xmax) {
            return "";
        }
        Axis xa = spec.logX() ? Axis.log(xmin, xmax, spec.countsX()) : Axis.of(xmin, xmax, spec.countsX());
        Axis ya = spec.logY() ? Axis.log(ymin, ymax, false) : Axis.of(ymin, ymax, false);
        int pw = WIDTH - LEFT - RIGHT;
        int ph = HEIGHT - TOP - BOTTOM;
        StringBuilder s = new StringBuilder();
        s.append("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"").append(WIDTH)
            .append("\" height=\"").append(HEIGHT).append("\" viewBox=\"0 0 ").append(WIDTH).append(' ')
            .append(HEIGHT).append("\" role=\"img\" aria-label=\"")
            .append(HtmlReport.esc(spec.yLabel() + " against " + spec.xLabel())).append("\">").append('\n');
        s.append("<rect x=\"").append(LEFT).append("\" y=\"").append(TOP).append("\" width=\"").append(pw)
            .append("\" height=\"").append(ph).append("\" fill=\"#ffffff\" stroke=\"#999999\"/>\n");
        for (double t : xa.ticks()) {
            String x = num(LEFT + xa.frac(t) * pw);
            s.append("<line class=\"grid\" x1=\"").append(x).append("\" y1=\"").append(TOP).append("\" x2=\"")
                .append(x).append("\" y2=\"").append(TOP + ph).append("\"/>\n");
            s.append("<line class=\"tick\" x1=\"").append(x).append("\" y1=\"").append(TOP + ph).append("\" x2=\"")
                .append(x).append("\" y2=\"").append(TOP + ph + 5).append("\"/>\n");
            s.append("<text class=\"xtick\" x=\"").append(x).append("\" y=\"").append(TOP + ph + 18)
                .append("\" text-anchor=\"middle\">").append(HtmlReport.esc(xa.label(t))).append("</text>\n");
        }
        for (double t : ya.ticks()) {
            String y = num(TOP + (1 - ya.frac(t)) * ph);
            s.append("<line class=\"grid\" x1=\"").append(LEFT).append("\" y1=\"").append(y).append("\" x2=\"")
                .append(LEFT + pw).append("\" y2=\"").append(y).append("\"/>\n");
            s.append("<line class=\"tick\" x1=\"").append(LEFT - 5).append("\" y1=\"").append(y).append("\" x2=\"")
                .append(LEFT).append("\" y2=\"").append(y).append("\"/>\n");
            s.append("<text class=\"ytick\" x=\"").append(LEFT - 8).append("\" y=\"").append(y)
                .append("\" text-anchor=\"end\" dominant-baseline=\"middle\">").append(HtmlReport.esc(ya.label(t)))
                .append("</text>\n");
        }
        s.append("<text class=\"axis-label\" x=\"").append(LEFT + pw / 2).append("\" y=\"").append(HEIGHT - 10)
            .append("\" text-anchor=\"middle\">").append(HtmlReport.esc(spec.xLabel())).append("</text>\n");
        s.append("<text class=\"axis-label\" x=\"16\" y=\"").append(TOP + ph / 2)
            .append("\" text-anchor=\"middle\" transform=\"rotate(-90 16 ").append(TOP + ph / 2)
            .append(")\">").append(HtmlReport.esc(spec.yLabel())).append("</text>\n");
        List<Series> legend = new ArrayList<>();
        for (Series se : spec.series()) {
            draw(s, se, spec, xa, ya, pw, ph);
            if (se.name() != null && !se.isEmpty()) {
                legend.add(se);
            }
        }
        if (!legend.isEmpty()) {
            int longest = legend.stream().mapToInt(se -> se.name().length()).max().orElse(0);
            int lw = Math.min(pw - 20, Math.max(140, 48 + 7 * longest));
            int lx = LEFT + pw - lw - 10;
            int ly = TOP + 10;
            s.append("<rect class=\"legend\" x=\"").append(lx).append("\" y=\"").append(ly).append("\" width=\"")
                .append(lw).append("\" height=\"").append(8 + 18 * legend.size())
                .append("\" fill=\"#ffffff\" fill-opacity=\"0.85\" stroke=\"#cccccc\"/>\n");
            for (int i = 0; i < legend.size(); i++) {
                legendEntry(s, lx, ly + 13 + 18 * i, legend.get(i));
            }
        }
        s.append("</svg>\n");
        return s.toString();
    }

    private static boolean drawable(Point p, Spec spec) {
        return Double.isFinite(p.x()) && Double.isFinite(p.y()) && (!spec.logX() || p.x() > 0)
            && (!spec.logY() || p.y() > 0);
    }

    private static void draw(StringBuilder s, Series se, Spec spec, Axis xa, Axis ya, int pw, int ph) {
        for (List<Point> all : se.segments()) {
            List<Point> seg = all.stream().filter(p -> drawable(p, spec)).toList();
            if (seg.isEmpty()) {
                continue;
            }
            if (se.line()) {
                s.append("<polyline class=\"").append(se.cls()).append("\" fill=\"none\" stroke=\"")
                    .append(se.color()).append("\" stroke-width=\"1.8\"")
                    .append(se.dashed() ? " stroke-dasharray=\"6 4\"" : "").append(" points=\"");
                for (int i = 0; i < seg.size(); i++) {
                    Point p = seg.get(i);
                    s.append(i == 0 ? "" : " ").append(num(LEFT + xa.frac(p.x()) * pw)).append(',')
                        .append(num(TOP + (1 - ya.frac(p.y())) * ph));
                }
                s.append("\"/>\n");
            }
            if (se.markers() || seg.size() == 1) {
                for (Point p : seg) {
                    s.append("<circle class=\"").append(se.cls()).append("-marker\" cx=\"")
                        .append(num(LEFT + xa.frac(p.x()) * pw)).append("\" cy=\"")
                        .append(num(TOP + (1 - ya.frac(p.y())) * ph)).append("\" r=\"3\" fill=\"")
                        .append(se.color()).append("\"/>\n");
                }
            }
        }
    }

    private static void legendEntry(StringBuilder s, int lx, int y, Series se) {
        if (se.line()) {
            s.append("<line x1=\"").append(lx + 8).append("\" y1=\"").append(y).append("\" x2=\"").append(lx + 32)
                .append("\" y2=\"").append(y).append("\" stroke=\"").append(se.color())
                .append("\" stroke-width=\"2.5\"").append(se.dashed() ? " stroke-dasharray=\"6 4\"" : "")
                .append("/>\n");
        } else {
            s.append("<circle cx=\"").append(lx + 20).append("\" cy=\"").append(y).append("\" r=\"3.5\" fill=\"")
                .append(se.color()).append("\"/>\n");
        }
        s.append("<text class=\"legend-text\" x=\"").append(lx + 40).append("\" y=\"").append(y)
            .append("\" dominant-baseline=\"middle\">").append(HtmlReport.esc(se.name())).append("</text>\n");
    }

    private static String num(double v) {
        return MetricsLog.fixed(v, 1);
    }

    /**
     * An axis from {@code lo} to {@code hi}: linear with a tick every {@code step}, or logarithmic ({@code log}: lo
     * and hi are powers of ten, ticks at the decades and, over a short range, at 2 and 5 times them).
     */
    record Axis(double lo, double hi, double step, boolean counts, boolean log) {
        /** A linear axis with "nice" ticks covering the data. */
        static Axis of(double min, double max, boolean counts) {
            if (min == max) {
                double pad = Math.max(Math.abs(min) * 0.1, counts ? 1 : 0.1);
                min -= pad;
                max += pad;
                if (counts && min < 0 && max - pad >= 0) {
                    min = 0;
                }
            }
            // the coarsest of three candidate steps (about 10, 4 and 2 intervals) that wastes at most a fifth of
            // the axis; the finest when none does
            double range = max - min;
            double step = nice(range / 10);
            for (double s = up(step), k = 0; k < 2; s = up(s), k++) {
                if (Math.ceil(max / s) * s - Math.floor(min / s) * s <= 1.2 * range) {
                    step = s;
                }
            }
            double lo = Math.floor(min / step) * step;
            double hi = Math.ceil(max / step) * step;
            if (hi - lo < step) {
                hi = lo + step;
            }
            return new Axis(lo, hi, step, counts, false);
        }

        /** A logarithmic axis from the decade at or below {@code min} to the one at or above {@code max} (both > 0). */
        static Axis log(double min, double max, boolean counts) {
            double lo = Math.pow(10, Math.floor(Math.log10(min) + 1e-9));
            double hi = Math.pow(10, Math.ceil(Math.log10(max) - 1e-9));
            if (hi <= lo) {
                hi = lo * 10;
            }
            return new Axis(lo, hi, 0, counts, true);
        }

        /** The next nice step: 1 -> 2 -> 5 -> 10 times a power of ten. */
        private static double up(double step) {
            double p = Math.pow(10, Math.floor(Math.log10(step) + 1e-9));
            double f = Math.round(step / p);
            return (f < 2 ? 2 : f < 5 ? 5 : 10) * p;
        }

        static double nice(double raw) {
            double p = Math.pow(10, Math.floor(Math.log10(raw)));
            double f = raw / p;
            return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
        }

        List<Double> ticks() {
            List<Double> t = new ArrayList<>();
            if (log) {
                long decades = Math.round(Math.log10(hi / lo));
                boolean fine = decades < 3;
                for (long i = 0; i <= decades; i++) {
                    double d = lo * Math.pow(10, i);
                    t.add(d);
                    if (fine && i < decades) {
                        t.add(2 * d);
                        t.add(5 * d);
                    }
                }
                return t;
            }
            long n = Math.round((hi - lo) / step);
            for (long i = 0; i <= n; i++) {
                t.add(lo + i * step);
            }
            return t;
        }

        double frac(double v) {
            if (log) {
                return Math.log(v / lo) / Math.log(hi / lo);
            }
            return (v - lo) / (hi - lo);
        }

        String label(double v) {
            if (log) {
                return logLabel(v);
            }
            if (Math.abs(v) < step * 1e-9) {
                return "0";
            }
            double scale = 1;
            String suffix = "";
            double big = Math.max(Math.abs(lo), Math.abs(hi));
            if (counts) {
                if (big >= 1e9) {
                    scale = 1e9;
                    suffix = "B";
                } else if (big >= 1e6) {
                    scale = 1e6;
                    suffix = "M";
                } else if (big >= 1e4) {
                    scale = 1e3;
                    suffix = "k";
                }
            }
            int decimals = (int) Math.max(0, Math.min(6, -Math.floor(Math.log10(step / scale) + 1e-9)));
            return MetricsLog.fixed(v / scale, decimals) + suffix;
        }

        private String logLabel(double v) {
            if (counts) {
                String[] suffixes = {"", "k", "M", "B", "T"};
                for (int i = suffixes.length - 1; i >= 0; i--) {
                    double scale = Math.pow(1000, i);
                    if (v >= scale * 0.999 || i == 0) {
                        double x = v / scale;
                        return (x >= 0.999 ? MetricsLog.fixed(x, 0) : MetricsLog.fixed(x, 3)) + suffixes[i];
                    }
                }
            }
            int e = (int) Math.floor(Math.log10(v) + 1e-9);
            if (e >= -3 && e <= 4) {
                return MetricsLog.fixed(v, Math.max(0, -e));
            }
            double m = v / Math.pow(10, e);
            return (Math.abs(m - 1) < 1e-9 ? "" : MetricsLog.fixed(m, 0) + "\u00d7") + "1e" + e;
        }
    }
}
