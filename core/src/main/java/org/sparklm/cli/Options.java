package org.sparklm.cli;

import org.sparklm.UsageException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A command's options: declared once with their defaults and help, parsed from {@code --name value},
 * {@code --name=value}, {@code --name v1 v2 ...} (list options) and {@code --flag}. An unknown option, a missing
 * value or a value of the wrong type is a {@link UsageException} naming it.
 */
public final class Options {

    private enum Kind { VALUE, LIST, FLAG }

    private record Spec(String name, Kind kind, String metavar, String help, String defaultValue, boolean required) {
    }

    private final String command;
    private final String summary;
    private final Map<String, Spec> specs = new LinkedHashMap<>();

    public Options(String command, String summary) {
        this.command = command;
        this.summary = summary;
        flag("help", "print this help and exit");
    }

    /** An option with one value; {@code defaultValue} null means none. */
    public Options value(String name, String metavar, String help, String defaultValue) {
        return add(new Spec(name, Kind.VALUE, metavar, help, defaultValue, false));
    }

    /** A required option with one value. */
    public Options required(String name, String metavar, String help) {
        return add(new Spec(name, Kind.VALUE, metavar, help, null, true));
    }

    /** A required option taking one or more values ({@code --name a b c} or repeated). */
    public Options requiredList(String name, String metavar, String help) {
        return add(new Spec(name, Kind.LIST, metavar, help, null, true));
    }

    /**
     * An optional option taking one or more values ({@code --name a b c} or repeated); {@code defaultValue} is
     * what the help shows (null: nothing).
     */
    public Options list(String name, String metavar, String help, String defaultValue) {
        return add(new Spec(name, Kind.LIST, metavar, help, defaultValue, false));
    }

    /** A boolean flag, false unless given. */
    public Options flag(String name, String help) {
        return add(new Spec(name, Kind.FLAG, null, help, null, false));
    }

    private Options add(Spec s) {
        if (specs.put(s.name(), s) != null) {
            throw new IllegalArgumentException("option --" + s.name() + " declared twice");
        }
        return this;
    }

    public String command() {
        return command;
    }

    /** The help text: usage line, summary, and one line per option with its default. */
    public String help() {
        StringBuilder sb = new StringBuilder();
        sb.append("usage: ").append(command);
        for (Spec s : specs.values()) {
            if (s.required()) {
                sb.append(" --").append(s.name()).append(' ').append(s.metavar());
            }
        }
        sb.append(" [options]\n\n").append(summary).append("\n\noptions:\n");
        for (Spec s : specs.values()) {
            String left = "  --" + s.name() + (s.metavar() == null ? "" : " " + s.metavar());
            sb.append(left);
            sb.append(" ".repeat(Math.max(1, 30 - left.length())));
            sb.append(s.help());
            if (s.required()) {
                sb.append(" (required)");
            } else if (s.defaultValue() != null) {
                sb.append(" (default: ").append(s.defaultValue()).append(')');
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    /** Parses; when --help was given, prints the help to {@code out} and returns null. */
    public Parsed parseOrHelp(String[] args, java.io.PrintStream out) {
        Parsed p = parse(args);
        if (p.help()) {
            out.print(help());
            return null;
        }
        return p;
    }

    /** Parses arguments; {@link Parsed#help()} is true when --help was given (required options then unchecked). */
    public Parsed parse(String[] args) {
        return parse(args, true);
    }

    /**
     * Parses arguments; with {@code checkRequired} false, missing required options are left to the caller (a config
     * file may supply them).
     */
    public Parsed parse(String[] args, boolean checkRequired) {
        Map<String, List<String>> values = new LinkedHashMap<>();
        int i = 0;
        while (i < args.length) {
            String a = args[i];
            if (!a.startsWith("--") || a.length() == 2) {
                throw new UsageException(command + ": unexpected argument '" + a + "'");
            }
            String name = a.substring(2);
            String inline = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                inline = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            Spec s = specs.get(name);
            if (s == null) {
                throw new UsageException(command + ": unknown option --" + name);
            }
            i++;
            List<String> v = values.computeIfAbsent(name, k -> new ArrayList<>());
            switch (s.kind()) {
                case FLAG -> {
                    if (inline != null) {
                        if (!inline.equals("true") && !inline.equals("false")) {
                            throw new UsageException(command + ": --" + name + " takes no value (or =true/=false)");
                        }
                        v.clear();
                        v.add(inline);
                    } else {
                        v.clear();
                        v.add("true");
                    }
                }
                case VALUE -> {
                    if (inline == null) {
                        if (i >= args.length || args[i].startsWith("--")) {
                            throw new UsageException(command + ": --" + name + " needs a value " + s.metavar());
                        }
                        inline = args[i++];
                    }
                    v.clear();
                    v.add(inline);
                }
                case LIST -> {
                    if (inline != null) {
                        v.add(inline);
                    }
                    while (i < args.length && !args[i].startsWith("--")) {
                        v.add(args[i++]);
                    }
                    if (v.isEmpty()) {
                        throw new UsageException(command + ": --" + name + " needs at least one " + s.metavar());
                    }
                }
                default -> throw new IllegalStateException();
            }
        }
        boolean help = values.containsKey("help");
        if (!help && checkRequired) {
            for (Spec s : specs.values()) {
                if (s.required() && !values.containsKey(s.name())) {
                    throw new UsageException(command + ": missing required option --" + s.name() + " " + s.metavar());
                }
            }
        }
        return new Parsed(values, help);
    }

    /** Parsed values. */
    public final class Parsed {
        private final Map<String, List<String>> values;
        private final boolean help;

        private Parsed(Map<String, List<String>> values, boolean help) {
            this.values = values;
            this.help = help;
        }

        public boolean help() {
            return help;
        }

        private Spec spec(String name) {
            Spec s = specs.get(name);
            if (s == null) {
                throw new IllegalArgumentException("option --" + name + " was not declared");
            }
            return s;
        }

        /** The value, the default, or null. */
        public String string(String name) {
            Spec s = spec(name);
            List<String> v = values.get(name);
            return v == null || v.isEmpty() ? s.defaultValue() : v.get(v.size() - 1);
        }

        public List<String> list(String name) {
            spec(name);
            List<String> v = values.get(name);
            return v == null ? List.of() : List.copyOf(v);
        }

        public boolean flag(String name) {
            return "true".equals(string(name));
        }

        public boolean given(String name) {
            spec(name);
            return values.containsKey(name);
        }

        /** The options given on the command line (not their defaults), in the order first seen. */
        public List<String> givenNames() {
            List<String> out = new ArrayList<>(values.keySet());
            out.remove("help");
            return out;
        }

        public long longValue(String name, long min, long max) {
            String v = string(name);
            long x;
            try {
                x = Long.parseLong(v.trim().replace("_", ""));
            } catch (NumberFormatException | NullPointerException e) {
                throw new UsageException(command + ": --" + name + " must be a whole number, got '" + v + "'");
            }
            if (x < min || x > max) {
                throw new UsageException(command + ": --" + name + " must be between " + min + " and " + max
                    + ", got " + x);
            }
            return x;
        }

        public int intValue(String name, int min, int max) {
            return (int) longValue(name, min, max);
        }

        public double doubleValue(String name, double min, double max) {
            String v = string(name);
            double x;
            try {
                x = Double.parseDouble(v.trim());
            } catch (NumberFormatException | NullPointerException e) {
                throw new UsageException(command + ": --" + name + " must be a number, got '" + v + "'");
            }
            if (!(x >= min && x <= max)) {
                throw new UsageException(String.format(Locale.ROOT, "%s: --%s must be between %s and %s, got %s",
                    command, name, min, max, v));
            }
            return x;
        }
    }
}
