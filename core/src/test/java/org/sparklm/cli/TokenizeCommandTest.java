package org.sparklm.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparklm.tokenizer.SpecialTokens;
import org.sparklm.tokenizer.bpe.BpeMode;
import org.sparklm.tokenizer.bpe.BpeTokenizer;
import org.sparklm.tokenizer.bpe.BpeTrainer;
import org.sparklm.tokenizer.bpe.TokenizerFiles;
import org.sparklm.UsageException;

class TokenizeCommandTest {
    @TempDir
    Path tmp;

    private BpeTokenizer trained() {
        BpeTrainer t = new BpeTrainer(new BpeTrainer.Config(BpeMode.BYTE, 107 + 256 + 60, 1, SpecialTokens.DEFAULT));
        for (String w : List.of("the", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog")) {
            t.addWord(w, 5);
        }
        BpeTokenizer tok = new BpeTokenizer(t.train().model());
        TokenizerFiles.save(tok.model(), tmp.resolve("tok"));
        return tok;
    }

    private String run(String input, String... args) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = TokenizeCommand.run(args, new ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8)), out);
        assertEquals(0, code);
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void encodesOneLinePerInputLineAndDecodesBack() throws Exception {
        BpeTokenizer tok = trained();
        String dir = tmp.resolve("tok").toString();
        String text = "the quick brown fox\n\nhéllo wörld 👍\nthe lazy dog[EOS]\n";
        String ids = run(text, "--tokenizer", dir);
        List<String> lines = ids.lines().toList();
        assertEquals(4, lines.size());
        assertEquals("", lines.get(1));
        int[] first = Arrays.stream(lines.get(0).split(" ")).mapToInt(Integer::parseInt).toArray();
        assertArrayEquals(tok.encode("the quick brown fox"), first);
        assertEquals(text, run(ids, "--tokenizer", dir, "--decode"));
        // with --special, [EOS] is one id (3)
        String special = run("dog[EOS]\n", "--tokenizer", dir, "--special");
        assertTrue(special.strip().endsWith(" 3"), special);
        assertEquals("dog\n", run(special, "--tokenizer", dir, "--decode"));
        assertEquals("dog[EOS]\n", run(special, "--tokenizer", dir, "--decode", "--special"));
    }

    @Test
    void rejectsMissingTokenizerAndBadIds() throws Exception {
        trained();
        UsageException e = assertThrows(UsageException.class,
            () -> run("x\n", "--tokenizer", tmp.resolve("absent").toString()));
        assertTrue(e.getMessage().contains("no tokenizer"), e.getMessage());
        UsageException bad = assertThrows(UsageException.class,
            () -> run("1 2 x\n", "--tokenizer", tmp.resolve("tok").toString(), "--decode"));
        assertTrue(bad.getMessage().contains("line 1"), bad.getMessage());
    }
}
