package tsmigrate.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Properties;

import org.junit.jupiter.api.Test;

import tsmigrate.run.UserError;

class ConnInfoTest {
    private static final String SECRET = "p@ss:w/rd%";
    private static final String SECRET_ENCODED = "p%40ss%3Aw%2Frd%25";

    private static ConnInfo parse(String uri) {
        return ConnInfo.parse("source", uri);
    }

    private static UserError parseFails(String uri) {
        return assertThrows(UserError.class, () -> parse(uri));
    }

    @Test
    void parsesEveryPartOfAFullUri() {
        ConnInfo c = parse("postgresql://alice:s3cret@db.example.com:6543/shop?sslmode=require&application_name=x");
        assertEquals("alice", c.user());
        assertEquals("s3cret", c.password());
        assertEquals("db.example.com", c.host());
        assertEquals(6543, c.port());
        assertEquals("shop", c.database());
        assertEquals("require", c.params().get("sslmode"));
        assertEquals("x", c.params().get("application_name"));
    }

    @Test
    void acceptsThePostgresScheme() {
        ConnInfo c = parse("postgres://alice@db.example.com:6543/shop");
        assertEquals("db.example.com", c.host());
        assertEquals(6543, c.port());
        assertEquals("shop", c.database());
    }

    @Test
    void portDefaultsTo5432() {
        assertEquals(5432, parse("postgresql://alice@db.example.com/shop").port());
    }

    @Test
    void decodesPercentEncodedUserAndPassword() {
        ConnInfo c = parse("postgresql://al%40ice:" + SECRET_ENCODED + "@db/shop");
        assertEquals("al@ice", c.user());
        assertEquals(SECRET, c.password());
    }

    @Test
    void readsThePasswordFromTheQuery() {
        ConnInfo c = parse("postgresql://alice@db/shop?password=s3cret&sslmode=require");
        assertEquals("s3cret", c.password());
        assertFalse(c.params().containsKey("password"));
        assertEquals("require", c.params().get("sslmode"));
    }

    @Test
    void readsABracketedIpv6HostWithPort() {
        ConnInfo c = parse("postgresql://alice@[::1]:5433/shop");
        assertEquals("::1", c.host());
        assertEquals(5433, c.port());
    }

    @Test
    void readsABracketedIpv6HostWithoutPort() {
        ConnInfo c = parse("postgresql://alice@[::1]/shop");
        assertEquals("::1", c.host());
        assertEquals(5432, c.port());
    }

    @Test
    void databaseDefaultsToTheUser() {
        assertEquals("alice", parse("postgresql://alice@db.example.com").database());
        assertEquals("alice", parse("postgresql://alice@db.example.com/").database());
    }

    @Test
    void noPasswordMeansNone() {
        ConnInfo c = parse("postgresql://alice@db/shop");
        assertFalse(c.hasPassword());
        assertNull(c.password());
    }

    @Test
    void refusesANonNumericPortWithoutShowingThePassword() {
        UserError e = parseFails("postgresql://alice:s3cret@db.example.com:54x2/shop");
        assertTrue(e.getMessage().contains("invalid port"), e.getMessage());
        assertFalse(e.getMessage().contains("s3cret"), e.getMessage());
    }

    @Test
    void refusesAPortOutOfRange() {
        parseFails("postgresql://alice@db.example.com:70000/shop");
        parseFails("postgresql://alice@db.example.com:0/shop");
    }

    @Test
    void refusesANonNumericPortGivenInTheQuery() {
        assertThrows(UserError.class, () -> parse("postgresql://alice@db/shop?port=abc"));
    }

    @Test
    void unencodedSlashInPasswordDoesNotLeakIntoThePortError() {
        UserError e = parseFails("postgresql://alice:topsecret/x@db.example.com:5432/shop");
        assertFalse(e.getMessage().contains("topsecret"), e.getMessage());
    }

    @Test
    void refusesANonUriWithoutShowingThePassword() {
        UserError e = parseFails("host=db user=alice password=s3cret dbname=shop");
        assertFalse(e.getMessage().contains("s3cret"), e.getMessage());
        assertTrue(e.getMessage().contains("password=****"), e.getMessage());
    }

    @Test
    void refusesAKeywordStringWithAQuotedPasswordWithoutShowingIt() {
        UserError e = parseFails("host=db user=alice password='my secret' dbname=shop");
        assertFalse(e.getMessage().contains("secret"), e.getMessage());
    }

    @Test
    void refusesAnotherSchemeWithoutShowingThePassword() {
        UserError e = parseFails("mysql://alice:s3cret@db/shop");
        assertFalse(e.getMessage().contains("s3cret"), e.getMessage());
    }

    /** An unencoded '@' in the password: the host would be the rest of the password and the real host. */
    @Test
    void unencodedAtInThePasswordIsRefusedWithoutShowingAnyOfIt() {
        UserError e = parseFails("postgresql://postgres:S3cr3t@XX@127.0.0.1:56201/src");
        assertFalse(e.getMessage().contains("S3cr3t") || e.getMessage().contains("XX"), e.getMessage());
        assertTrue(e.getMessage().contains("'@'"), e.getMessage());
        assertTrue(e.hint().contains("%40"), e.hint());
    }

    @Test
    void aTypoInTheSchemeDoesNotShowThePassword() {
        UserError e = parseFails("postgresql//postgres:S3cr3tA@127.0.0.1:56201/src");
        assertTrue(e.getMessage().contains("is not a PostgreSQL URI"), e.getMessage());
        assertFalse(e.getMessage().contains("S3cr3tA"), e.getMessage());
        assertTrue(e.getMessage().contains("postgresql://"), "says how it must start: " + e.getMessage());
    }

    @Test
    void unencodedHashInThePasswordIsNamedAndNotShown() {
        UserError e = parseFails("postgresql://postgres:S3c#r3t@127.0.0.1:56201/src");
        assertFalse(e.getMessage().contains("S3c") || e.getMessage().contains("r3t"), e.getMessage());
        assertTrue(e.getMessage().contains("'#'"), e.getMessage());
        assertTrue(e.hint().contains("%23") && e.hint().contains("password:"), e.hint());
    }

    @Test
    void unencodedQuestionMarkOrSlashInThePasswordIsNotShown() {
        for (String uri : List.of("postgresql://postgres:S3c?r3t@127.0.0.1:56201/src", "postgresql://postgres:S3c/r3t@127.0.0.1:56201/src",
                "postgresql://postgres:S3c/r3t@127.0.0.1/src", "postgresql://postgres:S3c%r3t@127.0.0.1/src")) {
            UserError e = parseFails(uri);
            assertFalse(e.getMessage().contains("S3c") || e.getMessage().contains("r3t"), e.getMessage());
            assertFalse(e.hint().contains("S3c") || e.hint().contains("r3t"), e.hint());
        }
    }

    @Test
    void maskLooselyHidesEverythingThatMayBeUserInfo() {
        assertEquals("postgresql//postgres:****@127.0.0.1:56201/src", ConnInfo.maskLoosely("postgresql//postgres:S3cr3tA@127.0.0.1:56201/src"));
        assertEquals("mysql://u:****@h/db", ConnInfo.maskLoosely("mysql://u:pa@ss@h/db"));
        assertFalse(ConnInfo.maskLoosely("postgresql:/u:S3c@r3t@h/db").contains("r3t"));
        assertFalse(ConnInfo.maskLoosely("u:S3c@r3t@h/db").contains("r3t"));
        assertFalse(ConnInfo.maskLoosely("host=h password=S3c@r3t user=u").contains("r3t"));
    }

    @Test
    void refusesABlankConnection() {
        parseFails("  ");
        parseFails(null);
    }

    @Test
    void refusesSeveralHosts() {
        UserError e = parseFails("postgresql://alice@db1:5432,db2:5432/shop");
        assertTrue(e.getMessage().contains("several hosts"), e.getMessage());
    }

    @Test
    void maskedHidesThePasswordAsStars() {
        ConnInfo c = parse("postgresql://alice:" + SECRET_ENCODED + "@db/shop?sslmode=require");
        String m = c.masked();
        assertTrue(m.contains("alice:****@db"), m);
        assertFalse(m.contains(SECRET), m);
        assertFalse(m.contains(SECRET_ENCODED), m);
    }

    @Test
    void toStringHidesThePassword() {
        ConnInfo c = parse("postgresql://alice:s3cret@db/shop");
        assertTrue(c.toString().contains("****"), c.toString());
        assertFalse(c.toString().contains("s3cret"), c.toString());
    }

    @Test
    void maskedShowsNoStarsWithoutPassword() {
        assertFalse(parse("postgresql://alice@db/shop").masked().contains("****"));
    }

    @Test
    void maskedHidesAPasswordGivenInTheQuery() {
        ConnInfo c = parse("postgresql://alice@db/shop?password=s3cret");
        assertFalse(c.masked().contains("s3cret"), c.masked());
        assertTrue(c.masked().contains("****"), c.masked());
    }

    @Test
    void uriWithoutPasswordDropsThePasswordInEitherForm() {
        String fromUserInfo = parse("postgresql://alice:" + SECRET_ENCODED + "@db/shop?sslmode=require").uriWithoutPassword();
        String fromQuery = parse("postgresql://alice@db/shop?password=" + SECRET_ENCODED + "&sslmode=require").uriWithoutPassword();
        for (String u : new String[] {fromUserInfo, fromQuery}) {
            assertFalse(u.contains(SECRET), u);
            assertFalse(u.contains(SECRET_ENCODED), u);
            assertFalse(u.contains("password"), u);
            assertTrue(u.contains("sslmode=require"), u);
        }
    }

    @Test
    void uriWithoutPasswordRoundTrips() {
        ConnInfo c = parse("postgresql://al%40ice:pw@[::1]:5433/my%20db?sslmode=verify-full");
        ConnInfo again = parse(c.uriWithoutPassword());
        assertEquals("al@ice", again.user());
        assertEquals("::1", again.host());
        assertEquals(5433, again.port());
        assertEquals("my db", again.database());
        assertEquals("verify-full", again.params().get("sslmode"));
        assertFalse(again.hasPassword());
    }

    @Test
    void jdbcUrlHasHostPortAndDatabase() {
        assertEquals("jdbc:postgresql://db.example.com:6543/shop",
                parse("postgresql://alice:pw@db.example.com:6543/shop?sslmode=require").jdbcUrl());
    }

    @Test
    void jdbcUrlBracketsIpv6() {
        assertEquals("jdbc:postgresql://[::1]:5433/shop", parse("postgresql://alice@[::1]:5433/shop").jdbcUrl());
    }

    @Test
    void jdbcPropertiesCarryUserPasswordAndSslmode() {
        Properties p = parse("postgresql://alice:" + SECRET_ENCODED + "@db/shop?sslmode=require").jdbcProperties("tsmigrate");
        assertEquals("alice", p.getProperty("user"));
        assertEquals(SECRET, p.getProperty("password"));
        assertEquals("require", p.getProperty("sslmode"));
        assertEquals("tsmigrate", p.getProperty("ApplicationName"));
    }

    @Test
    void jdbcPropertiesMapApplicationNameFromTheUri() {
        Properties p = parse("postgresql://alice@db/shop?application_name=x").jdbcProperties("tsmigrate");
        assertEquals("x", p.getProperty("ApplicationName"));
        assertNull(p.getProperty("application_name"));
    }

    @Test
    void jdbcPropertiesOmitAMissingPassword() {
        assertNull(parse("postgresql://alice@db/shop").jdbcProperties("tsmigrate").getProperty("password"));
    }

    @Test
    void maskLooselyHidesUserInfoPassword() {
        String m = ConnInfo.maskLoosely("mysql://alice:s3cret@db/shop");
        assertEquals("mysql://alice:****@db/shop", m);
    }

    @Test
    void maskLooselyHidesPasswordParameters() {
        assertEquals("host=db password=**** dbname=shop", ConnInfo.maskLoosely("host=db password=s3cret dbname=shop"));
        assertEquals("x://db/shop?PASSWORD=****&sslmode=require", ConnInfo.maskLoosely("x://db/shop?PASSWORD=s3cret&sslmode=require"));
    }

    @Test
    void maskLooselyLeavesStringsWithoutPasswordAlone() {
        assertEquals("host=db user=alice", ConnInfo.maskLoosely("host=db user=alice"));
    }

    /** sslpassword unlocks the client key: a secret too, never shown. */
    @Test
    void sslPasswordIsMasked() {
        ConnInfo c = ConnInfo.parse("source", "postgresql://alice:pw@db/shop?sslmode=verify-full&sslpassword=k3yS3cret&sslkey=/k.pem");
        assertFalse(c.masked().contains("k3yS3cret"), c.masked());
        assertTrue(c.masked().contains("sslpassword=****") && c.masked().contains("sslkey="), c.masked());
    }
}
