package tsmigrate.db;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.SQLException;

import org.junit.jupiter.api.Test;

import tsmigrate.config.ConnInfo;
import tsmigrate.copy.Faults;
import tsmigrate.run.UserError;

/** A connection that cannot be opened: words for the user, and, in the data step, retried only when a retry can help. */
class CannotConnectTest {
    private static final ConnInfo TARGET = ConnInfo.parse("target", "postgresql://u:secret@127.0.0.1:5432/db");

    private static UserError failed(String sqlState) {
        return Pg.explain("target", TARGET, new SQLException("refused or not", sqlState));
    }

    @Test
    void aServerThatRefusesOrIsStartingUpIsRetried() {
        assertTrue(Faults.isTransient(failed("08001")), "connection refused");
        assertTrue(Faults.isTransient(failed("57P03")), "the database system is starting up");
        assertTrue(failed("08001").getMessage().startsWith("Cannot reach the target"), failed("08001").getMessage());
    }

    @Test
    void aLoginOrDatabaseThatIsWrongIsNot() {
        assertFalse(Faults.isTransient(failed("28P01")));
        assertFalse(Faults.isTransient(failed("3D000")));
    }

    /** PgJDBC refuses a bad URI parameter with 08001 too: that is the URI, not the host or the port (QA). */
    @Test
    void aParameterTheDriverRefusesIsNamedAsSuch() {
        UserError e = Pg.explain("target", TARGET, new SQLException("Invalid sslmode value: bogus", "08001"));
        assertTrue(e.getMessage().contains("Invalid sslmode value: bogus") && e.getMessage().contains("URI"), e.getMessage());
        assertFalse(e.hint().contains("host and port"), e.hint());
        assertFalse(e.getMessage().contains("secret"), e.getMessage());
    }

    @Test
    void otherUserErrorsAreNot() {
        assertFalse(Faults.isTransient(new UserError("The work dir is full", "Free space", new SQLException("x", "08006"))));
    }
}
