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
     * whose name starts with {@code .} or {@code _} (Hadoop's hidden and marker files) are skipped inside directories.
     *
     * @throws java.io.FileNotFoundException naming the first argument that matches nothing
     */
    public static List<FileStatus> expandInputs(Configuration conf, List<String> inputs) throws IOException {
        List<FileStatus> out = new ArrayList<>();
        for (String in : inputs) {
            Path p = new Path(in);
            FileSystem fs = p.getFileSystem(conf);
            FileStatus[] matches = fs.globStatus(p);
            if (matches == null || matches.length == 0) {
                throw new java.io.FileNotFoundException("input path does not exist or matches no file: " + in);
            }
            java.util.Arrays.sort(matches);
            int before = out.size();
            for (FileStatus m : matches) {
                if (m.isDirectory()) {
                    List<FileStatus> files = new ArrayList<>();
                    RemoteIterator<LocatedFileStatus> it = fs.listFiles(m.getPath(), true);
                    while (it.hasNext()) {
                        LocatedFileStatus f = it.next();
                        if (!hidden(m.getPath(), f.getPath())) {
                            files.add(f);
                        }
                    }
                    files.sort(null);
                    out.addAll(files);
                } else {
                    out.add(m);
                }
            }
            if (out.size() == before) {
                throw new java.io.FileNotFoundException("input directory holds no file: " + in);
            }
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

    /** Whether a path exists. */
    public static boolean exists(Configuration conf, String uri) throws IOException {
        Path p = new Path(uri);
        return p.getFileSystem(conf).exists(p);
    }
}
