package org.sparklm.io;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.io.compress.CompressionCodec;
import org.apache.hadoop.io.compress.CompressionCodecFactory;

/** Small helpers over the Hadoop FileSystem API: any URI scheme (file, hdfs, s3a, ...). */
public final class HadoopFiles {
    private HadoopFiles() {
    }

    /**
     * Expands input arguments (files, directories, globs) into the data files they name, in sorted order. Files
     * whose name starts with {@code .} or {@code _} (Hadoop's hidden and marker files) are skipped inside directories;
     * a file reached twice is kept once.
     *
     * @throws java.io.FileNotFoundException naming the first argument that matches nothing
     */
    public static List<FileStatus> expandInputs(Configuration conf, List<String> inputs) throws IOException {
        return expandInputsNamed(conf, inputs).stream().map(InputFile::status).toList();
    }

    /** A data file and its input-relative name (see {@link #expandInputsNamed}). */
    public record InputFile(FileStatus status, String name) {
    }

    /**
     * Like {@link #expandInputs}, each file also given a name that does not depend on where the input lives: its path
     * below the directory argument that holds it, or its file name when it was named directly or by a glob. Files
     * reached twice are kept once; names that would repeat get {@code #2}, {@code #3}, ... in input order.
     */
    public static List<InputFile> expandInputsNamed(Configuration conf, List<String> inputs) throws IOException {
        List<InputFile> out = new ArrayList<>();
        java.util.Set<Path> seen = new java.util.HashSet<>();
        java.util.Map<String, Integer> names = new java.util.HashMap<>();
        for (String in : inputs) {
            Path p = new Path(in);
            FileSystem fs = p.getFileSystem(conf);
            FileStatus[] matches = fs.globStatus(p);
            if (matches == null || matches.length == 0) {
                throw new java.io.FileNotFoundException("input path does not exist or matches no file: " + in);
            }
            java.util.Arrays.sort(matches);
            int found = 0;
            for (FileStatus m : matches) {
                List<FileStatus> files = new ArrayList<>();
                if (m.isDirectory()) {
                    RemoteIterator<LocatedFileStatus> it = fs.listFiles(m.getPath(), true);
                    while (it.hasNext()) {
                        LocatedFileStatus f = it.next();
                        if (!hidden(m.getPath(), f.getPath())) {
                            files.add(f);
                        }
                    }
                    files.sort(null);
                } else {
                    files.add(m);
                }
                found += files.size();
                String root = m.isDirectory() ? m.getPath().toUri().getPath() : null;
                for (FileStatus f : files) {
                    if (!seen.add(f.getPath())) {
                        continue;
                    }
                    String path = f.getPath().toUri().getPath();
                    String name = root == null ? f.getPath().getName()
                        : path.substring(root.length()).replaceFirst("^/+", "");
                    int k = names.merge(name, 1, Integer::sum);
                    out.add(new InputFile(f, k == 1 ? name : name + "#" + k));
                }
            }
            if (found == 0) {
                throw new java.io.FileNotFoundException("input directory holds no file: " + in);
            }
        }
        return out;
    }

    /**
     * The 1-based line numbers of byte offsets (of the decompressed content) in a file, counting line ends as Hadoop's
     * line reader does ({@code \n}, {@code \r\n} or a lone {@code \r}). Reads the file up to the largest offset.
     */
    public static long[] lineNumbers(Configuration conf, String uri, long[] offsets) throws IOException {
        long[] sorted = offsets.clone();
        java.util.Arrays.sort(sorted);
        java.util.Map<Long, Long> lineOf = new java.util.HashMap<>();
        try (InputStream in = new java.io.BufferedInputStream(open(conf, uri), 1 << 16)) {
            long pos = 0;
            long line = 1;
            int i = 0;
            boolean afterCr = false;
            while (i < sorted.length) {
                if (pos == sorted[i]) {
                    lineOf.put(sorted[i++], line);
                    continue;
                }
                int c = in.read();
                if (c < 0) {
                    break;
                }
                pos++;
                if (c == '\n') {
                    if (!afterCr) {
                        line++;
                    }
                    afterCr = false;
                } else if (c == '\r') {
                    line++;
                    afterCr = true;
                } else {
                    afterCr = false;
                }
            }
        }
        long[] out = new long[offsets.length];
        for (int j = 0; j < offsets.length; j++) {
            out[j] = lineOf.getOrDefault(offsets[j], -1L);
        }
        return out;
    }

    private static boolean hidden(Path root, Path file) {
        for (Path p = file; p != null && !p.equals(root); p = p.getParent()) {
            String n = p.getName();
            if (n.startsWith(".") || n.startsWith("_")) {
                return true;
            }
        }
        return false;
    }

    /** Opens a file for reading, decompressing it when its suffix names a codec (.gz, .bz2, ...). */
    public static InputStream open(Configuration conf, String uri) throws IOException {
        Path p = new Path(uri);
        FileSystem fs = p.getFileSystem(conf);
        InputStream in = fs.open(p);
        CompressionCodec codec = new CompressionCodecFactory(conf).getCodec(p);
        return codec == null ? in : codec.createInputStream(in);
    }

    /**
     * The file system to write {@code p} with: on the local file system its raw form, so that no hidden {@code .crc}
     * checksum files are written next to our outputs (readers of our formats check sizes and sha256 instead).
     */
    public static FileSystem forWriting(Configuration conf, Path p) throws IOException {
        FileSystem fs = p.getFileSystem(conf);
        return fs instanceof org.apache.hadoop.fs.LocalFileSystem local ? local.getRawFileSystem() : fs;
    }

    /** Whether a path names a file (not a directory) on its file system. */
    public static boolean isFile(Configuration conf, String uri) throws IOException {
        Path p;
        try {
            p = new Path(uri);
        } catch (IllegalArgumentException e) {
            return false;
        }
        try {
            return p.getFileSystem(conf).getFileStatus(p).isFile();
        } catch (java.io.FileNotFoundException e) {
            return false;
        }
    }

    /** Whether a path exists. */
    public static boolean exists(Configuration conf, String uri) throws IOException {
        Path p = new Path(uri);
        return p.getFileSystem(conf).exists(p);
    }
}
