package org.sparklm.config;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Declares a record component of a job's configuration as a command-line option and a config-file key, once: its
 * help text, its value's name, its range and whether it is required. The option is {@code --kebab-case} of the
 * component's name, the config-file key its snake_case; the default is the component's value in the job's default
 * record. See {@link CommandLine}.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.RECORD_COMPONENT)
public @interface Opt {

    /**
     * The value's name in the help, e.g. {@code DIR}; empty for a boolean flag, and for a {@link Keyed} enum, whose
     * keys are shown ({@code average|nesterov}).
     */
    String metavar() default "";

    /** One line of help (the default is appended by the help text). */
    String help();

    /** Must be given (on the command line or in the config file). */
    boolean required() default false;

    /** Smallest allowed value of a number. */
    double min() default Double.NEGATIVE_INFINITY;

    /** Largest allowed value of a number. */
    double max() default Double.POSITIVE_INFINITY;

    /**
     * A list option whose elements must differ: a value given twice is an error (an element would otherwise be run,
     * written or reported twice, or silently dropped).
     */
    boolean distinct() default false;

    /** Shown as the default instead of the default record's value (e.g. a sentence), when not empty. */
    String defaultText() default "";
}
