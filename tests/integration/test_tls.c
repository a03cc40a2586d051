/* HTTPS with client certificates, made at test time with the openssl CLI
 * and checked with a real TLS client (curl): the server's certificate
 * verifies against the CA; /fs/... is served over TLS only with a client
 * certificate from --tls-client-ca (plus Basic), refused without one, with
 * one from another CA, and on the plain listener, while /healthz and /api
 * need none; TLS 1.1 is refused (curl really offers it: SECLEVEL=0), 1.2
 * and 1.3 work; SIGHUP re-reads the certificate; --listen off. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "tap.h"
#include "util.h"

static char *pki;
static char *form;

static bool sh(const char *fmt, const char *a)
{
    char cmd[8192];
    snprintf(cmd, sizeof(cmd), fmt, a, a, a, a, a, a, a, a);
    char *out = NULL;
    int rc = h_run(cmd, &out);
    if (rc != 0)
        printf("# %s: %s\n", cmd, out ? out : "");
    free(out);
    return rc == 0;
}

/* A CA, a server certificate for 127.0.0.1 and a client one from it, and a
 * second CA with its own client certificate. */
static bool make_pki(void)
{
    const char *ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "cd %%s && openssl req -x509 %s -keyout ca.key -out ca.pem -days 2 -subj /CN=w3-test-ca 2>&1 && "
             "openssl req -x509 %s -keyout ca2.key -out ca2.pem -days 2 -subj /CN=other-ca 2>&1 && "
             "printf 'subjectAltName=IP:127.0.0.1\\n' > srv.ext && "
             "openssl req -new %s -keyout srv.key -out srv.csr -subj /CN=w3voipd-first 2>&1 && "
             "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 "
             "-extfile srv.ext 2>&1 && "
             "openssl req -new %s -keyout srv2.key -out srv2.csr -subj /CN=w3voipd-second 2>&1 && "
             "openssl x509 -req -in srv2.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv2.pem -days 2 "
             "-extfile srv.ext 2>&1 && "
             "openssl req -new %s -keyout cli.key -out cli.csr -subj /CN=fsnode 2>&1 && "
             "openssl x509 -req -in cli.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out cli.pem -days 2 2>&1 && "
             "openssl req -new %s -keyout cli2.key -out cli2.csr -subj /CN=intruder 2>&1 && "
             "openssl x509 -req -in cli2.csr -CA ca2.pem -CAkey ca2.key -CAcreateserial -out cli2.pem -days 2 2>&1",
             ec, ec, ec, ec, ec, ec);
    return sh(cmd, pki);
}

/* curl's exit code; the HTTP status in *status (0 when none), stderr and
 * body in *out. */
static int curl(const char *opts, const char *url, int *status, char **out)
{
    w3_buf_t cmd = {0};
    w3_buf_printf(&cmd,
                  "cd %s && curl -sS --max-time 10 -o body -w '%%{http_code}' %s '%s' 2>err; rc=$?; echo; "
                  "cat err body; exit $rc",
                  pki, opts, url);
    char *o = NULL;
    int rc = h_run(cmd.data, &o);
    *status = o ? atoi(o) : 0;
    if (out)
        *out = o;
    else
        free(o);
    w3_buf_free(&cmd);
    return rc;
}

static char *url(int port, const char *path, bool tls)
{
    w3_buf_t b = {0};
    w3_buf_printf(&b, "%s://127.0.0.1:%d%s", tls ? "https" : "http", port, path);
    return b.data;
}

static void with_client_ca(void)
{
    w3_buf_t cert = {0}, key = {0}, ca = {0};
    w3_buf_printf(&cert, "%s/srv.pem", pki);
    w3_buf_printf(&key, "%s/srv.key", pki);
    w3_buf_printf(&ca, "%s/ca.pem", pki);
    const char *extra[] = {"--tls-listen", "127.0.0.1:0",     "--tls-cert", cert.data, "--tls-key",
                           key.data,       "--tls-client-ca", ca.data,      NULL};
    h_server_t s;
    if (!ok(h_server_start(&s, NULL, extra) == 0, "server with plain and TLS listeners and a client CA"))
        goto out;
    int tp = h_server_tls_port(&s);
    ok(tp > 0 && tp != s.port, "a TLS port beside the plain one (%d, %d)", tp, s.port);
    char *hz = url(tp, "/healthz", true), *fs = url(tp, "/fs/xml", true);
    char *plain_fs = url(s.port, "/fs/xml", false), *plain_hz = url(s.port, "/healthz", false);
    int st = 0;
    char *o = NULL;

    is_int(curl("--cacert ca.pem", hz, &st, &o), 0, "curl verifies the server's certificate with the CA");
    ok(st == 200 && o && strstr(o, "ok\n"), "/healthz over TLS needs no client certificate (%d)", st);
    free(o);
    is_int(curl("", hz, &st, NULL), 60, "without the CA curl refuses the certificate (exit 60)");

    w3_buf_t fsopts = {0};
    w3_buf_printf(&fsopts, "--cacert ca.pem --cert cli.pem --key cli.key -u fsnode:secret --data-binary @%s", form);
    is_int(curl(fsopts.data, fs, &st, &o), 0, "curl with a client certificate from the CA");
    ok(st == 200 && o && strstr(o, "<document"), "/fs/xml over TLS with the certificate and Basic: 200 (%d)", st);
    free(o);
    w3_buf_t nobasic = {0};
    w3_buf_printf(&nobasic, "--cacert ca.pem --cert cli.pem --key cli.key --data-binary @%s", form);
    curl(nobasic.data, fs, &st, NULL);
    is_int(st, 401, "the certificate alone is not enough: Basic is still needed (401)");

    w3_buf_t nocert = {0};
    w3_buf_printf(&nocert, "--cacert ca.pem -u fsnode:secret --data-binary @%s", form);
    is_int(curl(nocert.data, fs, &st, &o), 0, "the handshake without a client certificate succeeds");
    ok(st == 403 && o && strstr(o, "client_certificate_required"), "/fs/xml without a certificate: 403 (%d)", st);
    free(o);

    w3_buf_t other = {0};
    w3_buf_printf(&other, "--cacert ca.pem --cert cli2.pem --key cli2.key -u fsnode:secret --data-binary @%s", form);
    curl(other.data, fs, &st, NULL);
    is_int(st, 403, "/fs/xml with a certificate from another CA: 403");
    curl("--cacert ca.pem --cert cli2.pem --key cli2.key", hz, &st, NULL);
    is_int(st, 200, "that certificate still reaches /healthz");

    w3_buf_t plainopts = {0};
    w3_buf_printf(&plainopts, "-u fsnode:secret --data-binary @%s", form);
    curl(plainopts.data, plain_fs, &st, NULL);
    is_int(st, 403, "/fs/xml on the plain listener: 403 once a client CA is set");
    curl("", plain_hz, &st, NULL);
    is_int(st, 200, "/healthz on the plain listener alongside: 200");
    char *token = h_token(&s, NULL, NULL);
    w3_buf_t api = {0}, apiurl = {0};
    w3_buf_printf(&api, "--cacert ca.pem -H 'Authorization: Bearer %s'", token);
    w3_buf_printf(&apiurl, "https://127.0.0.1:%d/api/voip/extensions/by-number?sip_domain=tenantA.edvoip.it&ext=100",
                  tp);
    curl(api.data, apiurl.data, &st, NULL);
    is_int(st, 200, "/api over TLS needs no client certificate");

    is_int(curl("--cacert ca.pem --tlsv1.1 --tls-max 1.1 --ciphers DEFAULT:@SECLEVEL=0", hz, &st, &o), 35,
           "TLS 1.1 refused (curl exit 35)");
    ok(o && strstr(o, "alert protocol version"), "by the server's protocol_version alert (curl offered 1.1)");
    if (o && !strstr(o, "alert protocol version"))
        printf("# %s\n", o);
    free(o);
    curl("--cacert ca.pem --tlsv1.2 --tls-max 1.2", hz, &st, NULL);
    is_int(st, 200, "TLS 1.2 works");
    curl("--cacert ca.pem --tlsv1.3", hz, &st, NULL);
    is_int(st, 200, "TLS 1.3 works");

    /* SIGHUP: another certificate in the same files */
    char subj_cmd[1024], *subj = NULL;
    snprintf(subj_cmd, sizeof(subj_cmd),
             "openssl s_client -connect 127.0.0.1:%d -CAfile %s/ca.pem </dev/null 2>/dev/null | "
             "openssl x509 -noout -subject",
             tp, pki);
    h_run(subj_cmd, &subj);
    ok(subj && strstr(subj, "w3voipd-first"), "the first certificate is served");
    free(subj);
    ok(sh("cd %s && cp srv2.pem srv.pem && cp srv2.key srv.key", pki), "certificate files replaced");
    kill(s.pid, SIGHUP);
    subj = NULL;
    for (int i = 0; i < 50; i++) {
        free(subj);
        subj = NULL;
        usleep(100 * 1000);
        h_run(subj_cmd, &subj);
        if (subj && strstr(subj, "w3voipd-second"))
            break;
    }
    ok(subj && strstr(subj, "w3voipd-second"), "after SIGHUP new connections get the new certificate");
    free(subj);
    is_int(curl(fsopts.data, fs, &st, NULL), 0, "and /fs/xml still works with the client certificate");
    is_int(st, 200, "(200)");

    free(token);
    w3_buf_free(&fsopts);
    w3_buf_free(&nobasic);
    w3_buf_free(&nocert);
    w3_buf_free(&other);
    w3_buf_free(&plainopts);
    w3_buf_free(&api);
    w3_buf_free(&apiurl);
    free(hz);
    free(fs);
    free(plain_fs);
    free(plain_hz);
    is_int(h_server_stop(&s), 0, "server exits cleanly");
out:
    w3_buf_free(&cert);
    w3_buf_free(&key);
    w3_buf_free(&ca);
}

static void tls_only(void)
{
    w3_buf_t cert = {0}, key = {0};
    w3_buf_printf(&cert, "%s/srv.pem", pki);
    w3_buf_printf(&key, "%s/srv.key", pki);
    const char *extra[] = {"--listen", "off",       "--tls-listen", "127.0.0.1:0", "--tls-cert",
                           cert.data,  "--tls-key", key.data,       NULL};
    h_server_t s;
    if (ok(h_server_start(&s, NULL, extra) == 0, "server with --listen off and TLS only")) {
        char *hz = url(s.port, "/healthz", true), *plain = url(s.port, "/healthz", false);
        int st = 0;
        curl("--cacert ca.pem", hz, &st, NULL);
        is_int(st, 200, "HTTPS answers on the one port");
        int rc = curl("", plain, &st, NULL);
        ok(rc != 0 && st != 200, "plain HTTP on it gets no answer (curl exit %d)", rc);
        w3_buf_t fsopts = {0};
        w3_buf_printf(&fsopts, "--cacert ca.pem -u fsnode:secret --data-binary @%s", form);
        char *fs = url(s.port, "/fs/xml", true);
        curl(fsopts.data, fs, &st, NULL);
        is_int(st, 200, "without --tls-client-ca, /fs/xml over TLS needs only Basic");
        w3_buf_free(&fsopts);
        free(fs);
        free(hz);
        free(plain);
        is_int(h_server_stop(&s), 0, "server exits cleanly");
    }
    const char *bad[] = {
        h_env("W3VOIPD"), "--db", "/nonexistent/x.db", "--jwt-key", "/nonexistent/k", "--listen", "off", NULL};
    char *err = NULL;
    is_int(h_server_expect_fail(bad, &err), 2, "--listen off without --tls-listen is a usage error");
    ok(err && strstr(err, "--tls-listen"), "and says so");
    free(err);
    const char *help[] = {h_env("W3VOIPD"), "--help", NULL};
    is_int(h_server_expect_fail(help, &err), 0, "--help");
    ok(err && strstr(err, "--tls-listen HOST:PORT") && strstr(err, "--tls-client-ca FILE") &&
           strstr(err, "--header-timeout SECONDS") && strstr(err, "--max-connections-per-ip N") &&
           strstr(err, "HOST:PORT|off"),
       "--help documents the TLS, header-timeout and per-address flags");
    free(err);
    w3_buf_free(&cert);
    w3_buf_free(&key);
}

int main(void)
{
    pki = h_tmpdir();
    w3_buf_t f = {0};
    w3_buf_printf(&f, "%s/captures/directory-sip_auth-register.form", h_env("W3_FIXTURES"));
    form = f.data;
    if (ok(make_pki(), "openssl made the CAs and certificates")) {
        with_client_ca();
        tls_only();
    }
    free(form);
    h_rmrf(pki);
    free(pki);
    return tap_done();
}
