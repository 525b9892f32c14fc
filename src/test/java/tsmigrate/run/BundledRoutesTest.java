package tsmigrate.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/** The routes packed with the build are named one by one: every step file, and only the folder's own. */
class BundledRoutesTest {
    @Test
    void namesEveryRouteFileOfTheFolder() throws IOException {
        List<String> onDisk;
        try (Stream<Path> s = Files.list(Path.of("routes"))) {
            onDisk = s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".yaml")).sorted().toList();
        }
        assertEquals(onDisk, BundledRoutes.list("routes"));
        String pattern = BundledRoutes.pattern("routes");
        assertTrue(pattern.startsWith("classpath:routes/00-migrate.yaml,"), pattern);
        assertFalse(pattern.contains("*") || pattern.contains("inbox.yaml"), pattern);
        assertEquals("classpath:routes/serve/inbox.yaml", BundledRoutes.pattern("routes/serve"));
    }

    @Test
    void aMissingFolderFallsBackToTheWildcard() {
        assertEquals("classpath:nowhere/*.yaml", BundledRoutes.pattern("nowhere"));
    }
}
