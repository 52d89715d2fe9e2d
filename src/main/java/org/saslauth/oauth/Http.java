package org.saslauth.oauth;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.saslauth.Deadline;

/**
 * The few requests made of an issuer: GET a document, POST a form, each within a login's
 * deadline, never following a redirect, its answer at most {@value #MAX_BODY} bytes.
 */
final class Http {

    static final int MAX_BODY = 1 << 20;

    /** Longest any request waits, whatever the deadline: the answer is needed within 10 s. */
    static final Duration MAX_WAIT = Duration.ofSeconds(5);

    private final HttpClient client;

    Http(Optional<Path> caFile) throws IOException {
        HttpClient.Builder b = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(MAX_WAIT);
        if (caFile.isPresent()) {
            b.sslContext(trusting(caFile.get()));
        }
        client = b.build();
    }

    /** An SSL context trusting the PEM certificates of {@code file} only. */
    static SSLContext trusting(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            ks.load(null, null);
            int n = 0;
            for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                ks.setCertificateEntry("ca" + n++, c);
            }
            if (n == 0) {
                throw new IOException(file + " holds no PEM certificate");
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    /** The body of a 200 answer to a GET of {@code uri}. */
    String get(URI uri, Deadline deadline) throws IOException {
        return send(HttpRequest.newBuilder(uri).GET().header("Accept", "application/json"), deadline);
    }

    /** The body of a 200 answer to a POST of {@code form} (already encoded) to {@code uri}. */
    String post(URI uri, String form, Optional<String> authorization, Deadline deadline) throws IOException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri)
                .POST(HttpRequest.BodyPublishers.ofString(form, StandardCharsets.US_ASCII))
                .header("Content-Type", "application/x-www-form-urlencoded").header("Accept", "application/json");
        authorization.ifPresent(a -> b.header("Authorization", a));
        return send(b, deadline);
    }

    private String send(HttpRequest.Builder request, Deadline deadline) throws IOException {
        long left = deadline == Deadline.NONE ? MAX_WAIT.toNanos() : Math.min(deadline.nanosLeft(), MAX_WAIT.toNanos());
        if (left <= 0) {
            throw new IOException("no time left to ask the issuer");
        }
        HttpRequest r = request.timeout(Duration.ofNanos(left)).build();
        HttpResponse<InputStream> response;
        try {
            response = client.send(r, HttpResponse.BodyHandlers.ofInputStream());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } catch (IOException e) {
            throw new IOException(r.uri() + ": " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()), e);
        }
        try (InputStream body = response.body()) {
            byte[] bytes = body.readNBytes(MAX_BODY + 1);
            if (bytes.length > MAX_BODY) {
                throw new IOException(r.uri() + ": answer longer than " + MAX_BODY + " bytes");
            }
            if (response.statusCode() != 200) {
                throw new IOException(r.uri() + ": HTTP " + response.statusCode());
            }
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }
}
