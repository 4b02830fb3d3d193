package org.sparklm.eval;

import java.util.List;

/**
 * One example of a few-shot task: multiple choice ({@code choices} and the index {@code gold} of the right one) or
 * generation ({@code target}, the text to generate exactly). Exactly one of {@code choices} and {@code target} is set.
 *
 * @param context the text before the answer
 * @param choices the candidate answers (multiple choice), else null
 * @param gold    the index of the right choice (multiple choice), else -1
 * @param target  the answer to generate (generation), else null
 */
public record TaskExample(String context, List<String> choices, int gold, String target) {

    public TaskExample {
        if (context == null) {
            throw new IllegalArgumentException("no context");
        }
        if ((choices == null) == (target == null)) {
            throw new IllegalArgumentException("an example has either choices (and gold) or a target");
        }
        if (choices != null) {
            if (choices.isEmpty()) {
                throw new IllegalArgumentException("empty choices");
            }
            if (gold < 0 || gold >= choices.size()) {
                throw new IllegalArgumentException("gold " + gold + " is out of range for " + choices.size()
                    + " choices");
            }
            choices = List.copyOf(choices);
        } else if (gold != -1) {
            throw new IllegalArgumentException("a generation example has no gold");
        }
    }

    public static TaskExample multipleChoice(String context, List<String> choices, int gold) {
        return new TaskExample(context, choices, gold, null);
    }

    public static TaskExample generation(String context, String target) {
        return new TaskExample(context, null, -1, target);
    }

    public boolean isMultipleChoice() {
        return choices != null;
    }

    /** The answer a demonstration shows: the gold choice, or the target. */
    public String answer() {
        return choices != null ? choices.get(gold) : target;
    }
}
