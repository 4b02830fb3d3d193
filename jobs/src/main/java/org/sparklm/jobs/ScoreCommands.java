package org.sparklm.jobs;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.sparklm.UsageException;
import org.sparklm.eval.DemoSampler;
import org.sparklm.eval.FewShotConfig;
import org.sparklm.eval.FewShotEvaluation;
import org.sparklm.eval.FewShotReport;
import org.sparklm.eval.LmScorer;
import org.sparklm.eval.Scorer;
import org.sparklm.eval.Seq2SeqScorer;
import org.sparklm.eval.PositionLoss;
import org.sparklm.eval.ScoreConfig;
import org.sparklm.eval.TaskExample;
import org.sparklm.eval.TaskFile;
import org.sparklm.eval.TextScorer;
import org.sparklm.io.AtomicOutput;
import org.sparklm.io.Json;
import org.sparklm.model.Seq2SeqModel;
import org.sparklm.pretrain.PretrainedModel;
import org.sparklm.tokenizer.SpecialTokens;
import org.sparklm.train.Objective;

/**
 * {@code score} and {@code evaluate-fewshot}: a causal checkpoint's log-likelihoods, in a plain JVM (no Spark). The
 * logic lives in {@code org.sparklm.eval}; this class reads options, loads the checkpoint and writes the outputs.
 *
 * <pre>
 * deploy/bin/score --checkpoint runs/quickstart/model &lt; texts.txt
 * deploy/bin/evaluate-fewshot --checkpoint DIR --task task.jsonl --fewshot-file fewshot.jsonl --output DIR
 * </pre>
 */
final class ScoreCommands {
    private ScoreCommands() {
    }

    /** Loads a checkpoint of one of the allowed objectives (an unreadable one is bad input, as for every command). */
    private static PretrainedModel load(Configuration conf, String dir, String command, Set<Objective> allowed)
        throws IOException {
        return PretrainedModel.load(conf, dir, command, allowed, allowed.size() == 1
            ? "a " + allowed.iterator().next().key() + " model" : "a clm or prefix-lm model");
    }

    /** The id every scored text and prompt is conditioned on: the EOS that separates documents in training. */
    private static int condition(PretrainedModel m, String command) {
        int eos = m.tokenizer().specialTokens().idOf(SpecialTokens.EOS);
        if (eos < 0) {
            throw new UsageException(command + ": the checkpoint's tokenizer has no " + SpecialTokens.EOS);
        }
        return eos;
    }

    // ------------------------------------------------------------------------------------------------ score

    static int score(String[] args, InputStream in, PrintStream out) throws IOException {
        ScoreConfig c = ScoreConfig.commandLine().parseOrHelp(args, out);
        if (c == null) {
            return 0;
        }
        PretrainedModel m = load(new Configuration(), c.checkpoint(), "score", Set.of(Objective.CLM));
        int context = m.model().config().contextLength();
        int stride = c.strideFor(context);
        if (stride > context) {
            throw new UsageException("score: --stride " + stride + " is more than the context length " + context);
        }
        if (c.positions()) {
            int early = c.earlyFor(context);
            int late = c.lateFor(context);
            if (early < 1 || late > context || early >= late) {
                throw new UsageException("score: need 1 <= --early < --late <= " + context + " (the context length),"
                    + " got " + early + " and " + late);
            }
        }
        LmScorer scorer = new LmScorer(m.model(), c.batchSize());
        TextScorer ts = new TextScorer(scorer, m.tokenizer(), condition(m, "score"), stride);
        PositionLoss positions = new PositionLoss(context);
        BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        long lineNo = 0;
        long t0 = System.nanoTime();
        long lastReport = t0;
        long tokens = 0;
        for (String line; (line = r.readLine()) != null; ) {
            lineNo++;
            TextScorer.Scored s = ts.score(line, c.special());
            tokens += s.ids().length;
            if (c.positions()) {
                positions.add(s);
                long now = System.nanoTime();
                if (now - lastReport > 10_000_000_000L) {
                    lastReport = now;
                    System.err.printf("score: %d lines, %d tokens, %.0f tokens/s%n", lineNo, tokens,
                        tokens / ((now - t0) / 1e9));
                }
                continue;
            }
            ObjectNode o = Json.object();
            o.put("line", lineNo);
            ArrayNode ids = o.putArray("ids");
            ArrayNode toks = o.putArray("tokens");
            ArrayNode lps = o.putArray("logprobs");
            for (int i = 0; i < s.ids().length; i++) {
                ids.add(s.ids()[i]);
                toks.add(m.tokenizer().token(s.ids()[i]));
                lps.add(s.logProbs()[i]);
            }
            o.put("count", s.ids().length);
            o.put("sum_logprob", s.sum());
            if (s.ids().length == 0) {
                o.putNull("perplexity");
            } else {
                o.put("perplexity", s.perplexity());
            }
            o.put("windows", s.windows());
            out.println(Json.MAPPER.writeValueAsString(o));
        }
        if (c.positions()) {
            ObjectNode o = positions.toJson(c.earlyFor(context), c.lateFor(context));
            o.put("checkpoint", m.checkpoint().dir().toString());
            o.put("step", m.checkpoint().step());
            o.put("stride", stride);
            o.put("texts", lineNo);
            out.println(Json.pretty().writeValueAsString(o));
        }
        out.flush();
        return 0;
    }

    // ------------------------------------------------------------------------------------------------ evaluate-fewshot

    static int evaluateFewshot(String[] args, PrintStream out) throws IOException {
        FewShotConfig c = FewShotConfig.commandLine().parseOrHelp(args, out);
        if (c == null) {
            return 0;
        }
        String cmd = "evaluate-fewshot";
        Configuration conf = new Configuration();
        List<Integer> shots = c.shots();
        List<TaskExample> task = TaskFile.read(conf, c.task(), true, cmd);
        List<TaskExample> pool = c.fewshotFile() == null ? task : TaskFile.read(conf, c.fewshotFile(), false, cmd);
        DemoSampler sampler = new DemoSampler(pool, c.fewshotFile() == null, c.seed());
        int most = shots.stream().mapToInt(Integer::intValue).max().orElse(0);
        if (most > sampler.available()) {
            throw new UsageException(cmd + ": " + most + " shots asked, but " + (c.fewshotFile() == null
                ? "the task has " + task.size() + " examples (the evaluated one is never a demonstration)"
                : c.fewshotFile() + " has " + pool.size() + " examples"));
        }
        PretrainedModel m = load(conf, c.checkpoint(), cmd, Set.of(Objective.CLM, Objective.PREFIX_LM));
        AtomicOutput output = c.output() == null ? null : AtomicOutput.begin(conf, c.output(), c.overwrite());
        try {
            Scorer scorer = m.objective() == Objective.PREFIX_LM
                ? new Seq2SeqScorer(m.model(), Seq2SeqModel.startId(m.tokenizer()), condition(m, cmd), c.batchSize())
                : new LmScorer(m.model(), c.batchSize());
            FewShotEvaluation ev = new FewShotEvaluation(scorer, m.tokenizer(), condition(m, cmd), task, sampler,
                c.maxNewTokens(), System.err::println, 10);
            List<FewShotEvaluation.Result> results = new ArrayList<>();
            for (int k : shots) {
                FewShotEvaluation.Result res;
                try {
                    res = ev.run(k, c.limit());
                } catch (IllegalArgumentException e) {
                    throw new UsageException(cmd + ": " + e.getMessage());
                }
                results.add(res);
                out.println(Json.MAPPER.writeValueAsString(FewShotReport.resultJson(res, c.task())));
                out.flush();
            }
            if (output != null) {
                ObjectNode all = FewShotReport.resultsJson(c, m.checkpoint().dir().toString(), m.checkpoint().step(),
                    m.model().config().contextLength(), task.size(), pool.size(), results);
                output.write(FewShotReport.RESULTS,
                    (Json.pretty().writeValueAsString(all) + "\n").getBytes(StandardCharsets.UTF_8));
                output.write(FewShotReport.HTML, FewShotReport.html(c, m.checkpoint().dir().toString(),
                    m.checkpoint().step(), results, Instant.now()).getBytes(StandardCharsets.UTF_8));
                output.commit();
                System.err.println(cmd + ": wrote " + output.target() + "/" + FewShotReport.RESULTS + " and "
                    + FewShotReport.HTML);
            }
        } finally {
            if (output != null) {
                output.close();
            }
        }
        return 0;
    }
}
