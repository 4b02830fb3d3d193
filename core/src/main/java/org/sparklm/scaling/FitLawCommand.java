package org.sparklm.scaling;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.sparklm.UsageException;
import org.sparklm.config.CommandLine;
import org.sparklm.config.Opt;
import org.sparklm.io.AtomicOutput;
import org.sparklm.io.Json;

/**
 * {@code fit-law}: the sweep's analysis again, on the runs of one or more finished sweeps ({@code sweep.json}), so
 * that grids can be extended without training their runs again. Runs of the same N and D seen in several sweeps
 * count once (the first). Writes law.json, sweep.json and report.html as {@code sweep} does (docs/FORMATS.md).
 *
 * <pre>
 *   deploy/bin/fit-law --sweep runs/sweep runs/sweep2 --output runs/sweep-both
 * </pre>
 */
public final class FitLawCommand {
    private FitLawCommand() {
    }

    /** The options of {@code fit-law}. */
    public record Config(
        @Opt(metavar = "DIR...", help = "finished sweep directories (each with its sweep.json)", required = true)
        List<String> sweep,
        @Opt(metavar = "DIR", help = "where to write law.json, sweep.json and report.html", required = true)
        String output,
        @Opt(metavar = "F", help = "runs whose compute is within this factor form one IsoFLOP profile", min = 1,
            max = 100)
        double isoflopTolerance,
        @Opt(help = "replace an existing output directory")
        boolean overwrite) {
        static final Config DEFAULTS = new Config(List.of(), null, 1.5, false);
    }

    public static CommandLine<Config> commandLine() {
        return CommandLine.of(Config.class, Config.DEFAULTS, "fit-law",
            "Fits L(N, D) = E + A / N^alpha + B / D^beta (approach 3) and finds the IsoFLOP minima (approach 2) on"
                + " the runs of finished sweeps; writes law.json (for plan --law), sweep.json and report.html.");
    }

    public static int run(String[] args, PrintStream out) throws IOException {
        Config c = commandLine().parseOrHelp(args, out);
        if (c == null) {
            return 0;
        }
        Configuration conf = new Configuration();
        List<SweepTrainer.RunResult> runs = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        int duplicates = 0;
        for (String dir : c.sweep()) {
            Path f = new Path(dir, SweepReport.SWEEP_FILE);
            FileSystem fs = f.getFileSystem(conf);
            if (!fs.exists(f)) {
                throw new UsageException("--sweep " + dir + ": no " + SweepReport.SWEEP_FILE
                    + " (not a finished sweep)");
            }
            JsonNode sweep;
            try (InputStream in = fs.open(f)) {
                sweep = Json.MAPPER.readTree(in);
            }
            for (JsonNode r : sweep.path("runs")) {
                SweepTrainer.RunResult rr = Json.LENIENT.treeToValue(r, SweepTrainer.RunResult.class);
                if (!seen.add(rr.parameters() + "/" + rr.tokens())) {
                    duplicates++;
                    continue;
                }
                runs.add(rr);
            }
        }
        SweepReport.Analysis a = SweepReport.analyse(runs, c.isoflopTolerance());
        ObjectNode config = Json.MAPPER.valueToTree(c);
        config.put("duplicate_runs_skipped", duplicates);
        ObjectNode law;
        try (AtomicOutput o = AtomicOutput.begin(conf, c.output(), c.overwrite())) {
            law = SweepReport.write(o, config, a, "sparklm fit-law: " + runs.size() + " runs of " + c.sweep().size()
                + " sweep(s)");
            o.commit();
        }
        if (law == null) {
            out.println("fit-law: no fit: " + a.fitError() + "; wrote " + c.output());
        } else {
            ScalingLaw l = a.fit().law();
            out.println(String.format(Locale.ROOT, "fit-law: %d runs (%d failed, %d duplicates skipped): L = %.4f +"
                    + " %.4g / N^%.4f + %.4g / D^%.4f, N_opt ~ C^%.3f; wrote %s", a.ok().size(), a.failed().size(),
                duplicates, l.e(), l.a(), l.alpha(), l.b(), l.beta(), l.parameterExponent(), c.output()));
        }
        return 0;
    }
}
