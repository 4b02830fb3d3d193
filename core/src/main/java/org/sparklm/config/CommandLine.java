package org.sparklm.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.sparklm.cli.Options;
import org.sparklm.UsageException;
import org.sparklm.io.Json;

/**
 * A job's configuration as one typed, immutable record, layered as nanoGPT's is: the defaults in code (one record
 * instance, {@code DEFAULTS}), then a config file ({@code --config FILE}, a JSON object), then the command-line
 * options. Every component annotated with {@link Opt} is an option {@code --kebab-case} and a file key
 * {@code snake_case} (or {@code kebab-case}); its help, value name, range and default are declared once, on the
 * record. An unknown key, a value of the wrong type or out of range is a {@link UsageException} naming it.
 *
 * <p>Supported component types: {@code String}, {@code int}, {@code long}, {@code double}, {@code boolean}
 * (a flag), enums (parsed by their static {@code parse(String)} when they have one, written with Jackson's
 * {@code @JsonValue}), {@code Map<String, String>} ({@code KEY=VALUE,...} on the command line, an object in the file)
 * and lists ({@code List<String>}, {@code List<Integer>}, {@code List<Long>}, {@code List<Double>}, a list of an enum:
 * several values, or a JSON array). The values of a list of numbers or of an enum may also be comma-separated
 * ({@code --hs 8,32,128} is {@code --hs 8 32 128}), and a value that is blank adds nothing ({@code --scratch ""} is
 * the empty list); strings are never split, since a path may hold a comma. Each element of a list is checked as a
 * single value would be (range, enum key). After binding, a record implementing {@link Checked} has its
 * cross-field rules checked.
 *
 * @param <T> the configuration record
 */
public final class CommandLine<T extends Record> {

    /** Cross-field rules of a configuration, checked after all layers are applied. */
    public interface Checked {
        /** Throws IllegalArgumentException (its message is shown after the command name) if the rules fail. */
        void check();
    }

    private record Field(RecordComponent component, Opt opt, String option, String key) {
        Class<?> type() {
            return component.getType();
        }

        /** The type of one value: the component's, or a list's element type. */
        Class<?> element() {
            if (!list()) {
                return type();
            }
            if (component.getGenericType() instanceof ParameterizedType p
                && p.getActualTypeArguments()[0] instanceof Class<?> c) {
                return c;
            }
            return String.class;
        }

        boolean integral() {
            Class<?> t = element();
            return t == int.class || t == long.class || t == Integer.class || t == Long.class;
        }

        boolean decimal() {
            return element() == double.class || element() == Double.class;
        }

        boolean enumerated() {
            return element().isEnum();
        }

        /** A list whose command-line values may also be comma-separated: numbers or enum keys, not strings. */
        boolean commaList() {
            return list() && element() != String.class;
        }

        boolean flag() {
            return type() == boolean.class || type() == Boolean.class;
        }

        boolean list() {
            return List.class.isAssignableFrom(type());
        }

        boolean map() {
            return Map.class.isAssignableFrom(type());
        }

        /**
         * The value's name in the help: the annotation's, or a {@link Keyed} enum's keys as {@code a|b|c} (for a
         * list of them {@code a|b|c,...}).
         */
        String metavar() {
            if (opt.metavar().isEmpty() && enumerated() && Keyed.class.isAssignableFrom(element())) {
                return String.join("|", Arrays.stream((Keyed[]) element().getEnumConstants()).map(Keyed::key)
                    .toList()) + (list() ? ",..." : "");
            }
            return opt.metavar();
        }
    }

    public static final String CONFIG_OPTION = "config";

    private final Class<T> type;
    private final T defaults;
    private final String command;
    private final Options options;
    private final Map<String, Field> byOption = new LinkedHashMap<>();
    private final Map<String, Field> byKey = new LinkedHashMap<>();

    private CommandLine(Class<T> type, T defaults, String command, String summary) {
        this.type = type;
        this.defaults = defaults;
        this.command = command;
        this.options = new Options(command, summary);
        ObjectNode defaultTree = Json.MAPPER.valueToTree(defaults);
        for (RecordComponent c : type.getRecordComponents()) {
            Opt opt = c.getAnnotation(Opt.class);
            if (opt == null) {
                continue;
            }
            Field f = new Field(c, opt, kebab(c.getName()), snake(c.getName()));
            byOption.put(f.option(), f);
            byKey.put(f.key(), f);
            if (f.flag()) {
                options.flag(f.option(), opt.help());
            } else if (opt.required()) {
                if (f.list()) {
                    options.requiredList(f.option(), f.metavar(), opt.help());
                } else {
                    options.required(f.option(), f.metavar(), opt.help());
                }
            } else {
                String shown = !opt.defaultText().isEmpty() ? opt.defaultText()
                    : display(defaultTree.get(f.key()), f);
                if (f.list()) {
                    options.list(f.option(), f.metavar(), opt.help(), shown);
                } else {
                    options.value(f.option(), f.metavar(), opt.help(), shown);
                }
            }
        }
        options.value(CONFIG_OPTION, "FILE", "a JSON file of option values (keys as the options' names, with _ or"
            + " -); options given here override it", null);
    }

    /**
     * The command line of a configuration record.
     *
     * @param defaults every default, in one place
     */
    public static <T extends Record> CommandLine<T> of(Class<T> type, T defaults, String command, String summary) {
        return new CommandLine<>(type, defaults, command, summary);
    }

    /** The options, for the help text. */
    public Options options() {
        return options;
    }

    public String help() {
        return options.help();
    }

    /** Parses; when --help was given, prints the help to {@code out} and returns null. */
    public T parseOrHelp(String[] args, PrintStream out) {
        Options.Parsed p = options.parse(args, false);
        if (p.help()) {
            out.print(options.help());
            return null;
        }
        return bind(p);
    }

    /** Parses arguments into the configuration (defaults, then --config FILE, then the options given). */
    public T parse(String[] args) {
        Options.Parsed p = options.parse(args, false);
        if (p.help()) {
            throw new UsageException(command + ": --help is not a configuration");
        }
        return bind(p);
    }

    private T bind(Options.Parsed p) {
        ObjectNode tree = Json.MAPPER.valueToTree(defaults);
        String file = p.string(CONFIG_OPTION);
        if (file != null) {
            applyFile(tree, file);
        }
        for (String name : p.givenNames()) {
            Field f = byOption.get(name);
            if (f == null) {
                continue; // --config
            }
            tree.set(f.key(), fromText(f, f.list() ? p.list(name) : List.of(p.string(name)), "--" + name));
        }
        for (Field f : byOption.values()) {
            JsonNode v = tree.get(f.key());
            if (f.opt().required() && (v == null || v.isNull() || f.list() && v.isEmpty())) {
                throw new UsageException(command + ": missing required option --" + f.option() + " "
                    + f.metavar());
            }
        }
        T value;
        try {
            value = Json.MAPPER.treeToValue(tree, type);
        } catch (JsonProcessingException e) {
            throw new UsageException(command + ": " + rootMessage(e));
        } catch (IllegalArgumentException e) {
            throw new UsageException(command + ": " + rootMessage(e));
        }
        if (value instanceof Checked c) {
            try {
                c.check();
            } catch (IllegalArgumentException e) {
                throw new UsageException(command + ": " + e.getMessage());
            }
        }
        return value;
    }

    /** The configuration of a config file alone over the defaults (no command line); for tests and tools. */
    public T fromFile(String file) {
        ObjectNode tree = Json.MAPPER.valueToTree(defaults);
        applyFile(tree, file);
        try {
            return Json.MAPPER.treeToValue(tree, type);
        } catch (JsonProcessingException | IllegalArgumentException e) {
            throw new UsageException(command + ": " + rootMessage(e));
        }
    }

    private void applyFile(ObjectNode tree, String file) {
        JsonNode n;
        try {
            Path path = new Path(file);
            try (InputStream in = path.getFileSystem(new Configuration()).open(path)) {
                n = Json.MAPPER.readTree(in);
            }
        } catch (java.io.FileNotFoundException e) {
            throw new UsageException(command + ": --config: " + file + " does not exist");
        } catch (IOException e) {
            throw new UsageException(command + ": --config " + file + ": not valid JSON: "
                + e.getMessage().replace('\n', ' '));
        }
        if (n == null || !n.isObject()) {
            throw new UsageException(command + ": --config " + file + ": expected a JSON object of option values");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = e.getKey().replace('-', '_');
            Field f = byKey.get(key);
            if (f == null) {
                throw new UsageException(command + ": --config " + file + ": unknown key '" + e.getKey()
                    + "' (known: " + String.join(", ", byKey.keySet()) + ")");
            }
            tree.set(f.key(), fromJson(f, e.getValue(), "'" + e.getKey() + "' in " + file));
        }
    }

    // ---- values ----

    /** A command-line value as the JSON the record binds. */
    private JsonNode fromText(Field f, List<String> values, String where) {
        JsonNodeFactory nf = JsonNodeFactory.instance;
        if (f.flag()) {
            return nf.booleanNode("true".equals(values.get(0)));
        }
        if (f.list()) {
            var a = nf.arrayNode();
            for (String v : values) {
                if (!f.commaList()) {
                    a.add(v);
                } else if (!v.isBlank()) {
                    for (String part : v.split(",", -1)) {
                        a.add(valueFromText(f, part.strip(), where));
                    }
                }
            }
            return checkDistinct(f, a, where);
        }
        return valueFromText(f, values.get(0), where);
    }

    /** One value (of an option, or an element of a list option) as JSON. */
    private JsonNode valueFromText(Field f, String v, String where) {
        JsonNodeFactory nf = JsonNodeFactory.instance;
        if (f.integral()) {
            long x;
            try {
                x = Long.parseLong(v.trim().replace("_", ""));
            } catch (NumberFormatException e) {
                throw new UsageException(command + ": " + where + " must be a whole number, got '" + v + "'");
            }
            checkRange(f, x, v, where);
            return nf.numberNode(x);
        }
        if (f.decimal()) {
            double x;
            try {
                x = Double.parseDouble(v.trim());
            } catch (NumberFormatException e) {
                throw new UsageException(command + ": " + where + " must be a number, got '" + v + "'");
            }
            checkRange(f, x, v, where);
            return nf.numberNode(x);
        }
        if (f.map()) {
            ObjectNode o = nf.objectNode();
            for (String kv : v.split(",")) {
                if (kv.isBlank()) {
                    continue;
                }
                int eq = kv.indexOf('=');
                if (eq <= 0) {
                    throw new UsageException(command + ": " + where + ": expected KEY=VALUE, got '" + kv + "'");
                }
                o.put(kv.substring(0, eq).strip(), kv.substring(eq + 1).strip());
            }
            return o;
        }
        if (f.enumerated()) {
            return nf.textNode(enumKey(f, v, where));
        }
        return nf.textNode(v);
    }

    /** A config-file value, type-checked. */
    private JsonNode fromJson(Field f, JsonNode v, String where) {
        if (v.isNull()) {
            if (f.type().isPrimitive()) {
                throw new UsageException(command + ": " + where + " may not be null");
            }
            return v;
        }
        if (f.list()) {
            if (!v.isArray()) {
                throw new UsageException(command + ": " + where + " must be an array, got " + v);
            }
            var a = JsonNodeFactory.instance.arrayNode();
            for (JsonNode x : v) {
                if (x.isNull()) {
                    throw new UsageException(command + ": " + where + " may not hold null, got " + v);
                }
                a.add(valueFromJson(f, x, where));
            }
            return checkDistinct(f, a, where);
        }
        return valueFromJson(f, v, where);
    }

    /** One config-file value (of a key, or an element of a list), type-checked. */
    private JsonNode valueFromJson(Field f, JsonNode v, String where) {
        JsonNodeFactory nf = JsonNodeFactory.instance;
        if (f.flag()) {
            if (!v.isBoolean()) {
                throw new UsageException(command + ": " + where + " must be true or false, got " + v);
            }
            return v;
        }
        if (f.integral()) {
            if (!v.isIntegralNumber()) {
                throw new UsageException(command + ": " + where + " must be a whole number, got " + v);
            }
            checkRange(f, v.asLong(), v.toString(), where);
            return v;
        }
        if (f.decimal()) {
            if (!v.isNumber()) {
                throw new UsageException(command + ": " + where + " must be a number, got " + v);
            }
            checkRange(f, v.asDouble(), v.toString(), where);
            return v;
        }
        if (f.map()) {
            if (!v.isObject()) {
                throw new UsageException(command + ": " + where + " must be an object of KEY: VALUE, got " + v);
            }
            ObjectNode o = nf.objectNode();
            v.fields().forEachRemaining(e -> o.put(e.getKey(), e.getValue().isTextual() ? e.getValue().asText()
                : e.getValue().toString()));
            return o;
        }
        if (!v.isTextual()) {
            throw new UsageException(command + ": " + where + " must be a string, got " + v);
        }
        return f.enumerated() ? nf.textNode(enumKey(f, v.asText(), where)) : v;
    }

    /** A list's elements, if its option is {@link Opt#distinct()}: the first value given twice is an error. */
    private ArrayNode checkDistinct(Field f, ArrayNode a, String where) {
        if (f.opt().distinct()) {
            Set<Object> seen = new HashSet<>();
            for (JsonNode x : a) {
                Object k = f.decimal() ? (Object) x.asDouble() : f.integral() ? (Object) x.asLong() : x.asText();
                if (!seen.add(k)) {
                    throw new UsageException(command + ": " + where + " lists " + x.asText() + " twice");
                }
            }
        }
        return a;
    }

    private void checkRange(Field f, double x, String raw, String where) {
        Opt o = f.opt();
        if (!(x >= o.min() && x <= o.max())) {
            if (f.integral()) {
                throw new UsageException(String.format(Locale.ROOT, "%s: %s must be between %d and %d, got %s",
                    command, where, (long) o.min(), (long) Math.min(o.max(), Long.MAX_VALUE), raw.trim()));
            }
            throw new UsageException(String.format(Locale.ROOT, "%s: %s must be between %s and %s, got %s", command,
                where, o.min(), o.max(), raw.trim()));
        }
    }

    /** The JSON form of an enum value given as text: parsed with the enum's own rules. */
    private String enumKey(Field f, String v, String where) {
        Object e;
        try {
            Method parse = f.element().getMethod("parse", String.class);
            e = parse.invoke(null, v);
        } catch (NoSuchMethodException x) {
            try {
                e = Enum.valueOf(f.element().asSubclass(Enum.class), v.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException y) {
                throw new UsageException(command + ": " + where + ": unknown value '" + v + "'");
            }
        } catch (java.lang.reflect.InvocationTargetException x) {
            throw new UsageException(command + ": " + where + ": " + x.getCause().getMessage());
        } catch (IllegalAccessException x) {
            throw new IllegalStateException(x);
        }
        return Json.MAPPER.valueToTree(e).asText();
    }

    private static String display(JsonNode v, Field f) {
        if (v == null || v.isNull()) {
            return null;
        }
        if (f.map()) {
            List<String> kv = new ArrayList<>();
            v.fields().forEachRemaining(e -> kv.add(e.getKey() + "=" + e.getValue().asText()));
            return kv.isEmpty() ? null : String.join(",", kv);
        }
        if (f.list()) {
            List<String> xs = new ArrayList<>();
            v.forEach(x -> xs.add(f.decimal() ? number(x.asDouble()) : x.asText()));
            return xs.isEmpty() ? null : String.join(f.commaList() ? "," : " ", xs);
        }
        if (f.decimal()) {
            return number(v.asDouble());
        }
        return v.asText().isEmpty() ? null : v.asText();
    }

    /** A default as people write it: 0.001 as 1e-3, 0.1 as 0.1. */
    static String number(double v) {
        if (v != 0 && Math.abs(v) < 1e-2 && Double.isFinite(v)) {
            BigDecimal b = BigDecimal.valueOf(v).stripTrailingZeros();
            int exp = b.precision() - b.scale() - 1;
            BigDecimal mant = b.movePointRight(-exp);
            return mant.toPlainString() + "e" + exp;
        }
        return v == 0 ? "0" : Double.toString(v);
    }

    static String kebab(String camel) {
        return camel.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(Locale.ROOT);
    }

    static String snake(String camel) {
        return camel.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toLowerCase(Locale.ROOT);
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        String m = t.getMessage();
        if (t instanceof JsonProcessingException j) {
            m = j.getOriginalMessage();
        }
        return m == null ? t.toString() : m.replace('\n', ' ');
    }
}
