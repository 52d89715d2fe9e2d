package org.saslauth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code --username-format} and {@code --default-realm} as the command line gives them. */
class StoreOptionsTest {

    @Command
    static final class Holder implements Runnable {
        @Mixin
        StoreOptions store = new StoreOptions();

        @Override
        public void run() {}
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', nullValues = "-", value = {
        "-                                            | Bob   | Bob",
        "--username-format=as-is                      | Bob   | Bob",
        "--username-format=%u                         | Bob   | Bob",
        "--username-format=lowercase                  | Bob   | bob",
        "--username-format=%Lu                        | Bob   | bob",
        "--default-realm=example.org                  | Bob   | Bob@example.org",
        "--username-format=lowercase --default-realm=Example.org | Bob@X.net | bob@x.net",
        "--username-format=lowercase --default-realm=Example.org | Bob | bob@example.org",
    })
    void namesAreFormattedAsConfigured(String args, String sent, String expected) {
        Holder holder = new Holder();
        int status = new CommandLine(holder).execute(args == null ? new String[0] : args.split(" "));
        assertEquals(0, status);
        assertEquals(expected, holder.store.format().apply(sent));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"--username-format=upper", "--username-format=%Uu"})
    void otherFormatsAreRefused(String arg) {
        CommandLine cl = new CommandLine(new Holder());
        cl.setErr(new java.io.PrintWriter(new java.io.StringWriter()));
        assertNotEquals(0, cl.execute(arg));
    }
}
