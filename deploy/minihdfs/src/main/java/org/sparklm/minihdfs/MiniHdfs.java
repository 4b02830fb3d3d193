package org.sparklm.minihdfs;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.HdfsConfiguration;
import org.apache.hadoop.hdfs.MiniDFSCluster;

/**
 * A one-machine HDFS in this JVM: one NameNode and one DataNode (Hadoop's {@code MiniDFSCluster}), listening on
 * 127.0.0.1 only, until the JVM receives SIGTERM or SIGINT, which shut both down cleanly.
 *
 * <pre>
 * java -cp 'deploy/minihdfs/target/lib/*:deploy/minihdfs/target/sparklm-minihdfs-VERSION.jar' \
 *   org.sparklm.minihdfs.MiniHdfs --base-dir DIR --uri-file FILE [--conf-dir DIR] [--namenode-port 8020]
 *   [--http-port 0] [--keep]
 * </pre>
 *
 * <p>Started by {@code deploy/bin/hdfs start}. It writes the file system's URI ({@code hdfs://127.0.0.1:PORT}) to
 * {@code --uri-file} only after a file was written, read back and deleted, so the file's existence means "accepting
 * writes"; before it, {@code --conf-dir} receives a client {@code core-site.xml} (fs.defaultFS). The data stays in
 * {@code --base-dir} after a stop; {@code --keep} starts on it instead of formatting a new file system. Port 0 takes
 * a free port; the DataNode's ports are always free ports chosen by the system. Permissions are off (one user, one
 * machine) and replication is 1.
 */
public final class MiniHdfs {
    private MiniHdfs() {
    }

    /** The parsed command line. */
    record Options(Path baseDir, Path uriFile, Path confDir, int nameNodePort, int httpPort, boolean keep) {
        Options {
            if (baseDir == null || uriFile == null) {
                throw new IllegalArgumentException("--base-dir and --uri-file are required");
            }
            if (nameNodePort < 0 || nameNodePort > 65535 || httpPort < 0 || httpPort > 65535) {
                throw new IllegalArgumentException("bad port: namenode " + nameNodePort + ", http " + httpPort);
            }
        }

        static Options parse(String[] args) {
            Path base = null;
            Path uri = null;
            Path confDir = null;
            int port = 8020;
            int http = 0;
            boolean keep = false;
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                switch (a) {
                    case "--base-dir" -> base = Path.of(value(args, ++i, a));
                    case "--uri-file" -> uri = Path.of(value(args, ++i, a));
                    case "--conf-dir" -> confDir = Path.of(value(args, ++i, a));
                    case "--namenode-port" -> port = intValue(value(args, ++i, a), a);
                    case "--http-port" -> http = intValue(value(args, ++i, a), a);
                    case "--keep" -> keep = true;
                    default -> throw new IllegalArgumentException("unknown option '" + a + "' in "
                        + Arrays.toString(args));
                }
            }
            return new Options(base, uri, confDir, port, http, keep);
        }

        private static String value(String[] args, int i, String option) {
            if (i >= args.length) {
                throw new IllegalArgumentException(option + " needs a value");
            }
            return args[i];
        }

        private static int intValue(String s, String option) {
            try {
                return Integer.parseInt(s);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(option + ": not a number: '" + s + "'");
            }
        }
    }

    public static void main(String[] args) throws Exception {
        Options o;
        try {
            o = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("minihdfs: error: " + e.getMessage());
            System.exit(2);
            return;
        }
        try {
            serve(o);
        } catch (Throwable e) {
            // a half-started cluster leaves non-daemon threads behind: leave no JVM that never published its URI
            System.err.println("minihdfs: failed to start: " + e);
            e.printStackTrace();
            Runtime.getRuntime().halt(1);
        }
    }

    /** Starts the cluster, checks a write, publishes the URI, and serves until SIGTERM or SIGINT. */
    static void serve(Options o) throws IOException, InterruptedException {
        Files.createDirectories(o.baseDir());
        Files.deleteIfExists(o.uriFile());
        MiniDFSCluster cluster = start(o);
        // SIGTERM/SIGINT end the wait below and the cluster shuts down on the main thread: inside a JVM shutdown hook,
        // Hadoop's DataNode fails ("Shutdown in progress, cannot remove a shutdownHook") and leaves it half done.
        CountDownLatch stop = new CountDownLatch(1);
        for (String sig : new String[] {"TERM", "INT"}) {
            sun.misc.Signal.handle(new sun.misc.Signal(sig), s -> stop.countDown());
        }
        String uri = "hdfs://127.0.0.1:" + cluster.getNameNodePort();
        checkWrite(cluster.getFileSystem());
        if (o.confDir() != null) {
            writeClientConf(o.confDir(), uri);
        }
        writeAtomically(o.uriFile(), uri + "\n");
        System.err.println("minihdfs: ready at " + uri + " (NameNode web UI http://127.0.0.1:"
            + cluster.getNameNode().getHttpAddress().getPort() + ", data in " + o.baseDir() + ")");
        stop.await();
        System.err.println("minihdfs: shutting down");
        Files.deleteIfExists(o.uriFile());
        cluster.shutdown();
        System.err.println("minihdfs: stopped");
        System.err.flush();
        // halt, not exit: MiniDFSCluster.shutdown() registers its whole base directory for deletion at JVM exit, and
        // the data is kept for a later start with --keep
        Runtime.getRuntime().halt(0);
    }

    private static MiniDFSCluster start(Options o) throws IOException {
        Configuration conf = new HdfsConfiguration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, o.baseDir().toAbsolutePath().toString());
        conf.setBoolean("dfs.permissions.enabled", false);
        conf.setInt("dfs.replication", 1);
        conf.set("dfs.namenode.http-address", "127.0.0.1:" + o.httpPort());
        conf.set("hadoop.tmp.dir", o.baseDir().resolve("tmp").toAbsolutePath().toString());
        return new MiniDFSCluster.Builder(conf)
            .nameNodePort(o.nameNodePort())
            .nameNodeHttpPort(o.httpPort())
            .numDataNodes(1)
            .format(!o.keep())
            .manageNameDfsDirs(true)
            .manageDataDfsDirs(true)
            .waitSafeMode(true)
            .build();
    }

    /**
     * A Hadoop client configuration for this file system, so that the directory can be a {@code HADOOP_CONF_DIR}
     * (Hadoop's shell refuses to run without a core-site.xml): {@code core-site.xml} with {@code fs.defaultFS}, and
     * {@code hdfs-site.xml} with replication 1 (a client's own setting, read after core-site.xml).
     */
    private static void writeClientConf(Path dir, String uri) throws IOException {
        Files.createDirectories(dir);
        writeAtomically(dir.resolve("hdfs-site.xml"), siteXml("dfs.replication", "1"));
        writeAtomically(dir.resolve("core-site.xml"), siteXml("fs.defaultFS", uri));
    }

    private static String siteXml(String key, String value) {
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <!-- written by org.sparklm.minihdfs.MiniHdfs (deploy/bin/hdfs start) -->
            <configuration>
              <property><name>%s</name><value>%s</value></property>
            </configuration>
            """.formatted(key, value);
    }

    private static void writeAtomically(Path file, String text) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** Writes, reads back and deletes a small file: the DataNode has registered and accepts blocks. */
    private static void checkWrite(FileSystem fs) throws IOException {
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path("/.minihdfs-write-check");
        byte[] data = "sparklm minihdfs write check\n".getBytes(StandardCharsets.UTF_8);
        try (OutputStream out = fs.create(p, true)) {
            out.write(data);
        }
        byte[] back;
        try (InputStream in = fs.open(p)) {
            back = in.readAllBytes();
        }
        fs.delete(p, false);
        if (!Arrays.equals(data, back)) {
            throw new IOException("write check failed: read back " + back.length + " bytes, wrote " + data.length);
        }
    }
}
