package tsmigrate.verify;

import java.io.IOException;
import java.io.OutputStream;
import java.sql.Connection;
import java.sql.SQLException;

import org.postgresql.PGConnection;
import org.postgresql.copy.CopyOut;

/**
 * A chunk's fingerprint: its row count and the sum (mod 2^64) of a 64-bit hash of each row as COPY sends it,
 * so row order does not matter. Taken in the JVM from the COPY stream itself: on the source while the
 * export reads the rows anyway, on the target by reading the chunk back in the same format. The text form,
 * {@code rows/sum/format}, is what the state store keeps; both sides must be read in that format.
 *
 * PostgreSQL sends one CopyData message per row. In binary, the first message also carries the file header,
 * which is skipped, and the last one is the trailer (-1), which is not a row.
 */
public final class Fingerprint {
    private static final byte[] BINARY_SIGNATURE = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', (byte) 0xFF, '\r', '\n', 0};

    private final String format;
    private final boolean binary;
    private boolean first = true;
    private long rows;
    private long sum;
    private long bytes;

    public Fingerprint(String format) {
        this.format = format;
        this.binary = format.equals("binary");
    }

    /** Adds one CopyData message. */
    public void add(byte[] msg) {
        bytes += msg.length;
        int off = 0;
        if (binary) {
            if (first && startsWithSignature(msg)) {
                int extLen = ((msg[15] & 0xFF) << 24) | ((msg[16] & 0xFF) << 16) | ((msg[17] & 0xFF) << 8) | (msg[18] & 0xFF);
                off = 19 + extLen;
            }
            if (msg.length - off == 2 && msg[off] == (byte) 0xFF && msg[off + 1] == (byte) 0xFF) return; // the trailer
        }
        first = false;
        if (msg.length - off <= 0) return; // a header on its own
        rows++;
        sum += RowHash.xxh64(msg, off, msg.length - off);
    }

    private static boolean startsWithSignature(byte[] msg) {
        if (msg.length < 19) return false;
        for (int i = 0; i < BINARY_SIGNATURE.length; i++) if (msg[i] != BINARY_SIGNATURE[i]) return false;
        return true;
    }

    /** Bytes of all the messages, as COPY sent them. */
    public long bytes() {
        return bytes;
    }

    public long rows() {
        return rows;
    }

    @Override
    public String toString() {
        return rows + "/" + Long.toUnsignedString(sum) + "/" + format;
    }

    /** The format a stored fingerprint was taken in, or null for a fingerprint of an older kind. */
    public static String formatOf(String stored) {
        if (stored == null) return null;
        String[] p = stored.split("/");
        return p.length == 3 && (p[2].equals("csv") || p[2].equals("binary")) ? p[2] : null;
    }

    /** "N rows (hash sum S)" for a message. */
    public static String describe(String stored) {
        String[] p = stored.split("/");
        return p[0] + " rows (hash sum " + (p.length > 1 ? p[1] : "?") + ")";
    }

    /**
     * Runs a COPY ... TO STDOUT, hashing each row and, when {@code out} is given, writing the bytes there.
     * Returns the fingerprint; its row count is the server's.
     */
    public static Fingerprint copyOut(Connection c, String copySql, String format, OutputStream out) throws SQLException, IOException {
        Fingerprint fp = new Fingerprint(format);
        CopyOut cp = c.unwrap(PGConnection.class).getCopyAPI().copyOut(copySql);
        try {
            byte[] buf;
            while ((buf = cp.readFromCopy()) != null) {
                fp.add(buf);
                if (out != null) out.write(buf);
            }
        } finally {
            if (cp.isActive()) {
                try {
                    cp.cancelCopy(); // an exception left the COPY running: end it, so the connection stays usable
                } catch (SQLException | RuntimeException ignored) {
                    // the connection is broken (the driver may then throw unchecked exceptions too); the caller's
                    // exception says why, and the caller drops it
                }
            }
        }
        if (cp.getHandledRowCount() != fp.rows) {
            throw new SQLException("COPY sent " + cp.getHandledRowCount() + " rows but " + fp.rows + " row messages were seen", "XX000");
        }
        return fp;
    }
}
