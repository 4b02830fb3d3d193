package org.sparklm.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Write aside, then rename: files and directories, replace or refuse, nothing left behind on failure. */
class AtomicCommitTest {
    @TempDir
    Path tmp;

    private FileSystem fs() throws IOException {
        return HadoopFiles.forWriting(new Configuration(), new org.apache.hadoop.fs.Path(tmp.toUri()));
    }

    private org.apache.hadoop.fs.Path p(String name) {
        return new org.apache.hadoop.fs.Path("file://" + tmp.resolve(name));
    }

    private long siblings() throws IOException {
        try (Stream<Path> s = Files.list(tmp)) {
            return s.filter(x -> x.getFileName().toString().startsWith(".")).count();
        }
    }

    @Test
    void writesReplacesAndRefusesFiles() throws IOException {
        FileSystem fs = fs();
        AtomicCommit.writeFile(fs, p("a/m.jsonl"), o -> o.write("one".getBytes(StandardCharsets.UTF_8)), false);
        assertEquals("one", Files.readString(tmp.resolve("a/m.jsonl")));
        AtomicCommit.writeFile(fs, p("a/m.jsonl"), o -> o.write("two".getBytes(StandardCharsets.UTF_8)), true);
        assertEquals("two", Files.readString(tmp.resolve("a/m.jsonl")));
        assertThrows(AtomicOutput.OutputExistsException.class, () -> AtomicCommit.writeFile(fs, p("a/m.jsonl"),
            o -> o.write(1), false));
        assertEquals("two", Files.readString(tmp.resolve("a/m.jsonl")));
        // a failing writer leaves neither the file nor a temporary sibling
        assertThrows(IOException.class, () -> AtomicCommit.writeFile(fs, p("b"), o -> {
            o.write(1);
            throw new IOException("disk full");
        }, true));
        assertFalse(Files.exists(tmp.resolve("b")));
        try (Stream<Path> s = Files.list(tmp.resolve("a"))) {
            assertEquals(1, s.count(), "only m.jsonl: no temporary sibling left");
        }
        assertEquals(0, siblings());
    }

    @Test
    void renamesDirectoriesAndReplacesOnlyWhenAsked() throws IOException {
        FileSystem fs = fs();
        Files.createDirectories(tmp.resolve("out"));
        Files.writeString(tmp.resolve("out/old.txt"), "old");
        org.apache.hadoop.fs.Path temp = AtomicCommit.tempSibling(p("out"));
        fs.mkdirs(temp);
        Files.writeString(Path.of(temp.toUri()).resolve("new.txt"), "new");
        assertThrows(AtomicOutput.OutputExistsException.class, () -> AtomicCommit.rename(fs, temp, p("out"), false));
        assertEquals("old", Files.readString(tmp.resolve("out/old.txt")));
        AtomicCommit.rename(fs, temp, p("out"), true);
        assertEquals("new", Files.readString(tmp.resolve("out/new.txt")));
        assertFalse(Files.exists(tmp.resolve("out/old.txt")), "replaced, not merged");
        assertFalse(Files.exists(tmp.resolve("out/" + temp.getName())), "not moved into the old directory");
        assertEquals(0, siblings(), "neither the temporary nor the replaced directory is left");
    }

    @Test
    void sha256OfBytesStreamsAndFilesAgree() throws IOException {
        assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            Sha256.of("abc".getBytes(StandardCharsets.US_ASCII)));
        Files.writeString(tmp.resolve("abc"), "abc");
        assertEquals(Sha256.of("abc".getBytes(StandardCharsets.US_ASCII)), Sha256.of(fs(), p("abc")));
    }
}
