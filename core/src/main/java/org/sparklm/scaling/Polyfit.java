package org.sparklm.scaling;

import java.util.List;

/** Least-squares polynomial fits through the normal equations (degree 1 or 2: a few points, well conditioned). */
final class Polyfit {
    private Polyfit() {
    }

    /** Coefficients c[0] + c[1] x + ... + c[deg] x^deg fitted to the (x, y) points; x is centred for stability. */
    static double[] fit(List<double[]> xy, int degree) {
        int m = degree + 1;
        if (xy.size() < m) {
            throw new IllegalArgumentException("a degree-" + degree + " fit needs " + m + " points, got " + xy.size());
        }
        double mean = xy.stream().mapToDouble(p -> p[0]).average().orElse(0);
        double[][] a = new double[m][m + 1];
        for (double[] p : xy) {
            double x = p[0] - mean;
            double[] pow = new double[2 * m];
            pow[0] = 1;
            for (int k = 1; k < pow.length; k++) {
                pow[k] = pow[k - 1] * x;
            }
            for (int r = 0; r < m; r++) {
                for (int c = 0; c < m; c++) {
                    a[r][c] += pow[r + c];
                }
                a[r][m] += pow[r] * p[1];
            }
        }
        double[] centred = solve(a);
        // expand sum c_k (x - mean)^k back into powers of x
        double[] out = new double[m];
        for (int k = 0; k < m; k++) {
            double binom = 1;
            for (int j = 0; j <= k; j++) {
                // term c_k * C(k, j) x^j (-mean)^(k - j)
                out[j] += centred[k] * binom * Math.pow(-mean, k - j);
                binom = binom * (k - j) / (j + 1);
            }
        }
        return out;
    }

    private static double[] solve(double[][] a) {
        int m = a.length;
        for (int col = 0; col < m; col++) {
            int piv = col;
            for (int r = col + 1; r < m; r++) {
                if (Math.abs(a[r][col]) > Math.abs(a[piv][col])) {
                    piv = r;
                }
            }
            double[] t = a[col];
            a[col] = a[piv];
            a[piv] = t;
            if (Math.abs(a[col][col]) < 1e-300) {
                throw new IllegalArgumentException("degenerate fit: the points do not determine the polynomial");
            }
            for (int r = 0; r < m; r++) {
                if (r != col) {
                    double f = a[r][col] / a[col][col];
                    for (int c = col; c <= m; c++) {
                        a[r][c] -= f * a[col][c];
                    }
                }
            }
        }
        double[] x = new double[m];
        for (int i = 0; i < m; i++) {
            x[i] = a[i][m] / a[i][i];
        }
        return x;
    }
}
