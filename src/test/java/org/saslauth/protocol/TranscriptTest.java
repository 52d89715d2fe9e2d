package org.saslauth.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Golden transcripts ({@link Transcript}) against the spawn loop: the input on stdin, the
 * replies on stdout, then the exit status. {@code daemon/DaemonTranscriptTest} runs the same
 * transcripts through the daemon's connection layer.
 */
class TranscriptTest {

    static Stream<Path> transcripts() throws IOException {
        return Transcript.all();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("transcripts")
    @Timeout(10)
    void transcript(Path file) throws Exception {
        Transcript t = Transcript.load(file);
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        int status = Inline.server(t.settings()).serve(new ByteArrayInputStream(t.input()), output);
        t.check(output.toByteArray());
        assertEquals(t.status(), status, "exit status of " + file.getFileName());
    }
}
