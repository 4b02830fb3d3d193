package org.sparklm.jobs;

import java.io.FileNotFoundException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.sparklm.cli.TokenizeCommand;
import org.sparklm.UsageException;
import org.sparklm.io.AtomicOutput;

/**
 * The application's entry point: {@code spark-submit --class org.sparklm.jobs.Main sparklm-jobs.jar COMMAND
 * [options]}, or {@code deploy/bin/submit [spark-submit options] COMMAND [options]}.
 *
 * <p>Commands: {@code bpe-train}, {@code shard} (Spark), {@code tokenize}, {@code export}, {@code import} (plain
 * JVM). Bad input ends with one line {@code sparklm COMMAND: error: ...} on standard error and exit code 2; a failure
 * while running, exit code 1.
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        int code = run(args);
        if (code != 0) {
            System.exit(code);
        }
    }

    static String usage() {
        return """
            usage: COMMAND [options]    (COMMAND --help for its options)

            commands:
              bpe-train   learn a byte-pair-encoding vocabulary from a corpus (Spark job)
              shard       encode a corpus into train/val token shards with a trained tokenizer (Spark job)
              pretrain    train a Transformer LM on shards with DL4J Spark parameter averaging (Spark job)
              sweep       a grid of pretraining runs (sizes x token budgets), one Spark task each, and the
                          scaling-law fit L(N, D) = E + A/N^alpha + B/D^beta: law.json, report.html (Spark job)
              fit-law     the sweep's fit again, on the runs of one or more finished sweeps (no Spark)
              plan        compute-optimal N and D for a budget, the nearest model of a family, its wall time (no
                          Spark, prints JSON and a table)
              evaluate    validation loss/perplexity of a checkpoint on shards (no Spark, prints JSON)
              generate    continue a prompt with a clm or prefix-lm checkpoint (no Spark)
              fill-mask   fill [MASK] tokens with an mlm checkpoint (no Spark, prints JSON)
              fill-spans  fill <extra_id_N> sentinels with a span (T5) checkpoint (no Spark)
              finetune    fine-tune a pretrained model as a text classifier: full, head, lora or prefix (Spark job)
              classify    classify text lines (or evaluate on labelled text) with a fine-tuned classifier (no Spark)
              finetune-merge  fold a LoRA classifier's adapters into its weights (no Spark)
              make-passages   a labelled passage set and its pretraining text from a corpus with line labels (no Spark)
              show-batch  the examples pretrain trains on at its first step, decoded (no Spark, JSON lines)
              score       per-token log-probabilities and perplexity of text lines under a clm checkpoint (no Spark,
                          prints JSON lines)
              evaluate-fewshot  few-shot evaluation of a clm checkpoint on a multiple-choice or generation task, the
                          lm-evaluation-harness way (no Spark, prints JSON, writes results.json and report.html)
              make-icl-data   a synthetic in-context-learning corpus and its held-out few-shot task (no Spark)
              export      write a checkpoint or classifier as safetensors + config.json + tokenizer files, HF GPT-2
                          or native layout, or a LoRA classifier as a PEFT adapter (no Spark)
              import      turn an export directory back into a checkpoint or classifier (no Spark)
              bench-bpe   benchmark bpe-train and the encoder on a corpus (Spark job, prints JSON)
              bench-shard benchmark the shard job against the single-thread encoder (Spark job, prints JSON)
              bench-finetune  label efficiency of every fine-tuning method against training from scratch (Spark
                          job, prints JSON)
              bench-outer compare parameter averaging, with and without the Nesterov outer step, against the
                          synchronous equivalent (Spark job, prints JSON)
              bench-train-step  benchmark one JVM's training step of a Transformer (no Spark, prints JSON)
              tokenize    encode standard input with a trained tokenizer, or decode ids (no Spark)
            """;
    }

    /** Runs a command and returns the exit code. */
    public static int run(String[] args) {
        PrintStream err = System.err;
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help")) {
            System.out.print(usage());
            return args.length == 0 ? 2 : 0;
        }
        String cmd = args[0];
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        try {
            switch (cmd) {
                case "bpe-train" -> BpeTrainJob.main(rest);
                case "shard" -> ShardJob.main(rest);
                case "pretrain" -> PretrainJob.main(rest);
                case "sweep" -> SweepJob.main(rest);
                case "plan" -> {
                    return org.sparklm.scaling.PlanCommand.run(rest, System.out);
                }
                case "fit-law" -> {
                    return org.sparklm.scaling.FitLawCommand.run(rest, System.out);
                }
                case "evaluate" -> {
                    return ModelCommands.evaluate(rest, System.out);
                }
                case "generate" -> {
                    return ModelCommands.generate(rest, System.out);
                }
                case "fill-spans" -> {
                    return ModelCommands.fillSpans(rest, System.out);
                }
                case "fill-mask" -> {
                    return ModelCommands.fillMask(rest, System.out);
                }
                case "finetune" -> FinetuneJob.main(rest);
                case "classify" -> {
                    return ClassifierCommands.classify(rest, System.in, System.out);
                }
                case "finetune-merge" -> {
                    return ClassifierCommands.merge(rest, System.out);
                }
                case "show-batch" -> {
                    return org.sparklm.pretrain.ShowBatch.run(rest, System.out);
                }
                case "make-passages" -> {
                    return org.sparklm.finetune.Passages.run(rest, System.out);
                }
                case "score" -> {
                    return ScoreCommands.score(rest, System.in, System.out);
                }
                case "evaluate-fewshot" -> {
                    return ScoreCommands.evaluateFewshot(rest, System.out);
                }
                case "make-icl-data" -> {
                    return org.sparklm.eval.IclData.run(rest, System.out);
                }
                case "export" -> {
                    return ExportCommands.export(rest, System.out);
                }
                case "import" -> {
                    return ExportCommands.importModel(rest, System.out);
                }
                case "bench-bpe" -> BenchBpeCommand.main(rest);
                case "bench-shard" -> BenchShardCommand.main(rest);
                case "bench-outer" -> BenchOuterCommand.main(rest);
                case "bench-finetune" -> BenchFinetuneCommand.main(rest);
                case "bench-train-step" -> {
                    return org.sparklm.model.TrainStepBench.run(rest, System.out);
                }
                case "tokenize" -> {
                    return TokenizeCommand.run(rest, System.in, System.out);
                }
                default -> throw new UsageException("unknown command '" + cmd + "' (commands: bpe-train, shard, pretrain, sweep, plan, fit-law, evaluate, generate, fill-mask, fill-spans, show-batch, finetune, classify, finetune-merge, make-passages, score, evaluate-fewshot, make-icl-data, export, import, bench-bpe, bench-shard, bench-outer, bench-finetune, bench-train-step, tokenize)");
            }
            return 0;
        } catch (UsageException | AtomicOutput.OutputExistsException | FileNotFoundException
                 | IllegalArgumentException e) {
            err.println("sparklm " + cmd + ": error: " + oneLine(withoutPrefix(e.getMessage(), cmd)));
            return 2;
        } catch (Throwable e) {
            Throwable root = e;
            while (root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
            }
            if (root instanceof UsageException || root instanceof FileNotFoundException) {
                err.println("sparklm " + cmd + ": error: " + oneLine(withoutPrefix(root.getMessage(), cmd)));
                return 2;
            }
            err.println("sparklm " + cmd + ": failed: " + oneLine(root.getClass().getSimpleName() + ": "
                + root.getMessage()));
            if (Boolean.getBoolean("sparklm.trace")) {
                e.printStackTrace(err);
            }
            return 1;
        }
    }

    /** Messages may start with "COMMAND: " themselves; the error line names the command once. */
    private static String withoutPrefix(String s, String cmd) {
        return s != null && s.startsWith(cmd + ": ") ? s.substring(cmd.length() + 2) : s;
    }

    private static String oneLine(String s) {
        if (s == null) {
            return "(no message)";
        }
        String line = s.replace('\n', ' ').replace('\r', ' ');
        byte[] b = line.getBytes(StandardCharsets.UTF_8);
        return b.length > 2000 ? line.substring(0, 1000) + " ..." : line;
    }
}
