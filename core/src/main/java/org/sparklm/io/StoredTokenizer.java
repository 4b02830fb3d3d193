package org.sparklm.io;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.sparklm.UsageException;
import org.sparklm.tokenizer.bpe.BpeModel;
import org.sparklm.tokenizer.bpe.TokenizerFiles;

/**
 * A tokenizer read from a bpe-train output directory (or its tokenizer.json) on any Hadoop FileSystem: the file's
 * bytes (to broadcast or store as they are), their sha256 (manifests and checkpoints name the tokenizer by it) and the
 * parsed model. The one loader of every command; a missing or invalid tokenizer is a {@link UsageException} naming
 * the path, without a command prefix (the entry point adds it).
 */
public record StoredTokenizer(byte[] bytes, String sha256, BpeModel model) {

    public static StoredTokenizer read(Configuration conf, String dirOrFile) throws IOException {
        Path p = new Path(dirOrFile);
        FileSystem fs = p.getFileSystem(conf);
        if (!fs.exists(p)) {
            throw new UsageException("no tokenizer at " + dirOrFile + ": the directory does not exist");
        }
        Path f = fs.getFileStatus(p).isDirectory() ? new Path(p, TokenizerFiles.TOKENIZER_JSON) : p;
        if (!fs.exists(f)) {
            throw new UsageException("no tokenizer at " + dirOrFile + ": it holds no " + TokenizerFiles.TOKENIZER_JSON
                + " (make one with bpe-train)");
        }
        byte[] bytes;
        try (InputStream in = fs.open(f)) {
            bytes = in.readNBytes(1 << 30);
        }
        BpeModel model;
        try {
            model = TokenizerFiles.readTokenizerJson(new ByteArrayInputStream(bytes));
        } catch (IOException | RuntimeException e) {
            throw new UsageException("invalid tokenizer " + f + ": " + e.getMessage());
        }
        return new StoredTokenizer(bytes, Sha256.of(bytes), model);
    }
}
