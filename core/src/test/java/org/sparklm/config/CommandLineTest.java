package org.sparklm.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparklm.UsageException;
import org.sparklm.pretrain.PretrainConfig;
import org.sparklm.train.Objective;

/** Layering defaults -> config file -> command line, and the errors of each layer. */
class CommandLineTest {
    @TempDir
    Path tmp;

    private static final CommandLine<PretrainConfig> CLI = PretrainConfig.commandLine();

    private static String message(Runnable r) {
        return assertThrows(UsageException.class, r::run).getMessage();
    }

    @Test
    void defaultsThenFileThenCommandLine() throws IOException {
        Path f = tmp.resolve("run.json");
        Files.writeString(f, "{\"data\": \"shards\", \"output\": \"out\", \"lr\": 0.003, \"batch-size-per-worker\": 32,"
            + " \"model_set\": {\"layers\": 4, \"dropout\": \"0.1\"}, \"objective\": \"mlm\", \"steps\": 100}");
        PretrainConfig c = CLI.parse(new String[] {"--config", f.toString(), "--lr", "1e-2", "--resume"});
        assertEquals("shards", c.data());
        assertEquals("out", c.output());
        assertEquals(1e-2, c.lr(), 0);                       // the command line wins over the file
        assertEquals(32, c.batchSizePerWorker());             // the file wins over the defaults
        assertEquals(Map.of("layers", "4", "dropout", "0.1"), c.modelSet());
        assertEquals(Objective.MLM, c.objective());
        assertEquals(PretrainConfig.DEFAULTS.minLr(), c.minLr(), 0); // untouched: the default
        assertEquals(PretrainConfig.DEFAULTS.beta2(), c.beta2(), 0);
        assertTrue(c.resume());
        assertNull(c.tokenizer());
    }

    @Test
    void commandLineAloneMatchesTheDefaults() {
        PretrainConfig c = CLI.parse(new String[] {"--data", "d", "--output", "o", "--steps", "5"});
        assertEquals(new PretrainConfig("d", null, "o", "tiny", Map.of(), Objective.CLM, 0.15, 3.0, 0.0, 1.0, 5, 0, 16, 8, 0, 1e-3, 1e-4,
            -1, 0.1, 1.0, 0.9, 0.95, 1e-8, org.sparklm.train.OuterOptimizer.Kind.AVERAGE, 0.7, 0.9, false,
            org.sparklm.train.SecondMoment.MEAN, 10, 256, 10, 3, 1234,
            0, false, false), c);
        c = CLI.parse(new String[] {"--data=d", "--output", "o", "--epochs", "0.5", "--model-set", "layers=4,d_ff=64"});
        assertEquals(Map.of("layers", "4", "d_ff", "64"), c.modelSet());
        assertEquals(0.5, c.epochs(), 0);
    }

    @Test
    void badValuesNameTheOptionOrKey() throws IOException {
        assertEquals("pretrain: missing required option --data DIR",
            message(() -> CLI.parse(new String[] {"--output", "o", "--steps", "5"})));
        assertEquals("pretrain: --lr must be a number, got 'fast'",
            message(() -> CLI.parse(new String[] {"--data", "d", "--output", "o", "--steps", "5", "--lr", "fast"})));
        assertEquals("pretrain: --batch-size-per-worker must be between 1 and 65536, got 0", message(() ->
            CLI.parse(new String[] {"--data", "d", "--output", "o", "--steps", "5", "--batch-size-per-worker", "0"})));
        assertEquals("pretrain: --steps must be a whole number, got '1.5'",
            message(() -> CLI.parse(new String[] {"--data", "d", "--output", "o", "--steps", "1.5"})));
        assertTrue(message(() -> CLI.parse(new String[] {"--data", "d", "--output", "o", "--steps", "5",
            "--objective", "t5"})).contains("objective must be clm, mlm, span or prefix-lm"));
        assertEquals("pretrain: --prefix-min 0.8 is above --prefix-max 0.5", message(() -> CLI.parse(new String[] {
            "--data", "d", "--output", "o", "--steps", "5", "--prefix-min", "0.8", "--prefix-max", "0.5"})));
        assertTrue(message(() -> CLI.parse(new String[] {"--data", "d", "--output", "o", "--steps", "5",
            "--noise-density", "1"})).startsWith("pretrain: --noise-density must be between"));
        assertEquals("pretrain: give --steps N or --epochs E",
            message(() -> CLI.parse(new String[] {"--data", "d", "--output", "o"})));
        assertEquals("pretrain: unknown option --lerning-rate",
            message(() -> CLI.parse(new String[] {"--data", "d", "--lerning-rate", "1"})));

        Path f = tmp.resolve("bad.json");
        Files.writeString(f, "{\"data\": \"d\", \"output\": \"o\", \"steps\": 5, \"lerning_rate\": 0.1}");
        String m = message(() -> CLI.parse(new String[] {"--config", f.toString()}));
        assertTrue(m.startsWith("pretrain: --config " + f + ": unknown key 'lerning_rate' (known: data, "), m);
        Files.writeString(f, "{\"data\": \"d\", \"output\": \"o\", \"steps\": \"5\"}");
        assertEquals("pretrain: 'steps' in " + f + " must be a whole number, got \"5\"",
            message(() -> CLI.parse(new String[] {"--config", f.toString()})));
        Files.writeString(f, "{\"data\": \"d\", \"output\": \"o\", \"steps\": 5, \"lr\": 11}");
        assertEquals("pretrain: 'lr' in " + f + " must be between 0.0 and 10.0, got 11",
            message(() -> CLI.parse(new String[] {"--config", f.toString()})));
        Files.writeString(f, "{\"data\": \"d\", \"output\": \"o\", \"steps\": 5, \"resume\": \"yes\"}");
        assertEquals("pretrain: 'resume' in " + f + " must be true or false, got \"yes\"",
            message(() -> CLI.parse(new String[] {"--config", f.toString()})));
        Files.writeString(f, "[1, 2]");
        assertTrue(message(() -> CLI.parse(new String[] {"--config", f.toString()})).contains("expected a JSON"));
        Files.writeString(f, "{\"data\": ");
        assertTrue(message(() -> CLI.parse(new String[] {"--config", f.toString()})).contains("not valid JSON"));
        assertTrue(message(() -> CLI.parse(new String[] {"--config", tmp.resolve("none.json").toString()}))
            .contains("does not exist"));
    }

    @Test
    void helpShowsEveryOptionWithItsDefaultOnce() {
        String help = CLI.help();
        assertTrue(help.startsWith("usage: pretrain --data DIR --output DIR [options]"), help);
        assertTrue(help.contains("--lr LR") && help.contains("peak learning rate (AdamW) (default: 1e-3)"), help);
        assertTrue(help.contains("(default: 1e-4)") && help.contains("(default: 0.95)"), help);
        assertTrue(help.contains("--resume ") && help.contains("--config FILE"), help);
        assertTrue(help.contains("(default: the tokenizer.json stored in --data)"), help);
        // a Keyed enum's value name is its keys, from the enum (no metavar written on the option)
        assertTrue(help.contains("--objective clm|mlm|span|prefix-lm "), help);
        assertTrue(help.contains("--outer-optimizer average|nesterov "), help);
        assertTrue(help.contains("--second-moment mean|combined "), help);
        assertTrue(org.sparklm.finetune.FinetuneConfig.commandLine().help().contains("--method full|head|lora|prefix "));
        assertEquals("3e-4", CommandLine.number(3e-4));
        assertEquals("1e-8", CommandLine.number(1e-8));
        assertEquals("0.1", CommandLine.number(0.1));
        assertEquals("batch-size-per-worker", CommandLine.kebab("batchSizePerWorker"));
        assertEquals("batch_size_per_worker", CommandLine.snake("batchSizePerWorker"));
    }

    /** A configuration with every kind of list. */
    record Lists(
        @Opt(metavar = "PATH...", help = "paths", required = true) List<String> paths,
        @Opt(metavar = "N,...", help = "counts", min = 1, max = 100) List<Integer> counts,
        @Opt(metavar = "X,...", help = "rates", min = 0, max = 1) List<Double> rates,
        @Opt(help = "objectives") List<Objective> objectives,
        @Opt(metavar = "P...", help = "more paths") List<String> more) {
        static final Lists DEFAULTS = new Lists(List.of(), List.of(8, 32), List.of(0.5), List.of(Objective.CLM),
            List.of());
    }

    private static final CommandLine<Lists> LISTS = CommandLine.of(Lists.class, Lists.DEFAULTS, "lists", "lists");

    @Test
    void listsOfNumbersAndEnumsTakeCommasOrSeveralValuesAndCheckEachElement() throws IOException {
        Lists d = LISTS.parse(new String[] {"--paths", "a,b", "c"});
        assertEquals(List.of("a,b", "c"), d.paths());           // strings are never split: a path may hold a comma
        assertEquals(List.of(8, 32), d.counts());
        assertEquals(List.of(Objective.CLM), d.objectives());
        Lists c = LISTS.parse(new String[] {"--paths", "a", "--counts", "1, 2", "3", "--rates", "0.25,1",
            "--objectives", "MLM,span", "--more", "x", "--more", "y"});
        assertEquals(List.of(1, 2, 3), c.counts());
        assertEquals(List.of(0.25, 1.0), c.rates());
        assertEquals(List.of(Objective.MLM, Objective.SPAN), c.objectives());
        assertEquals(List.of("x", "y"), c.more());              // repeated: appended
        assertEquals(List.of("x", "y"), LISTS.parse(new String[] {"--more", "x", "y", "--paths", "a"}).more());
        assertEquals(List.of(), LISTS.parse(new String[] {"--paths", "a", "--objectives", ""}).objectives());

        assertEquals("lists: --counts must be between 1 and 100, got 0",
            message(() -> LISTS.parse(new String[] {"--paths", "a", "--counts", "4,0"})));
        assertEquals("lists: --counts must be a whole number, got ''",
            message(() -> LISTS.parse(new String[] {"--paths", "a", "--counts", "4,,5"})));
        assertEquals("lists: --rates must be a number, got 'x'",
            message(() -> LISTS.parse(new String[] {"--paths", "a", "--rates", "x"})));
        assertTrue(message(() -> LISTS.parse(new String[] {"--paths", "a", "--objectives", "clm,t5"}))
            .startsWith("lists: --objectives: objective must be "));
        assertEquals("lists: missing required option --paths PATH...", message(() -> LISTS.parse(new String[0])));

        Path f = tmp.resolve("lists.json");
        Files.writeString(f, "{\"paths\": [\"p\"], \"counts\": [3, 4], \"objectives\": [\"prefix-lm\"]}");
        Lists fromFile = LISTS.parse(new String[] {"--config", f.toString(), "--counts", "5"});
        assertEquals(List.of(5), fromFile.counts());             // the command line wins over the file
        assertEquals(List.of(Objective.PREFIX_LM), fromFile.objectives());
        Files.writeString(f, "{\"paths\": [\"p\"], \"counts\": [3, 400]}");
        assertEquals("lists: 'counts' in " + f + " must be between 1 and 100, got 400",
            message(() -> LISTS.parse(new String[] {"--config", f.toString()})));
        Files.writeString(f, "{\"paths\": [\"p\"], \"counts\": 3}");
        assertEquals("lists: 'counts' in " + f + " must be an array, got 3",
            message(() -> LISTS.parse(new String[] {"--config", f.toString()})));
        Files.writeString(f, "{\"paths\": [1]}");
        assertEquals("lists: 'paths' in " + f + " must be a string, got 1",
            message(() -> LISTS.parse(new String[] {"--config", f.toString()})));

        String help = LISTS.help();
        assertTrue(help.contains("--counts N,...") && help.contains("counts (default: 8,32)"), help);
        assertTrue(help.contains("rates (default: 0.5)"), help);
        assertTrue(help.contains("--objectives clm|mlm|span|prefix-lm,... ") && help.contains("(default: clm)"),
            help);
    }

    /** Lists whose elements must differ. */
    record Distinct(
        @Opt(metavar = "N,...", help = "counts", distinct = true) List<Integer> counts,
        @Opt(metavar = "X,...", help = "rates", distinct = true) List<Double> rates,
        @Opt(help = "objectives", distinct = true) List<Objective> objectives,
        @Opt(metavar = "NAME...", help = "names", distinct = true) List<String> names) {
        static final Distinct DEFAULTS = new Distinct(List.of(8, 32), List.of(), List.of(), List.of());
    }

    @Test
    void aDistinctListRejectsAValueGivenTwiceOthersKeepDuplicates() throws IOException {
        CommandLine<Distinct> cl = CommandLine.of(Distinct.class, Distinct.DEFAULTS, "distinct", "distinct");
        Distinct ok = cl.parse(new String[] {"--counts", "1,2", "3", "--rates", "0.5,1", "--objectives", "clm,mlm",
            "--names", "a", "b"});
        assertEquals(List.of(1, 2, 3), ok.counts());
        assertEquals(List.of(0.5, 1.0), ok.rates());
        assertEquals(List.of(Objective.CLM, Objective.MLM), ok.objectives());
        assertEquals(List.of("a", "b"), ok.names());
        assertEquals("distinct: --counts lists 1 twice", message(() -> cl.parse(new String[] {"--counts", "1,2",
            "1"})));
        assertEquals("distinct: --counts lists 3 twice", message(() -> cl.parse(new String[] {"--counts", "3,03"})));
        assertEquals("distinct: --rates lists 0.5 twice", message(() -> cl.parse(new String[] {"--rates",
            "0.5,5e-1"})));
        assertEquals("distinct: --objectives lists clm twice", message(() -> cl.parse(new String[] {"--objectives",
            "clm,CLM"})));
        assertEquals("distinct: --names lists a twice", message(() -> cl.parse(new String[] {"--names", "a", "b",
            "a"})));
        Path f = tmp.resolve("distinct.json");
        Files.writeString(f, "{\"rates\": [1, 1.0]}");
        assertEquals("distinct: 'rates' in " + f + " lists 1.0 twice",
            message(() -> cl.parse(new String[] {"--config", f.toString()})));
        Files.writeString(f, "{\"counts\": [4, 5, 4]}");
        assertEquals("distinct: 'counts' in " + f + " lists 4 twice",
            message(() -> cl.parse(new String[] {"--config", f.toString()})));
        // without distinct, a list keeps what it is given
        assertEquals(List.of(4, 4), LISTS.parse(new String[] {"--paths", "a", "--counts", "4,4"}).counts());
        assertEquals(List.of("a", "a"), LISTS.parse(new String[] {"--paths", "a", "a"}).paths());
    }
}
