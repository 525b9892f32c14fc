package tsmigrate.run;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.jar.JarFile;
import java.util.stream.Stream;

/**
 * The route files inside the jar, named one by one. A wildcard like {@code classpath:routes/*.yaml} makes
 * Camel scan the whole 40 MB jar, twice (routes and route configurations): about 0.8 s of every start.
 */
public final class BundledRoutes {
    private BundledRoutes() {
    }

    /** {@code classpath:<folder>/a.yaml,classpath:<folder>/b.yaml,...}: the .yaml files directly in the folder. */
    public static String pattern(String folder) {
        List<String> names = list(folder);
        if (names.isEmpty()) return "classpath:" + folder + "/*.yaml";
        StringBuilder sb = new StringBuilder();
        for (String n : names) {
            if (sb.length() > 0) sb.append(',');
            sb.append("classpath:").append(folder).append('/').append(n);
        }
        return sb.toString();
    }

    /** The file names, sorted; empty when the folder is not on the class path. */
    static List<String> list(String folder) {
        URL url = BundledRoutes.class.getClassLoader().getResource(folder + "/");
        if (url == null) return List.of();
        List<String> names = new ArrayList<>();
        try {
            if ("jar".equals(url.getProtocol())) {
                JarURLConnection conn = (JarURLConnection) url.openConnection();
                conn.setUseCaches(false);
                try (JarFile jar = conn.getJarFile()) {
                    String prefix = folder + "/";
                    jar.stream().map(e -> e.getName())
                            .filter(n -> n.startsWith(prefix) && n.endsWith(".yaml") && n.indexOf('/', prefix.length()) < 0)
                            .forEach(n -> names.add(n.substring(prefix.length())));
                }
            } else if ("file".equals(url.getProtocol())) {
                try (Stream<Path> s = Files.list(Path.of(url.toURI()))) {
                    s.filter(p -> Files.isRegularFile(p) && p.getFileName().toString().endsWith(".yaml"))
                            .forEach(p -> names.add(p.getFileName().toString()));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        Collections.sort(names);
        return names;
    }
}
