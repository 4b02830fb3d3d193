package org.sparklm.eval;

import java.util.List;

/**
 * Few-shot prompts as EleutherAI's lm-evaluation-harness renders them: each demonstration is
 * {@code context + TARGET_DELIMITER + answer}, demonstrations are joined by {@code FEWSHOT_DELIMITER}, and the
 * evaluated example's context follows the last one after another {@code FEWSHOT_DELIMITER}. A multiple-choice
 * continuation is {@code TARGET_DELIMITER + choice}.
 */
public final class Prompts {
    /** Between a context and its answer (the harness's {@code target_delimiter}). */
    public static final String TARGET_DELIMITER = " ";
    /** Between demonstrations, and before the evaluated context (the harness's {@code fewshot_delimiter}). */
    public static final String FEWSHOT_DELIMITER = "\n\n";

    private Prompts() {
    }

    /** One demonstration: its context, the target delimiter and its answer. */
    public static String demonstration(TaskExample e) {
        return e.context() + TARGET_DELIMITER + e.answer();
    }

    /** The prompt of an evaluated context after the demonstrations (none: the context alone). */
    public static String render(List<TaskExample> demonstrations, String context) {
        StringBuilder b = new StringBuilder();
        for (TaskExample d : demonstrations) {
            b.append(demonstration(d)).append(FEWSHOT_DELIMITER);
        }
        return b.append(context).toString();
    }

    /** The continuation scored for a choice: the target delimiter and the choice. */
    public static String continuation(String choice) {
        return TARGET_DELIMITER + choice;
    }
}
