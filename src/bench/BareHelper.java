import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * The floor of any Java helper, for the benchmark only: reads the client's two handshake lines,
 * prints a handshake, then accepts every AUTH line without looking at it. Whatever saslauth
 * costs above this is saslauth's own.
 */
public final class BareHelper {

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        in.readLine();
        in.readLine();
        out.print("VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nSPID\t" + ProcessHandle.current().pid()
                + "\nCUID\t1\nCOOKIE\t00000000000000000000000000000000\nDONE\n");
        out.flush();
        String line;
        while ((line = in.readLine()) != null) {
            String[] f = line.split("\t", 3);
            if (f.length > 1 && f[0].equals("AUTH")) {
                out.print("OK\t" + f[1] + "\tuser=bare\n");
                if (!in.ready()) {
                    out.flush();
                }
            }
        }
        out.flush();
    }
}
