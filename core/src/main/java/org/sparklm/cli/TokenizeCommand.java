package org.sparklm.cli;

import org.sparklm.UsageException;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.sparklm.tokenizer.bpe.BpeModel;
import org.sparklm.tokenizer.bpe.BpeTokenizer;

/**
 * {@code tokenize --tokenizer DIR [--decode] [--special]}: no Spark. Reads standard input line by line and writes one
 * line per input line: the ids separated by single spaces, or with {@code --decode} the text of such id lines.
 */
public final class TokenizeCommand {
    private static final int BATCH = 4096;

    private TokenizeCommand() {
    }

    public static Options options() {
        return new Options("tokenize",
            "Encodes standard input line by line with a trained tokenizer (ids separated by spaces, one line per"
                + " input line), or decodes id lines with --decode. Runs in a plain JVM, without Spark.")
            .required("tokenizer", "DIR", "directory holding tokenizer.json (any Hadoop FileSystem URI), or the file")
            .flag("decode", "decode lines of ids back to text")
            .flag("special", "recognise special tokens such as [EOS] in the input text (encode) / keep them (decode)");
    }

    /** Runs the command; returns the exit code. */
    public static int run(String[] args, InputStream stdin, OutputStream stdout) throws IOException {
        Options opts = options();
        Options.Parsed p = opts.parse(args);
        if (p.help()) {
            stdout.write(opts.help().getBytes(StandardCharsets.UTF_8));
            stdout.flush();
            return 0;
        }
        BpeTokenizer tok = new BpeTokenizer(load(p.string("tokenizer")));
        boolean special = p.flag("special");
        BufferedReader in = new BufferedReader(new InputStreamReader(stdin, StandardCharsets.UTF_8), 1 << 16);
        Writer out = new BufferedWriter(new OutputStreamWriter(stdout, StandardCharsets.UTF_8), 1 << 16);
        List<String> batch = new ArrayList<>(BATCH);
        long lineNo = 0;
        String line;
        while ((line = in.readLine()) != null) {
            lineNo++;
            if (p.flag("decode")) {
                out.write(tok.decode(parseIds(line, lineNo), !special));
                out.write('\n');
            } else {
                batch.add(line);
                if (batch.size() == BATCH) {
                    writeIds(tok.encodeBatch(batch, special), out);
                    batch.clear();
                }
            }
        }
        writeIds(tok.encodeBatch(batch, special), out);
        out.flush();
        return 0;
    }

    /** Loads a tokenizer directory (or tokenizer.json file) from any Hadoop FileSystem. */
    public static BpeModel load(String dir) throws IOException {
        return org.sparklm.io.StoredTokenizer.read(new Configuration(), dir).model();
    }

    private static int[] parseIds(String line, long lineNo) {
        String t = line.trim();
        if (t.isEmpty()) {
            return new int[0];
        }
        String[] parts = t.split("\\s+");
        int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                ids[i] = Integer.parseInt(parts[i]);
            } catch (NumberFormatException e) {
                throw new UsageException("line " + lineNo + ": '" + parts[i] + "' is not a token id");
            }
        }
        return ids;
    }

    private static void writeIds(List<int[]> encoded, Writer out) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int[] ids : encoded) {
            sb.setLength(0);
            for (int i = 0; i < ids.length; i++) {
                if (i > 0) {
                    sb.append(' ');
                }
                sb.append(ids[i]);
            }
            sb.append('\n');
            out.write(sb.toString());
        }
    }
}
