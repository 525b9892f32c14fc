package tsmigrate.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

class RowHashTest {
    private static long h(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return RowHash.xxh64(b, 0, b.length);
    }

    @Test
    void matchesTheReferenceXxh64() {
        // reference values of XXH64 with seed 0
        assertEquals(0xEF46DB3751D8E999L, h(""));
        assertEquals(0xD24EC4F1A98C6E5BL, h("a"));
        assertEquals(0x44BC2CF5AD770999L, h("abc"));
    }

    @Test
    void everyLengthPathIsUsedAndOffsetsAreHonoured() {
        String s = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!";
        byte[] b = ("xx" + s).getBytes(StandardCharsets.US_ASCII);
        for (int len = 0; len <= s.length(); len++) {
            assertEquals(h(s.substring(0, len)), RowHash.xxh64(b, 2, len), "length " + len);
            if (len > 0) assertNotEquals(h(s.substring(0, len)), h(s.substring(0, len - 1)), "length " + len);
        }
    }

    @Test
    void fingerprintIgnoresOrderAndTheBinaryHeaderAndTrailer() {
        byte[] header = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', (byte) 0xFF, '\r', '\n', 0, 0, 0, 0, 0, 0, 0, 0, 0};
        byte[] r1 = {0, 1, 0, 0, 0, 4, 0, 0, 0, 7};
        byte[] r2 = {0, 1, 0, 0, 0, 4, 0, 0, 0, 9};
        byte[] trailer = {(byte) 0xFF, (byte) 0xFF};
        Fingerprint a = new Fingerprint("binary");
        a.add(concat(header, r1));
        a.add(r2);
        a.add(trailer);
        Fingerprint b = new Fingerprint("binary");
        b.add(header);
        b.add(r2);
        b.add(r1);
        b.add(trailer);
        assertEquals(2, a.rows());
        assertEquals(a.toString(), b.toString());
        Fingerprint c = new Fingerprint("binary");
        c.add(concat(header, r1));
        c.add(r1);
        c.add(trailer);
        assertNotEquals(a.toString(), c.toString());
        assertEquals("binary", Fingerprint.formatOf(a.toString()));
        assertEquals(null, Fingerprint.formatOf("12/345"));
    }

    private static byte[] concat(byte[] x, byte[] y) {
        byte[] out = new byte[x.length + y.length];
        System.arraycopy(x, 0, out, 0, x.length);
        System.arraycopy(y, 0, out, x.length, y.length);
        return out;
    }
}
