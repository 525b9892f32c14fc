package tsmigrate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import tsmigrate.db.Pg;

/** serve with a real inbox: a good job ends in done/ with its report, a broken one in failed/ with its reason. */
class ServeIT {
    @TempDir
    Path work;

    private static void waitFor(Path p) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 180_000;
        while (!Files.exists(p) && System.currentTimeMillis() < deadline) Thread.sleep(100);
        assertTrue(Files.exists(p), "expected " + p);
    }

    private static Process serve(Path inbox, Path log, String... more) throws java.io.IOException {
        String jar = System.getProperty("tsmigrate.jar", "target/tsmigrate.jar");
        List<String> cmd = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", jar,
                "serve", "--inbox", inbox.toString()));
        cmd.addAll(List.of(more));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    }

    /**
     * A job in flight when serve stops runs again when serve starts: stopped (SIGTERM), its file goes back into the
     * inbox, not to failed/; killed (SIGKILL), it is left in .processing/, and the next serve puts it back.
     */
    @Test
    void aJobInFlightWhenServeStopsOrDiesRunsAgain() throws Exception {
        String[] dbs = Clusters.newPair("serve_stop");
        Clusters.runSql(Clusters.source(), dbs[0], """
                CREATE TABLE m (time timestamptz NOT NULL, v int);
                INSERT INTO m SELECT timestamptz '2025-01-01' + i * interval '1 hour', i FROM generate_series(0, 24 * 12 - 1) i;
                CREATE INDEX ON m (time);
                """);
        Path inbox = work.resolve("inbox");
        Path wd = work.resolve("wd");
        String job = "source: " + Clusters.source().uri(dbs[0]) + "\ntarget: " + Clusters.target().uri(dbs[1])
                + "\nworkDir: " + wd + "\nchunkInterval: 1 day\nworkers: 2\n";
        assertEquals(0, Cli.run("migrate", "--source", Clusters.source().uri(dbs[0]), "--target", Clusters.target().uri(dbs[1]),
                "--work-dir", wd.toString(), "--steps", "preflight,pre-data").exit());
        SlowLoads.slowDown(dbs[1]); // 12 chunks of a second each, 2 at a time
        Path log = work.resolve("serve.log");

        List<Process> started = new java.util.ArrayList<>();
        try {
            Process first = serve(inbox, log);
            started.add(first);
            waitFor(inbox.resolve("done"));
            Files.writeString(inbox.resolve("j.yaml"), job);
            SlowLoads.awaitClaim(dbs[1], first::isAlive, () -> "serve exited " + first.exitValue());
            first.destroy(); // SIGTERM
            assertTrue(first.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, first.exitValue(), "a serve stopped by SIGTERM, its job put back");
            assertTrue(Files.exists(inbox.resolve("j.yaml")), "back in the inbox:\n" + Files.readString(log));
            assertFalse(Files.exists(inbox.resolve("failed/j.yaml")) || Files.exists(inbox.resolve("failed/j.error.txt")));

            Process second = serve(inbox, log);
            started.add(second);
            waitFor(inbox.resolve(".processing/j.yaml"));
            SlowLoads.awaitClaim(dbs[1], second::isAlive, () -> "serve exited " + second.exitValue());
            second.destroyForcibly(); // SIGKILL
            assertTrue(second.waitFor(60, TimeUnit.SECONDS));
            assertTrue(Files.exists(inbox.resolve(".processing/j.yaml")));

            started.add(serve(inbox, log));
            waitFor(inbox.resolve("done/j.yaml"));
            try (Connection s = Clusters.source().connect(dbs[0]); Connection t = Clusters.target().connect(dbs[1])) {
                assertEquals(DbCompare.allRows(s), DbCompare.allRows(t));
            }
            assertTrue(Files.readString(log).contains("job j.yaml was running when serve last stopped"), Files.readString(log));
        } finally {
            // none outlives the test, whatever failed
            for (Process p : started) {
                p.destroy();
                if (!p.waitFor(30, TimeUnit.SECONDS)) p.destroyForcibly();
            }
        }
    }

    @Test
    void inboxRunsJobsToDoneAndFailed() throws Exception {
        String[] dbs = Clusters.newPair("serve");
        Clusters.runSql(Clusters.source(), dbs[0], """
                CREATE TABLE m (time timestamptz NOT NULL, v int);
                INSERT INTO m SELECT timestamptz '2025-01-01' + i * interval '1 minute', i FROM generate_series(1, 10000) i;
                CREATE INDEX ON m (time);
                """);
        Path inbox = work.resolve("inbox");
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path log = work.resolve("serve.log");
        Process serve = serve(inbox, log, "--port", String.valueOf(port), "--concurrent-jobs", "2");
        try {
            waitFor(inbox.resolve("done"));
            String good = "source: " + Clusters.source().uri(dbs[0]) + "\ntarget: " + Clusters.target().uri(dbs[1])
                    + "\nworkDir: " + work.resolve("wd") + "\nchunkInterval: 1 day\n";
            // Written slowly, in two parts: the read lock must wait for the whole file.
            try (OutputStream out = Files.newOutputStream(inbox.resolve("good.yaml"))) {
                out.write(good.substring(0, 20).getBytes(StandardCharsets.UTF_8));
                out.flush();
                Thread.sleep(700);
                out.write(good.substring(20).getBytes(StandardCharsets.UTF_8));
            }
            Files.writeString(inbox.resolve("broken.yaml"), "source: postgresql://u:secretpw@127.0.0.1:1/x\ntarget: " + Clusters.target().uri("postgres")
                    + "\nworkDir: " + work.resolve("wd2") + "\nchunk_interval: 1 day\n");

            Files.writeString(inbox.resolve("empty.yaml"), ""); // sat in the inbox for good: the read lock never took an empty file
            waitFor(inbox.resolve("failed/empty.error.txt"));
            String empty = Files.readString(inbox.resolve("failed/empty.error.txt"));
            assertTrue(empty.contains("source"), empty);
            waitFor(inbox.resolve("failed/broken.error.txt"));
            waitFor(inbox.resolve("failed/broken.yaml"));
            String why = Files.readString(inbox.resolve("failed/broken.error.txt"));
            assertTrue(why.contains("unknown keys: chunk_interval"), why);
            assertFalse(why.contains("secretpw"), why);

            waitFor(inbox.resolve("done/good.yaml"));
            assertTrue(Files.exists(inbox.resolve("done/good.summary.txt")));
            try (Connection s = Clusters.source().connect(dbs[0]); Connection t = Clusters.target().connect(dbs[1])) {
                assertEquals(DbCompare.allRows(s), DbCompare.allRows(t));
            }

            HttpClient http = HttpClient.newHttpClient();
            String health = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/observe/health")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            assertTrue(health.contains("UP"), health);
            String metrics = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/observe/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            assertTrue(metrics.contains("tsmigrate_rows_loaded_total{job=\"good\",table=\"public.m\"} 10000.0"), metrics);
            // on loopback only, unless --host says otherwise: the metrics name the jobs and the tables
            String outside = nonLoopbackAddress();
            if (outside != null) {
                assertThrows(java.net.ConnectException.class, () -> new java.net.Socket(outside, port).close(),
                        "the management port answers on " + outside);
            }

            // The same job dropped again resumes, finds nothing to do, and copies nothing twice.
            Files.delete(inbox.resolve("done/good.yaml"));
            Files.writeString(inbox.resolve("good.yaml"), good);
            waitFor(inbox.resolve("done/good.yaml"));
            try (Connection t = Clusters.target().connect(dbs[1])) {
                assertEquals("10000", Pg.queryString(t, "SELECT count(*) FROM m"));
            }
            String all = Files.readString(log);
            assertFalse(all.contains("secretpw"));
            assertFalse(all.contains("\tat "), "no stack traces in the log:\n" + all);
            assertTrue(List.of(Files.list(inbox.resolve(".processing")).toArray()).isEmpty());
            serve.destroy(); // SIGTERM to a serve with nothing to do: a clean stop
            assertTrue(serve.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, serve.exitValue(), "an idle serve stopped by SIGTERM");
        } finally {
            serve.destroy();
            serve.waitFor(30, TimeUnit.SECONDS);
        }
    }

    /**
     * --concurrent-jobs is an upper bound: with 1, the second of two jobs dropped together starts after the first
     * ends. (Camel's thread pool with no queue ran the job it could not take on the inbox's own thread: one more.)
     */
    @Test
    void concurrentJobsIsAnUpperBound() throws Exception {
        Path inbox = work.resolve("inbox");
        Files.createDirectories(inbox);
        Path stage = Files.createDirectories(work.resolve("stage"));
        for (String job : List.of("one", "two")) {
            String[] dbs = Clusters.newPair("serve_" + job);
            Clusters.runSql(Clusters.source(), dbs[0], """
                    CREATE TABLE m (time timestamptz NOT NULL, v int);
                    INSERT INTO m SELECT timestamptz '2025-01-01' + i * interval '1 hour', i FROM generate_series(0, 24 * 3 - 1) i;
                    CREATE INDEX ON m (time);
                    """);
            assertEquals(0, Cli.run("migrate", "--source", Clusters.source().uri(dbs[0]), "--target", Clusters.target().uri(dbs[1]),
                    "--work-dir", work.resolve("wd-" + job).toString(), "--steps", "preflight,pre-data").exit());
            SlowLoads.slowDown(dbs[1]); // 3 chunks of a second each, one at a time
            Files.writeString(stage.resolve(job + ".yaml"), "source: " + Clusters.source().uri(dbs[0]) + "\ntarget: " + Clusters.target().uri(dbs[1])
                    + "\nworkDir: " + work.resolve("wd-" + job) + "\nchunkInterval: 1 day\nworkers: 1\n");
        }
        Path log = work.resolve("serve.log");
        Process serve = serve(inbox, log, "--concurrent-jobs", "1");
        try {
            waitFor(inbox.resolve("done"));
            Files.move(stage.resolve("one.yaml"), inbox.resolve("one.yaml"));
            Files.move(stage.resolve("two.yaml"), inbox.resolve("two.yaml"));
            waitFor(inbox.resolve("done/one.yaml"));
            waitFor(inbox.resolve("done/two.yaml"));
            List<String> lines = Files.readAllLines(log);
            int firstDone = -1;
            int secondStarted = -1;
            for (int i = 0; i < lines.size(); i++) {
                String l = lines.get(i);
                if (firstDone < 0 && l.matches(".*job (one|two): done.*")) firstDone = i;
                if (l.matches(".*job (one|two): started.*")) secondStarted = i; // the last start
            }
            assertTrue(firstDone >= 0 && firstDone < secondStarted, "one job at a time:\n" + String.join("\n", lines));
        } finally {
            serve.destroy();
            serve.waitFor(30, TimeUnit.SECONDS);
        }
    }

    /** An IPv4 address of this machine other than loopback, or null. */
    private static String nonLoopbackAddress() throws java.net.SocketException {
        for (java.net.NetworkInterface ni : java.util.Collections.list(java.net.NetworkInterface.getNetworkInterfaces())) {
            if (!ni.isUp() || ni.isLoopback()) continue;
            for (java.net.InetAddress a : java.util.Collections.list(ni.getInetAddresses())) {
                if (a instanceof java.net.Inet4Address) return a.getHostAddress();
            }
        }
        return null;
    }
}
