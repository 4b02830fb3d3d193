package org.sparklm.eval;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import org.sparklm.tokenizer.SpecialTokens;
import org.sparklm.tokenizer.Tokenizer;

/**
 * Few-shot evaluation of a causal model on a task, with lm-evaluation-harness's conventions:
 * <ul>
 *   <li>the prompt is {@link Prompts#render}: {@code k} demonstrations from the {@link DemoSampler}, then the
 *       evaluated context; it is conditioned on the separator {@code condition} (the EOS id that precedes every
 *       document in training), as {@link TextScorer} does;</li>
 *   <li>multiple choice: each choice is scored by the summed log-likelihood of {@code " " + choice} after the prompt
 *       (the continuation's ids are those of the encoded prompt-plus-continuation after the prompt's own ids, and
 *       whitespace ending the prompt moves to the continuation, as the harness's encoding of a pair does);
 *       {@code acc}: the highest log-likelihood is gold; {@code acc_norm}: the highest log-likelihood divided by the
 *       choice's length in characters is gold (the first on ties, as numpy's argmax);</li>
 *   <li>generation: greedy decoding after the prompt until a newline (or EOS, {@code maxNewTokens}, or a full
 *       context); the text before the newline, stripped of surrounding whitespace, must equal the stripped target
 *       ({@code exact_match});</li>
 *   <li>an example whose prompt and answer do not fit in the context window is skipped and counted, never
 *       truncated: {@code acc} is over the examples evaluated.</li>
 * </ul>
 */
public final class FewShotEvaluation {

    /** The figures of one number of shots. */
    public record Result(int shots, String type, int examples, int skipped, double acc, double accStderr,
                         double accNorm, double accNormStderr, double chance, double seconds, long forwardPasses) {
        /** Whether the task is multiple choice (acc_norm and chance are meaningful). */
        public boolean multipleChoice() {
            return type.equals(MULTIPLE_CHOICE);
        }
    }

    public static final String MULTIPLE_CHOICE = "multiple_choice";
    public static final String GENERATION = "generation";

    private final Scorer scorer;
    private final Tokenizer tokenizer;
    private final int condition;
    private final List<TaskExample> task;
    private final DemoSampler sampler;
    private final int maxNewTokens;
    private final Consumer<String> progress;
    private final long progressNanos;

    /**
     * @param condition    the id every prompt is conditioned on
     * @param maxNewTokens generation: the most ids generated
     * @param progress     receives a progress line every {@code progressSeconds}
     */
    public FewShotEvaluation(Scorer scorer, Tokenizer tokenizer, int condition, List<TaskExample> task,
                             DemoSampler sampler, int maxNewTokens, Consumer<String> progress,
                             double progressSeconds) {
        this.scorer = scorer;
        this.tokenizer = tokenizer;
        this.condition = condition;
        this.task = List.copyOf(task);
        this.sampler = sampler;
        this.maxNewTokens = maxNewTokens;
        this.progress = progress;
        this.progressNanos = (long) (progressSeconds * 1e9);
    }

    public boolean multipleChoice() {
        return task.get(0).isMultipleChoice();
    }

    /** A multiple-choice request: the choice's sequence (condition, prompt, continuation) and where it starts. */
    record Encoded(int[] ids, int from) {
    }

    /** The sequence scoring {@code continuation} after {@code context}, the harness's way of encoding a pair. */
    Encoded encodePair(String context, String continuation) {
        int spaces = context.length() - context.stripTrailing().length();
        if (spaces > 0) {
            continuation = context.substring(context.length() - spaces) + continuation;
            context = context.substring(0, context.length() - spaces);
        }
        int[] whole = tokenizer.encode(context + continuation, false);
        int contextIds = context.isEmpty() ? 0 : tokenizer.encode(context, false).length;
        if (contextIds >= whole.length) {
            throw new IllegalArgumentException("the continuation '" + continuation + "' encodes to no token after"
                + " its context");
        }
        int[] ids = new int[whole.length + 1];
        ids[0] = condition;
        System.arraycopy(whole, 0, ids, 1, whole.length);
        return new Encoded(ids, 1 + contextIds);
    }

    /** Evaluates the first {@code limit} examples (0: all) with {@code shots} demonstrations each. */
    public Result run(int shots, int limit) {
        int n = limit <= 0 ? task.size() : Math.min(limit, task.size());
        long t0 = System.nanoTime();
        long passes0 = scorer.forwardPasses();
        long[] lastReport = {t0};
        Counts c = new Counts();
        if (multipleChoice()) {
            runMultipleChoice(shots, n, c, t0, lastReport);
        } else {
            for (int i = 0; i < n; i++) {
                generation(i, shots, c);
                report(shots, i + 1, n, c, t0, lastReport);
            }
        }
        int evaluated = c.evaluated;
        double acc = evaluated == 0 ? Double.NaN : (double) c.correct / evaluated;
        double accNorm = evaluated == 0 ? Double.NaN : (double) c.correctNorm / evaluated;
        return new Result(shots, multipleChoice() ? MULTIPLE_CHOICE : GENERATION, evaluated, c.skipped, acc,
            stderr(acc, evaluated), multipleChoice() ? accNorm : Double.NaN,
            multipleChoice() ? stderr(accNorm, evaluated) : Double.NaN,
            multipleChoice() && evaluated > 0 ? c.chance / evaluated : Double.NaN,
            (System.nanoTime() - t0) / 1e9, scorer.forwardPasses() - passes0);
    }

    private static final class Counts {
        int evaluated;
        int skipped;
        int correct;
        int correctNorm;
        double chance;
    }

    private void report(int shots, int done, int n, Counts c, long t0, long[] last) {
        long now = System.nanoTime();
        if (progress != null && (now - last[0] >= progressNanos || done == n)) {
            last[0] = now;
            double s = (now - t0) / 1e9;
            progress.accept(String.format(java.util.Locale.ROOT, "evaluate-fewshot: %d shots: %d/%d examples (%d"
                + " skipped), %.1f examples/s, acc so far %.4f", shots, done, n, c.skipped, done / Math.max(s, 1e-9),
                c.evaluated == 0 ? Double.NaN : (double) c.correct / c.evaluated));
        }
    }

    /**
     * Multiple choice, batched across examples: the choices of consecutive examples are scored together (the scorer
     * cuts them into forward passes of its batch size).
     */
    private void runMultipleChoice(int shots, int n, Counts c, long t0, long[] lastReport) {
        int batch = 64;                                   // examples whose requests are gathered at once
        for (int start = 0; start < n; start += batch) {
            int end = Math.min(n, start + batch);
            List<int[]> seqs = new ArrayList<>();
            List<Integer> froms = new ArrayList<>();
            List<int[]> owner = new ArrayList<>();        // {example, first request, choices}
            for (int i = start; i < end; i++) {
                TaskExample e = task.get(i);
                String prompt = Prompts.render(sampler.demonstrations(i, e, shots), e.context());
                List<Encoded> enc = new ArrayList<>();
                boolean fits = true;
                for (String choice : e.choices()) {
                    Encoded x = encodePair(prompt, Prompts.continuation(choice));
                    fits &= scorer.fits(x.from(), x.ids().length - x.from());
                    enc.add(x);
                }
                if (!fits) {
                    c.skipped++;
                    continue;
                }
                owner.add(new int[] {i, seqs.size(), enc.size()});
                for (Encoded x : enc) {
                    seqs.add(x.ids());
                    froms.add(x.from());
                }
            }
            List<Double> ll = seqs.isEmpty() ? List.of() : scorer.loglikelihoods(seqs, froms);
            for (int[] o : owner) {
                TaskExample e = task.get(o[0]);
                double[] lls = new double[o[2]];
                for (int k = 0; k < o[2]; k++) {
                    lls[k] = ll.get(o[1] + k);
                }
                c.evaluated++;
                c.chance += 1.0 / o[2];
                c.correct += argmax(lls) == e.gold() ? 1 : 0;
                c.correctNorm += argmax(normalized(lls, e.choices())) == e.gold() ? 1 : 0;
            }
            report(shots, end, n, c, t0, lastReport);
        }
    }

    private void generation(int i, int shots, Counts c) {
        TaskExample e = task.get(i);
        String prompt = Prompts.render(sampler.demonstrations(i, e, shots), e.context());
        Encoded x = encodePair(prompt, Prompts.continuation(e.target()));
        if (!scorer.fits(x.from(), x.ids().length - x.from())) {      // the prompt and the target must fit
            c.skipped++;
            return;
        }
        int[] promptIds = Arrays.copyOf(x.ids(), x.from());
        String generated = generate(promptIds);
        c.evaluated++;
        c.correct += generated.strip().equals(e.target().strip()) ? 1 : 0;
    }

    /** Greedy text after {@code promptIds} up to (not including) the first newline. */
    String generate(int[] promptIds) {
        int eos = tokenizer.specialTokens().idOf(SpecialTokens.EOS);
        int[] gen = scorer.greedy(promptIds, maxNewTokens, g -> g[g.length - 1] == eos
            || tokenizer.decode(g, true).indexOf('\n') >= 0);
        String text = tokenizer.decode(gen, true);
        int nl = text.indexOf('\n');
        return nl >= 0 ? text.substring(0, nl) : text;
    }

    /**
     * acc_norm's scores: each log-likelihood divided by its choice's length in characters (without the target
     * delimiter), as the harness does.
     */
    static double[] normalized(double[] lls, List<String> choices) {
        double[] out = new double[lls.length];
        for (int k = 0; k < lls.length; k++) {
            out[k] = lls[k] / choices.get(k).length();
        }
        return out;
    }

    /** The first index of the largest value. */
    static int argmax(double[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    /** The harness's standard error of a mean of 0/1 scores: sample standard deviation over the square root of n. */
    static double stderr(double p, int n) {
        if (n < 2 || Double.isNaN(p)) {
            return Double.NaN;
        }
        return Math.sqrt(p * (1 - p) * n / (n - 1) / n);
    }
}
