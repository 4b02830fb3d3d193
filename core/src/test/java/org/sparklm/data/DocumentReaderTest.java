package org.sparklm.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DocumentReaderTest {
    private static final byte[] BOM = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};

    @TempDir
    Path tmp;

    private static String text(DocumentReader r, long position, String record) {
        byte[] b = record.getBytes(StandardCharsets.UTF_8);
        return r.text("f.txt", position, b, 0, b.length);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void lineAndFileRecordsAreTheirTextBlankOnesSkippedAndCounted() {
        for (DocFormat f : List.of(DocFormat.LINE, DocFormat.FILE)) {
            DocumentReader r = new DocumentReader(f, "text");
            assertEquals("  two words ", text(r, 7, "  two words "));
            assertEquals("a\nb\r\n", text(r, 20, "a\nb\r\n")); // line ends inside a record are text
            assertNull(text(r, 30, ""));
            assertNull(text(r, 31, " \t\u3000")); // blank: Java whitespace, ideographic space included
            ReadStats s = r.stats();
            assertEquals(4, s.records);
            assertEquals(2, s.documents);
            assertEquals(2, s.emptyDocuments);
            assertEquals(0, s.malformed);
            assertEquals(12 + 5, s.textBytes);
            assertEquals(12 + 5 + 0 + 5, s.inputBytes);
        }
    }

    @Test
    void aByteOrderMarkIsDroppedAtTheStartOfAFileOnly() {
        for (DocFormat f : DocFormat.values()) {
            DocumentReader r = new DocumentReader(f, "text");
            byte[] rec = concat(BOM, (f == DocFormat.JSONL ? "{\"text\": \"hi\"}" : "hi").getBytes(StandardCharsets.UTF_8));
            assertEquals("hi", r.text("f", 0, rec, 0, rec.length), f.cliName());
            assertEquals(2, r.stats().textBytes, f.cliName());
            if (f != DocFormat.JSONL) { // elsewhere U+FEFF is text
                assertEquals("\uFEFFhi", new DocumentReader(f, "text").text("f", 5, rec, 0, rec.length), f.cliName());
            }
        }
    }

    @Test
    void jsonlTakesTheFieldOrPointerAndCountsMalformedLinesWithTheirPositions() {
        DocumentReader r = new DocumentReader(DocFormat.JSONL, "text");
        assertEquals("Second \u00e9 document\nwith a newline.",
            text(r, 0, "{\"text\": \"Second \\u00e9 document\\nwith a newline.\", \"id\": 2}"));
        assertNull(text(r, 60, "not json at all"));
        assertNull(text(r, 76, "{\"title\": \"no text field\"}"));
        assertNull(text(r, 110, "{\"text\": 42}"));
        assertNull(text(r, 130, "[\"text\"]"));
        assertNull(text(r, 140, "   "));
        assertNull(text(r, 150, "{\"text\": \" \\n \"}"));
        ReadStats s = r.stats();
        assertEquals(7, s.records);
        assertEquals(1, s.documents);
        assertEquals(2, s.emptyDocuments);
        assertEquals(4, s.malformed);
        assertEquals("Second \u00e9 document\nwith a newline.".getBytes(StandardCharsets.UTF_8).length, s.textBytes);
        List<String> reasons = new ArrayList<>();
        for (String[] m : s.firstMalformed()) {
            reasons.add(m[1] + " " + m[2]);
        }
        assertEquals(4, reasons.size());
        assertTrue(reasons.get(0).startsWith("60 invalid JSON"), reasons.toString());
        assertEquals("76 no field 'text'", reasons.get(1));
        assertEquals("110 field 'text' is a number, not a string", reasons.get(2));
        assertEquals("130 not a JSON object", reasons.get(3));

        DocumentReader nested = new DocumentReader(DocFormat.JSONL, "/meta/body");
        assertEquals("Nested text.", text(nested, 0, "{\"meta\": {\"body\": \"Nested text.\"}}"));
        assertNull(text(nested, 40, "{\"body\": \"top level\"}"));
    }

    @Test
    void invalidUtf8IsReplacedAndCounted() {
        DocumentReader r = new DocumentReader(DocFormat.LINE, "text");
        byte[] b = {'a', (byte) 0xFF, 'b', (byte) 0xC3};
        assertEquals("a\uFFFDb\uFFFD", r.text("f", 3, b, 0, b.length));
        assertEquals(2, r.stats().invalidUtf8);
    }

    @Test
    void statsMergeKeepTheFirstMalformedInFileOrderAndNameTheProblem() throws Exception {
        ReadStats a = new ReadStats();
        ReadStats b = new ReadStats();
        for (int i = 0; i < 4; i++) {
            a.malformed("b.jsonl", 100 - i, "r" + i);
            b.malformed("a.jsonl", 10 * i, "s" + i);
        }
        a.records = 10;
        b.records = 5;
        ReadStats m = new ReadStats().merge(a).merge(b);
        assertEquals(15, m.records);
        assertEquals(8, m.malformed);
        assertEquals(ReadStats.KEEP_MALFORMED, m.firstMalformed().size());
        assertEquals(List.of("a.jsonl 0", "a.jsonl 10", "a.jsonl 20", "a.jsonl 30", "b.jsonl 97"),
            m.firstMalformed().stream().map(x -> x[0] + " " + x[1]).toList());
        assertEquals("the input holds no document (15 record(s): 0 empty, 8 malformed)", m.problem(false, List.of()));

        // line numbers are found by reading the file; \r\n, \n and a lone \r end lines
        Path f = tmp.resolve("x.jsonl");
        Files.writeString(f, "{\"text\": \"ok\"}\r\nbad\n{\"text\": \"ok\"}\rworse\n");
        ReadStats s = new ReadStats();
        s.documents = 2;
        s.malformed("x.jsonl", 16, "invalid JSON: bad");
        s.malformed("x.jsonl", 35, "invalid JSON: worse");
        List<ReadStats.MalformedRecord> d = s.describeMalformed(new Configuration(),
            Map.of("x.jsonl", f.toUri().toString()));
        assertEquals(List.of(2L, 4L), d.stream().map(ReadStats.MalformedRecord::line).toList());
        assertNull(s.problem(false, d));
        assertEquals("2 malformed JSON line(s) (--strict): " + f.toUri() + ":2: invalid JSON: bad; " + f.toUri()
            + ":4: invalid JSON: worse", s.problem(true, d));
    }
}
