package org.sparklm.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.sparklm.UsageException;
import org.sparklm.model.LanguageModel;
import org.sparklm.tokenizer.SpecialTokens;
import org.sparklm.tokenizer.Tokenizer;
import org.sparklm.tokenizer.bpe.BpeTokenizer;

/**
 * Prompt rendering, the demonstrations' draw, task files, multiple-choice metrics against an independent computation,
 * generation stopping at a newline, and skipped prompts.
 */
class FewShotTest {
    private static final int CONTEXT = 24;
    private static BpeTokenizer tok;
    private static LanguageModel model;
    private static int eos;

    @BeforeAll
    static void setUp() {
        tok = EvalFixtures.tokenizer();
        model = EvalFixtures.model(tok.vocabSize(), CONTEXT, 11);
        eos = tok.specialTokens().idOf(SpecialTokens.EOS);
    }

    private static List<TaskExample> pool(int n) {
        List<TaskExample> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(TaskExample.generation("q" + i, "a" + i));
        }
        return out;
    }

    @Test
    void promptsAreDemonstrationsJoinedByABlankLineBeforeTheContext() {
        List<TaskExample> demos = List.of(TaskExample.multipleChoice("2 + 2 =", List.of("3", "4"), 1),
            TaskExample.generation("thanks ->", "merci"));
        assertEquals("2 + 2 = 4\n\nthanks -> merci\n\notter ->", Prompts.render(demos, "otter ->"));
        assertEquals("otter ->", Prompts.render(List.of(), "otter ->"));
        assertEquals(" bonjour", Prompts.continuation("bonjour"));
    }

    @Test
    void demonstrationsAreSeededNestedAndNeverTheEvaluatedExample() {
        List<TaskExample> task = pool(10);
        DemoSampler fromTask = new DemoSampler(task, true, 1234);
        assertEquals(9, fromTask.available());
        Set<List<TaskExample>> draws = new HashSet<>();
        for (int i = 0; i < task.size(); i++) {
            List<TaskExample> nine = fromTask.demonstrations(i, task.get(i), 9);
            assertFalse(nine.contains(task.get(i)), "example " + i + " demonstrated to itself");
            assertEquals(9, new HashSet<>(nine).size(), "drawn without replacement");
            assertEquals(nine, new DemoSampler(task, true, 1234).demonstrations(i, task.get(i), 9), "seeded");
            for (int k = 0; k <= 9; k++) {
                assertEquals(nine.subList(0, k), fromTask.demonstrations(i, task.get(i), k), "nested");
            }
            draws.add(fromTask.demonstrations(i, task.get(i), 3));
        }
        assertTrue(draws.size() > 5, "each example gets its own draw");
        assertNotEquals(fromTask.demonstrations(0, task.get(0), 5),
            new DemoSampler(task, true, 99).demonstrations(0, task.get(0), 5), "the seed matters");
        assertThrows(UsageException.class, () -> fromTask.demonstrations(0, task.get(0), 10));
        // a duplicate of the evaluated example is not drawn from the task either
        List<TaskExample> dup = new ArrayList<>(task);
        dup.add(task.get(3));
        DemoSampler withDup = new DemoSampler(dup, true, 7);
        assertFalse(withDup.demonstrations(3, task.get(3), 9).contains(task.get(3)));

        // a separate few-shot file: all of it can be drawn, the evaluated example's twin included
        List<TaskExample> fewshot = pool(4);
        DemoSampler fromFile = new DemoSampler(fewshot, false, 1234);
        assertEquals(4, fromFile.available());
        List<TaskExample> all = fromFile.demonstrations(2, fewshot.get(2), 4);
        assertEquals(new HashSet<>(fewshot), new HashSet<>(all));
    }

    @Test
    void taskFilesAcceptBothShapesAndRefuseBadLines() {
        List<TaskExample> t = TaskFile.parse(List.of("{\"context\": \"a\", \"choices\": [\"x\", \"y\"], \"gold\": 1}",
            "", "{\"context\": \"b\", \"choices\": [\"z\"], \"gold\": 0}"), "t.jsonl", true, "cmd");
        assertEquals(2, t.size());
        assertEquals("y", t.get(0).answer());
        List<TaskExample> g = TaskFile.parse(List.of("{\"context\": \"a\", \"target\": \"b\"}"), "g", true, "cmd");
        assertFalse(g.get(0).isMultipleChoice());
        // a few-shot file may mix shapes, a task may not
        List<String> mixed = List.of("{\"context\": \"a\", \"target\": \"b\"}",
            "{\"context\": \"b\", \"choices\": [\"z\"], \"gold\": 0}");
        assertEquals(2, TaskFile.parse(mixed, "f", false, "cmd").size());
        assertTrue(assertThrows(UsageException.class, () -> TaskFile.parse(mixed, "t", true, "cmd")).getMessage()
            .contains("line 2"));
        for (String[] bad : new String[][] {
            {"{\"context\": \"a\"}", "either"},
            {"{\"context\": \"a\", \"choices\": [\"x\"], \"gold\": 1}", "out of range"},
            {"{\"context\": \"a\", \"choices\": [\"x\"], \"gold\": -1}", "out of range"},
            {"{\"context\": \"a\", \"choices\": [], \"gold\": 0}", "empty"},
            {"{\"context\": \"a\", \"choices\": [\"x\"], \"gold\": 0, \"target\": \"x\"}", "either"},
            {"{\"context\": \"a\", \"choices\": [\"x\"]}", "gold"},
            {"{\"choices\": [\"x\"], \"gold\": 0}", "context"},
            {"{\"context\": \"a\", \"target\": \"b\", \"label\": 1}", "unknown key"},
            {"not json", "not JSON"},
            {"[1, 2]", "not a JSON object"}}) {
            UsageException e = assertThrows(UsageException.class,
                () -> TaskFile.parse(List.of("{\"context\": \"ok\", \"target\": \"ok\"}", bad[0]), "t", false, "cmd"),
                bad[0]);
            assertTrue(e.getMessage().startsWith("cmd: t line 2: ") && e.getMessage().contains(bad[1]),
                e.getMessage());
        }
        assertThrows(UsageException.class, () -> TaskFile.parse(List.of("", " "), "t", true, "cmd"));
    }

    @Test
    void accAndAccNormDifferWhenLengthsDiffer() {
        List<String> choices = List.of("a", "brown fox");
        double[] lls = {-2.0, -4.5};                       // per character: -2 and -0.5
        assertEquals(0, FewShotEvaluation.argmax(lls));
        assertEquals(1, FewShotEvaluation.argmax(FewShotEvaluation.normalized(lls, choices)));
        assertEquals(0, FewShotEvaluation.argmax(new double[] {-1, -1}), "the first on ties");
        assertEquals(Math.sqrt(0.25 * 4 / 3 / 4), FewShotEvaluation.stderr(0.5, 4), 1e-12);
    }

    /** ln p(" " + choice | EOS + prompt), computed here from the model's single-sequence inference. */
    private static double referenceLoglikelihood(String prompt, String choice) {
        int[] whole = tok.encode(prompt + " " + choice, false);
        int ctx = tok.encode(prompt, false).length;
        int[] seq = new int[whole.length + 1];
        seq[0] = eos;
        System.arraycopy(whole, 0, seq, 1, whole.length);
        double[] lp = EvalFixtures.referenceAll(model, seq);
        double s = 0;
        for (int j = 1 + ctx; j < seq.length; j++) {
            s += lp[j];
        }
        return s;
    }

    @Test
    void multipleChoiceMetricsMatchAnIndependentComputationWithAndWithoutBatching() {
        List<String> choices = List.of("dog", "the lazy dog", "fox", "over");
        List<TaskExample> task = new ArrayList<>();
        String[] contexts = {"the quick", "brown", "jumps", "the lazy", "fox", "quick brown", "over the", "dog"};
        for (int i = 0; i < contexts.length; i++) {
            task.add(TaskExample.multipleChoice(contexts[i], choices, i % choices.size()));
        }
        int shots = 1;
        DemoSampler sampler = new DemoSampler(task, true, 3);
        int correct = 0;
        int correctNorm = 0;
        for (int i = 0; i < task.size(); i++) {
            String prompt = Prompts.render(sampler.demonstrations(i, task.get(i), shots), task.get(i).context());
            double[] lls = new double[choices.size()];
            double[] norm = new double[choices.size()];
            for (int k = 0; k < choices.size(); k++) {
                lls[k] = referenceLoglikelihood(prompt, choices.get(k));
                norm[k] = lls[k] / choices.get(k).length();
            }
            int best = 0;
            int bestNorm = 0;
            for (int k = 1; k < choices.size(); k++) {
                best = lls[k] > lls[best] ? k : best;
                bestNorm = norm[k] > norm[bestNorm] ? k : bestNorm;
            }
            correct += best == task.get(i).gold() ? 1 : 0;
            correctNorm += bestNorm == task.get(i).gold() ? 1 : 0;
        }
        long[] passes = new long[2];
        int b = 0;
        for (int batch : new int[] {1, 16}) {
            LmScorer scorer = new LmScorer(model, batch);
            FewShotEvaluation ev = new FewShotEvaluation(scorer, tok, eos, task, sampler, 8, null, 10);
            FewShotEvaluation.Result r = ev.run(shots, 0);
            assertEquals(task.size(), r.examples());
            assertEquals(0, r.skipped());
            assertEquals((double) correct / task.size(), r.acc(), 1e-12, "batch " + batch);
            assertEquals((double) correctNorm / task.size(), r.accNorm(), 1e-12, "batch " + batch);
            assertEquals(0.25, r.chance(), 1e-12);
            passes[b++] = r.forwardPasses();
        }
        assertEquals(task.size() * choices.size(), passes[0], "one pass per choice");
        assertEquals(2, passes[1], "32 sequences in passes of 16");
    }

    @Test
    void promptsLongerThanTheContextAreCountedAsSkipped() {
        List<TaskExample> task = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            task.add(TaskExample.multipleChoice(List.of("the fox", "the dog", "a fox", "a dog").get(i), List.of("dog",
                "over"), 0));
        }
        task.add(TaskExample.multipleChoice("the quick brown fox jumps over the lazy dog ".repeat(3), List.of("dog",
            "fox"), 1));
        assertTrue(tok.encode(task.get(4).context(), false).length > CONTEXT);
        DemoSampler sampler = new DemoSampler(task, true, 1);
        FewShotEvaluation ev = new FewShotEvaluation(new LmScorer(model, 8), tok, eos, task, sampler, 8, null, 10);
        FewShotEvaluation.Result r0 = ev.run(0, 0);
        assertEquals(4, r0.examples());
        assertEquals(1, r0.skipped());
        // with two demonstrations every prompt shows the long context or is long itself... most are skipped
        FewShotEvaluation.Result r2 = ev.run(2, 0);
        assertEquals(5, r2.examples() + r2.skipped());
        assertTrue(r2.skipped() >= 1);
        // --limit: the first N examples only
        assertEquals(3, ev.run(0, 3).examples());
        // a task where everything is skipped gives no accuracy rather than a crash
        FewShotEvaluation all = new FewShotEvaluation(new LmScorer(model, 8), tok, eos, task.subList(4, 5),
            new DemoSampler(task.subList(4, 5), true, 1), 8, null, 10);
        FewShotEvaluation.Result none = all.run(0, 0);
        assertEquals(0, none.examples());
        assertEquals(1, none.skipped());
        assertTrue(Double.isNaN(none.acc()));
    }

    /** The base tokenizer, except that one id decodes to a newline. */
    private record NewlineAt(BpeTokenizer base, int newline) implements Tokenizer {
        @Override
        public int[] encode(String text, boolean allowSpecial) {
            return base.encode(text, allowSpecial);
        }

        @Override
        public List<int[]> encodeBatch(List<String> texts, boolean allowSpecial) {
            return base.encodeBatch(texts, allowSpecial);
        }

        @Override
        public String decode(int[] ids, boolean skipSpecial) {
            StringBuilder b = new StringBuilder();
            for (int id : ids) {
                b.append(id == newline ? "\n" : base.decode(new int[] {id}, skipSpecial));
            }
            return b.toString();
        }

        @Override
        public int vocabSize() {
            return base.vocabSize();
        }

        @Override
        public int id(String token) {
            return base.id(token);
        }

        @Override
        public String token(int id) {
            return base.token(id);
        }

        @Override
        public SpecialTokens specialTokens() {
            return base.specialTokens();
        }
    }

    private static boolean seenBefore(int[] g, int k) {
        for (int i = 0; i < k; i++) {
            if (g[i] == g[k]) {
                return true;
            }
        }
        return false;
    }

    @Test
    void generationIsGreedyAndStopsAtTheFirstNewline() {
        int[] prompt = new int[] {eos, tok.encode("the quick", false)[0]};
        LmScorer free = new LmScorer(model, 1);
        int[] g = free.greedy(prompt, 10, x -> false);
        assertEquals(10, g.length);
        // greedy = LanguageModel's own greedy decoding (an independent implementation)
        assertEquals(Arrays.toString(model.generate(prompt, 10, 0, 0, 1, -1)), Arrays.toString(g));
        int at = 1;                                 // the first id not generated before: it becomes the newline
        while (at < g.length && seenBefore(g, at)) {
            at++;
        }
        if (at >= g.length) {
            return;                                 // degenerate greedy run; nothing to test (never seen)
        }
        LmScorer scorer = new LmScorer(model, 1);
        FewShotEvaluation ev = new FewShotEvaluation(scorer, new NewlineAt(tok, g[at]), eos,
            List.of(TaskExample.generation("x", "y")), new DemoSampler(pool(1), false, 1), 10, null, 10);
        String text = ev.generate(prompt);
        assertEquals(tok.decode(Arrays.copyOf(g, at), true), text);
        assertFalse(text.contains("\n"));
        assertEquals(at + 1, scorer.forwardPasses(), "stopped right after the newline");
    }

    @Test
    void generationScoresExactMatchOfTheStrippedText() {
        String context = "the lazy";
        int[] ctx = tok.encode(context, false);
        int[] p = new int[ctx.length + 1];
        p[0] = eos;
        System.arraycopy(ctx, 0, p, 1, ctx.length);
        String expected = tok.decode(model.generate(p, 4, 0, 0, 1, -1), true);
        int nl = expected.indexOf('\n');
        expected = (nl >= 0 ? expected.substring(0, nl) : expected).strip();
        List<TaskExample> task = List.of(TaskExample.generation(context, expected),
            TaskExample.generation(context, expected + " nope"));
        FewShotEvaluation ev = new FewShotEvaluation(new LmScorer(model, 1), tok, eos, task,
            new DemoSampler(pool(1), false, 1), 4, null, 10);
        FewShotEvaluation.Result r = ev.run(0, 0);
        assertEquals(FewShotEvaluation.GENERATION, r.type());
        assertEquals(2, r.examples());
        assertEquals(0.5, r.acc(), 1e-12);
        assertTrue(Double.isNaN(r.accNorm()));
    }
}
