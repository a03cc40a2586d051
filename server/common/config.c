#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

enum opt_type {
    T_STR,
    T_INT,
    T_DOUBLE,
    T_SIZE,
    T_LISTEN,
    T_LOGFMT,
    T_CREDS_FILE,
    T_CREDS,
    T_FS_NODE,
    T_FS_PASS_FILE,
    T_TLS_LISTEN
};

struct opt {
    const char *flag;
    const char *env;
    enum opt_type type;
    size_t off;
    const char *arg;
    const char *help;
};

#define OFF(f) offsetof(srv_config_t, f)

static const struct opt opts[] = {
    {"db", "W3_DB", T_STR, OFF(db_path), "FILE", "SQLite database (created and migrated on start). Required."},
    {"listen", "W3_LISTEN", T_LISTEN, 0, "HOST:PORT|off",
     "Address to serve plain HTTP on (default 127.0.0.1:8080; port 0 = any\n"
     "free port; off = TLS only, with --tls-listen)."},
    {"tls-listen", "W3_TLS_LISTEN", T_TLS_LISTEN, 0, "HOST:PORT",
     "Also serve HTTPS here (TLS 1.2 and 1.3 only; needs --tls-cert and\n"
     "--tls-key). Default: off."},
    {"tls-cert", "W3_TLS_CERT", T_STR, OFF(tls_cert), "FILE",
     "PEM certificate chain of the HTTPS listener (re-read on SIGHUP)."},
    {"tls-key", "W3_TLS_KEY", T_STR, OFF(tls_key), "FILE", "PEM private key of --tls-cert (re-read on SIGHUP)."},
    {"tls-client-ca", "W3_TLS_CLIENT_CA", T_STR, OFF(tls_client_ca), "FILE",
     "PEM CA certificates: the HTTPS handshake asks for a client certificate\n"
     "(without requiring one), and /fs/... is then served only over HTTPS to\n"
     "a client certificate signed by this CA, besides the Basic credentials;\n"
     "refused on the plain listener. /healthz, /readyz, /metrics and /api/...\n"
     "need no certificate."},
    {"workers", "W3_WORKERS", T_INT, OFF(workers), "N",
     "Worker threads, each with its own socket (SO_REUSEPORT) and read-only\n"
     "database connection (default: number of CPU cores)."},
    {"fs-credentials-file", "W3_FS_CREDENTIALS_FILE", T_CREDS_FILE, 0, "FILE",
     "File holding \"user:password\" that FreeSWITCH sends with HTTP Basic on\n"
     "/fs/... (mod_xml_curl gateway-credentials, json_cdr cred). Recommended."},
    {NULL, "W3_FS_CREDENTIALS", T_CREDS, 0, "USER:PASS", "The same credentials given directly (environment only)."},
    {"jwt-key", "W3_JWT_KEY", T_STR, OFF(jwt_key_path), "FILE",
     "Key that verifies JWTs. Required. A PEM public key pins RS256 (RSA) or\n"
     "ES256 (EC P-256); any other file is an HS256 shared secret (>= 32 bytes).\n"
     "Tokens signed with any other algorithm, or alg \"none\", are refused."},
    {"jwt-leeway", "W3_JWT_LEEWAY", T_INT, OFF(jwt_leeway_s), "SECONDS",
     "Clock skew tolerated on exp/nbf/iat (default 30)."},
    {"secrets-dir", "W3_SECRETS_DIR", T_STR, OFF(secrets_dir), "DIR",
     "Trunk secret_ref file:PATH must resolve inside this directory (after\n"
     "symlinks; '..' refused) (default " SECRET_DEFAULT_DIR ")."},
    {"secret-env-prefix", "W3_SECRET_ENV_PREFIX", T_STR, OFF(secret_env_prefix), "PREFIX",
     "Trunk secret_ref env:NAME must start with it (default " SECRET_DEFAULT_ENV_PREFIX "). The JWT key and\n"
     "the credentials file are never served as a secret, wherever they are."},
    {"log-format", "W3_LOG_FORMAT", T_LOGFMT, 0, "logfmt|json", "Log line format (default logfmt)."},
    {"log-file", "W3_LOG_FILE", T_STR, OFF(log_file), "FILE",
     "Append logs here instead of stderr; SIGHUP re-opens it (logrotate)."},
    {"pidfile", "W3_PIDFILE", T_STR, OFF(pidfile), "FILE",
     "Lock + pid file (default DB.pid). A second w3voipd on the same database\n"
     "or port refuses to start."},
    {"port-file", "W3_PORT_FILE", T_STR, OFF(port_file), "FILE",
     "Write the bound port here once listening (useful with port 0)."},
    {"idle-timeout", "W3_IDLE_TIMEOUT", T_DOUBLE, OFF(idle_timeout_s), "SECONDS",
     "Close a connection idle for this long (default 5)."},
    {"request-timeout", "W3_REQUEST_TIMEOUT", T_DOUBLE, OFF(request_timeout_s), "SECONDS",
     "Time a client has to send each request, counted from when the connection\n"
     "was accepted or last answered, however slowly it trickles: past it the\n"
     "connection is closed. Answering does not count, and each answer restarts\n"
     "it, so a keep-alive connection lives as long as requests keep coming\n"
     "(default 10)."},
    {"max-connections", "W3_MAX_CONNECTIONS", T_INT, OFF(max_connections), "N",
     "Open connections accepted at once, all workers together (default 4096;\n"
     "lowered at start to what the open-file limit leaves, and logged). Past\n"
     "it the oldest connection not being answered is closed."},
    {"max-connections-per-ip", "W3_MAX_CONNECTIONS_PER_IP", T_INT, OFF(max_connections_per_ip), "N",
     "Open connections from one client address (default 1024; 0 = no limit):\n"
     "past it the address's new connections are closed, so one flooding\n"
     "address does not take the slots of FreeSWITCH's lookups."},
    {"header-timeout", "W3_HEADER_TIMEOUT", T_DOUBLE, OFF(header_timeout_s), "SECONDS",
     "A connection that has not sent a complete request within this long\n"
     "(since accepted, or since the first byte of a later request) is closed\n"
     "(default 2)."},
    {"db-busy-timeout", "W3_DB_BUSY_TIMEOUT", T_INT, OFF(db_busy_timeout_ms), "MS",
     "How long a query waits for a database lock before failing (default 1000).\n"
     "A directory lookup that fails gets 503, never a false not-found."},
    {"writer-batch", "W3_WRITER_BATCH", T_INT, OFF(writer_batch_max), "N",
     "Most writes committed together by the writer thread (default 256)."},
    {"writer-delay", "W3_WRITER_DELAY", T_DOUBLE, OFF(writer_delay_s), "SECONDS",
     "How long the writer waits to gather a batch (default 0: a batch is what\n"
     "queued while the previous commit ran)."},
    {"shutdown-grace", "W3_SHUTDOWN_GRACE", T_DOUBLE, OFF(shutdown_grace_s), "SECONDS",
     "On SIGTERM, time given to in-flight requests (default 5)."},
    {"xml-body-max", "W3_XML_BODY_MAX", T_SIZE, OFF(xml_body_max), "BYTES", "Largest /fs/xml body (default 262144)."},
    {"cdr-body-max", "W3_CDR_BODY_MAX", T_SIZE, OFF(cdr_body_max), "BYTES",
     "Largest /fs/cdr body (default 4194304). A refused CDR is lost for good:\n"
     "keep this above FreeSWITCH's largest CDR."},
    {"api-body-max", "W3_API_BODY_MAX", T_SIZE, OFF(api_body_max), "BYTES",
     "Largest /api body (default 4194304; an API-posted CDR's meta_json is\n"
     "capped at 2 MiB)."},
    {"answer-cache-bytes", "W3_ANSWER_CACHE_BYTES", T_SIZE, OFF(answer_cache_bytes), "BYTES",
     "Rendered answers each worker keeps (default 4194304; 0 = none). An answer\n"
     "is served again only for the same configuration generation and the same\n"
     "values of every field its lookup read: never stale. purpose=gateways is\n"
     "never kept (it holds secrets read from outside the database)."},
    {"provision-body-max", "W3_PROVISION_BODY_MAX", T_SIZE, OFF(provision_body_max), "BYTES",
     "Largest PUT /api/voip/provision/snapshot body (default 67108864; a\n"
     "tenant of 10,000 extensions is about 3.7 MB)."},
    {"cacheable", "W3_CACHEABLE_MS", T_INT, OFF(cacheable_ms), "MS",
     "Let FreeSWITCH cache directory users this long (default 0 = off, or\n"
     "300000 with --fs-node: every change is flushed over the event socket).\n"
     "Without a node, a changed password or disabled user takes up to this\n"
     "long to apply (or run: fs_cli -x 'xml_flush_cache id EXT DOMAIN')."},
    {"fork-command", "W3_FORK_COMMAND", T_STR, OFF(fork_command), "TEMPLATE",
     "API command that starts the AI audio stream; {url} and {meta} are\n"
     "substituted (default: uuid_audio_fork ${uuid} start {url} mono 16k w3fork {meta})."},
    {"voice-gateway-url", "W3_VOICE_GATEWAY_URL", T_STR, OFF(voice_gateway_url), "URL",
     "Base of the tenants' Voice Gateway (default wss://voice-gateway); the\n"
     "stream goes to URL/<tenant_id>/<agent ref> unless the agent has ws_url."},
    {"announcement", "W3_ANNOUNCEMENT", T_STR, OFF(announcement), "FILE",
     "Sound played when nobody answers and voicemail is off\n"
     "(default ivr/ivr-not_available.wav)."},
    {"fs-node", "W3_FS_NODES", T_FS_NODE, 0, "HOST:PORT",
     "A FreeSWITCH event socket (mod_event_socket, inbound) told of every\n"
     "configuration change: killgw/rescan for trunks, xml_flush_cache and\n"
     "flush_inbound_reg for extensions. Repeatable; the environment variable\n"
     "takes a comma-separated list (a flag replaces it). With a node, directory\n"
     "users are answered cacheable (see --cacheable)."},
    {"fs-node-password-file", "W3_FS_NODE_PASSWORD_FILE", T_FS_PASS_FILE, 0, "FILE",
     "File holding the event socket password (event_socket.conf.xml\n"
     "'password'; one trailing newline stripped). Required with --fs-node."},
    {"fs-gateway-profile", "W3_FS_GATEWAY_PROFILE", T_STR, OFF(fs_gateway_profile), "NAME",
     "Sofia profile that loads the trunks' gateways (default external)."},
    {"fs-phone-profile", "W3_FS_PHONE_PROFILE", T_STR, OFF(fs_phone_profile), "NAME",
     "Sofia profile the phones register to (default internal)."},
    {"ai-max-seconds", "W3_AI_MAX_SECONDS", T_INT, OFF(ai_max_seconds), "SECONDS",
     "Without --fs-node, the longest an AI call stays parked on its audio\n"
     "stream; then it goes to its DID's fallback (default 1800; 0 = no bound).\n"
     "With a node, a stream that fails to connect moves the call at once."},
};

void srv_config_defaults(srv_config_t *c)
{
    memset(c, 0, sizeof(*c));
    c->listen_host = xstrdup("127.0.0.1");
    c->listen_port = 8080;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    c->workers = n > 0 ? (int)n : 1;
    c->log_format = LOG_FMT_LOGFMT;
    c->idle_timeout_s = 5;
    c->request_timeout_s = 10;
    c->db_busy_timeout_ms = 1000;
    c->writer_batch_max = 256;
    c->writer_delay_s = 0;
    c->shutdown_grace_s = 5;
    c->xml_body_max = 256 * 1024;
    c->cdr_body_max = 4 * 1024 * 1024;
    c->api_body_max = 4 * 1024 * 1024;
    c->provision_body_max = 64 * 1024 * 1024;
    c->answer_cache_bytes = 4 * 1024 * 1024;
    c->max_connections = 4096;
    c->jwt_leeway_s = 30;
    c->secrets_dir = xstrdup(SECRET_DEFAULT_DIR);
    c->secret_env_prefix = xstrdup(SECRET_DEFAULT_ENV_PREFIX);
    c->fork_command = xstrdup("uuid_audio_fork ${uuid} start {url} mono 16k w3fork {meta}");
    c->voice_gateway_url = xstrdup("wss://voice-gateway");
    c->announcement = xstrdup("ivr/ivr-not_available.wav");
    c->fs_gateway_profile = xstrdup("external");
    c->fs_phone_profile = xstrdup("internal");
    c->ai_max_seconds = 1800;
    c->header_timeout_s = 2;
    c->max_connections_per_ip = 1024;
    c->tls_listen_port = -1;
}

static void fs_nodes_clear(srv_config_t *c);

void srv_config_free(srv_config_t *c)
{
    char **strs[] = {&c->db_path,           &c->listen_host,         &c->fs_user,
                     &c->fs_pass,           &c->jwt_key_path,        &c->log_file,
                     &c->pidfile,           &c->port_file,           &c->fork_command,
                     &c->voice_gateway_url, &c->announcement,        &c->secrets_dir,
                     &c->secret_env_prefix, &c->fs_credentials_path, &c->fs_gateway_profile,
                     &c->fs_phone_profile,  &c->tls_listen_host,     &c->tls_cert,
                     &c->tls_key,           &c->tls_client_ca};
    for (size_t i = 0; i < W3_ARRAY_LEN(strs); i++) {
        free(*strs[i]);
        *strs[i] = NULL;
    }
    fs_nodes_clear(c);
    if (c->fs_node_password)
        explicit_bzero(c->fs_node_password, strlen(c->fs_node_password));
    free(c->fs_node_password);
    c->fs_node_password = NULL;
}

static char *fmt_err(const char *what, const char *name, const char *val)
{
    w3_buf_t b = {0};
    w3_buf_printf(&b, "%s %s: '%s'", what, name, val);
    return b.data;
}

static int set_creds(srv_config_t *c, const char *v, const char *name, char **err)
{
    const char *colon = strchr(v, ':');
    if (colon == NULL || colon == v || colon[1] == '\0') {
        w3_buf_t b = {0};
        w3_buf_printf(&b, "%s must hold user:password", name);
        *err = b.data;
        return -EINVAL;
    }
    free(c->fs_user);
    free(c->fs_pass);
    c->fs_user = xstrndup(v, (size_t)(colon - v));
    c->fs_pass = xstrdup(colon + 1);
    return 0;
}

static void fs_nodes_clear(srv_config_t *c)
{
    for (int i = 0; i < c->fs_nodes_n; i++)
        free(c->fs_nodes[i]);
    free(c->fs_nodes);
    c->fs_nodes = NULL;
    c->fs_nodes_n = 0;
}

/* One HOST:PORT (port 1..65535, host not empty) appended to the list. */
static int fs_node_add(srv_config_t *c, const char *name, const char *v, size_t n, char **err)
{
    char *one = xstrndup(v, n);
    const char *colon = strrchr(one, ':');
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    if (colon == NULL || colon == one || end == colon + 1 || *end || port < 1 || port > 65535 ||
        strpbrk(one, " \t\r\n\"\\") != NULL) {
        *err = fmt_err("expected HOST:PORT for", name, one);
        free(one);
        return -EINVAL;
    }
    c->fs_nodes = xrealloc(c->fs_nodes, (size_t)(c->fs_nodes_n + 1) * sizeof(*c->fs_nodes));
    c->fs_nodes[c->fs_nodes_n++] = one;
    return 0;
}

/* --fs-node (repeatable: the first flag replaces the environment's list)
 * and --fs-node-password-file. */
static int apply_fs(srv_config_t *c, bool node, const char *name, const char *v, char **err)
{
    if (node) {
        bool env = strncmp(name, "--", 2) != 0;
        if (env || c->fs_nodes_from_env)
            fs_nodes_clear(c);
        c->fs_nodes_from_env = env;
        for (const char *p = v; *p;) {
            size_t n = strcspn(p, ",");
            if (n > 0 && fs_node_add(c, name, p, n, err) != 0)
                return -EINVAL;
            p += n + (p[n] == ',');
        }
        return 0;
    }
    char *data = NULL;
    int rc = w3_read_file(v, 4096, &data, NULL);
    if (rc) {
        w3_buf_t b = {0};
        w3_buf_printf(&b, "cannot read %s %s: %s", name, v, strerror(-rc));
        *err = b.data;
        return -EINVAL;
    }
    size_t len = strlen(data);
    if (len > 0 && data[len - 1] == '\n')
        data[--len] = '\0';
    if (len > 0 && data[len - 1] == '\r')
        data[--len] = '\0';
    if (len == 0 || strpbrk(data, "\r\n") != NULL) {
        *err = fmt_err("expected one line (the event socket password) in", name, v);
        explicit_bzero(data, len);
        free(data);
        return -EINVAL;
    }
    if (c->fs_node_password)
        explicit_bzero(c->fs_node_password, strlen(c->fs_node_password));
    free(c->fs_node_password);
    c->fs_node_password = data;
    return 0;
}

static int host_port(const char *v, const char *name, char **host, int *port_out, char **err)
{
    char *end = NULL;
    const char *colon = strrchr(v, ':');
    if (colon == NULL || colon == v) {
        *err = fmt_err("expected HOST:PORT for", name, v);
        return -EINVAL;
    }
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || port < 0 || port > 65535) {
        *err = fmt_err("bad port for", name, v);
        return -EINVAL;
    }
    free(*host);
    const char *h = v;
    size_t hl = (size_t)(colon - v);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') { /* [::1]:8080 */
        h++;
        hl -= 2;
    }
    *host = xstrndup(h, hl);
    *port_out = (int)port;
    return 0;
}

static int apply(srv_config_t *c, const struct opt *o, const char *name, const char *v, char **err)
{
    if (o->type == T_FS_NODE || o->type == T_FS_PASS_FILE)
        return apply_fs(c, o->type == T_FS_NODE, name, v, err);
    char *end = NULL;
    void *field = (char *)c + o->off;
    switch (o->type) {
    case T_STR:
        free(*(char **)field);
        *(char **)field = xstrdup(v);
        return 0;
    case T_INT: {
        errno = 0;
        long n = strtol(v, &end, 10);
        if (errno || end == v || *end || n < 0 || n > 1000000000) {
            *err = fmt_err("bad number for", name, v);
            return -EINVAL;
        }
        if (o->off == OFF(jwt_leeway_s))
            c->jwt_leeway_s = n;
        else
            *(int *)field = (int)n;
        return 0;
    }
    case T_DOUBLE: {
        errno = 0;
        double d = strtod(v, &end);
        if (errno || end == v || *end || d < 0 || d > 86400) {
            *err = fmt_err("bad duration for", name, v);
            return -EINVAL;
        }
        *(double *)field = d;
        return 0;
    }
    case T_SIZE: {
        errno = 0;
        unsigned long long n = strtoull(v, &end, 10);
        bool off_ok = (size_t *)field == &c->answer_cache_bytes; /* 0 turns the cache off */
        if (errno || end == v || *end || (n < 1024 && !(n == 0 && off_ok)) || n > (1ull << 30)) {
            *err = fmt_err(off_ok ? "bad size (0, or 1024 .. 1073741824 bytes) for"
                                  : "bad size (1024 .. 1073741824 bytes) for",
                           name, v);
            return -EINVAL;
        }
        *(size_t *)field = (size_t)n;
        return 0;
    }
    case T_LISTEN:
        if (strcmp(v, "off") == 0) {
            c->listen_port = -1;
            return 0;
        }
        return host_port(v, name, &c->listen_host, &c->listen_port, err);
    case T_TLS_LISTEN:
        return host_port(v, name, &c->tls_listen_host, &c->tls_listen_port, err);
    case T_LOGFMT:
        if (strcmp(v, "logfmt") == 0)
            c->log_format = LOG_FMT_LOGFMT;
        else if (strcmp(v, "json") == 0)
            c->log_format = LOG_FMT_JSON;
        else {
            *err = fmt_err("expected logfmt or json for", name, v);
            return -EINVAL;
        }
        return 0;
    case T_CREDS_FILE: {
        char *data = NULL;
        free(c->fs_credentials_path);
        c->fs_credentials_path = xstrdup(v);
        int rc = w3_read_file(v, 4096, &data, NULL);
        if (rc) {
            w3_buf_t b = {0};
            w3_buf_printf(&b, "cannot read %s %s: %s", name, v, strerror(-rc));
            *err = b.data;
            return -EINVAL;
        }
        char *nl = strpbrk(data, "\r\n");
        if (nl)
            *nl = '\0';
        rc = set_creds(c, data, name, err);
        explicit_bzero(data, strlen(data));
        free(data);
        return rc;
    }
    case T_CREDS:
        return set_creds(c, v, name, err);
    case T_FS_NODE:
    case T_FS_PASS_FILE:
        break; /* apply_fs */
    }
    return -EINVAL;
}

void srv_config_usage(FILE *f)
{
    fprintf(f, "Usage: w3voipd --db FILE --jwt-key FILE [options]\n"
               "\n"
               "Answers FreeSWITCH mod_xml_curl directory and dialplan lookups for every\n"
               "tenant from SQLite, stores the CDRs FreeSWITCH posts and serves the W3\n"
               "JSON API.\n"
               "\n"
               "Routes: POST /fs/xml (mod_xml_curl), POST /fs/cdr (mod_json_cdr and\n"
               "mod_xml_cdr), /api/voip/... (JWT), /healthz, /readyz, /metrics.\n"
               "\n"
               "Options (each also read from the environment variable shown):\n");
    for (size_t i = 0; i < W3_ARRAY_LEN(opts); i++) {
        const struct opt *o = &opts[i];
        if (o->flag)
            fprintf(f, "  --%s %s   [%s]\n", o->flag, o->arg, o->env);
        else
            fprintf(f, "  %s=%s\n", o->env, o->arg);
        const char *h = o->help;
        while (*h) {
            const char *nl = strchr(h, '\n');
            size_t n = nl ? (size_t)(nl - h) : strlen(h);
            fprintf(f, "      %.*s\n", (int)n, h);
            h += n + (nl ? 1 : 0);
        }
    }
    fprintf(f, "  --help, --version\n"
               "\n"
               "Signals: SIGTERM/SIGINT finish in-flight requests and commit queued CDRs,\n"
               "then exit; SIGHUP re-opens the log file and re-reads the TLS certificate,\n"
               "key and client CA.\n"
               "\n"
               "Exit status:\n"
               "  0  stopped cleanly (SIGTERM/SIGINT), or --help/--version\n"
               "  1  cannot start: the database cannot be opened, created or migrated (or\n"
               "     is newer than this binary), the JWT key or FreeSWITCH credentials are\n"
               "     unusable, the pid/lock file is held by another w3voipd, the address\n"
               "     cannot be listened on, the --port-file cannot be written\n"
               "  2  usage: unknown flag, bad or missing value (--db, --jwt-key), log file\n"
               "     that cannot be opened\n"
               "\n"
               "Example:\n"
               "  w3voip init --db /var/lib/w3voipd/pbx.db\n"
               "  w3voipd --db /var/lib/w3voipd/pbx.db --jwt-key /etc/w3voipd/jwt.pub \\\n"
               "          --fs-credentials-file /etc/w3voipd/fs.cred --listen 127.0.0.1:8080\n");
}

int srv_config_parse(srv_config_t *c, int argc, char **argv, bool *printed, char **err)
{
    *err = NULL;
    *printed = false;
    srv_config_defaults(c);
    c->cacheable_ms = -1; /* not given: decided once the nodes are known */
    /* environment first, flags override */
    for (size_t i = 0; i < W3_ARRAY_LEN(opts); i++) {
        const char *v = getenv(opts[i].env);
        if (v != NULL && *v != '\0' && apply(c, &opts[i], opts[i].env, v, err) != 0)
            return -EINVAL;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            srv_config_usage(stdout);
            *printed = true;
            return 0;
        }
        if (strcmp(a, "--version") == 0) {
            printf("w3voipd %s\n", W3_VERSION);
            *printed = true;
            return 0;
        }
        if (strncmp(a, "--", 2) != 0) {
            *err = fmt_err("unexpected argument", "", a);
            return -EINVAL;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const struct opt *o = NULL;
        for (size_t k = 0; k < W3_ARRAY_LEN(opts); k++)
            if (opts[k].flag && strlen(opts[k].flag) == nlen && strncmp(opts[k].flag, name, nlen) == 0)
                o = &opts[k];
        if (o == NULL) {
            *err = fmt_err("unknown option", "(see --help)", a);
            return -EINVAL;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (v == NULL) {
            *err = fmt_err("missing value for", "option", a);
            return -EINVAL;
        }
        if (apply(c, o, a, v, err) != 0)
            return -EINVAL;
    }
    if (c->db_path == NULL) {
        *err = xstrdup("no database: pass --db FILE (or set W3_DB)");
        return -EINVAL;
    }
    if (c->jwt_key_path == NULL) {
        *err = xstrdup("no JWT key: pass --jwt-key FILE (or set W3_JWT_KEY); w3voipd refuses to run "
                       "without one (create one with: head -c 48 /dev/urandom | base64 > jwt.key)");
        return -EINVAL;
    }
    if (c->workers < 1 || c->workers > 256) {
        *err = xstrdup("--workers must be between 1 and 256");
        return -EINVAL;
    }
    if (c->listen_port < 0 && c->tls_listen_host == NULL) {
        *err = xstrdup("--listen off needs --tls-listen HOST:PORT");
        return -EINVAL;
    }
    if (c->tls_listen_host && (c->tls_cert == NULL || c->tls_key == NULL)) {
        *err = xstrdup("--tls-listen needs --tls-cert FILE and --tls-key FILE");
        return -EINVAL;
    }
    if (c->tls_client_ca && c->tls_listen_host == NULL) {
        *err = xstrdup("--tls-client-ca needs --tls-listen (without it /fs/... could never be served)");
        return -EINVAL;
    }
    if (c->writer_batch_max < 1)
        c->writer_batch_max = 1;
    if (c->cacheable_ms < 0)
        c->cacheable_ms = c->fs_nodes_n > 0 ? SRV_CACHEABLE_WITH_NODES_MS : 0;
    if (c->fs_nodes_n > 0 && c->fs_node_password == NULL) {
        *err = xstrdup("--fs-node needs the event socket password: pass --fs-node-password-file FILE "
                       "(or set W3_FS_NODE_PASSWORD_FILE)");
        return -EINVAL;
    }
    if (c->pidfile == NULL) {
        w3_buf_t b = {0};
        w3_buf_printf(&b, "%s.pid", c->db_path);
        c->pidfile = b.data;
    }
    return 0;
}

void srv_config_secret_scope(const srv_config_t *c, secret_scope_t *scope, const char *forbidden[3])
{
    forbidden[0] = c->jwt_key_path;
    forbidden[1] = c->fs_credentials_path;
    forbidden[2] = NULL;
    if (forbidden[0] == NULL) {
        forbidden[0] = forbidden[1];
        forbidden[1] = NULL;
    }
    *scope = (secret_scope_t){.dir = c->secrets_dir, .env_prefix = c->secret_env_prefix, .forbidden = forbidden};
}
