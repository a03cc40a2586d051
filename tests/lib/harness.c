#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth_jwt.h"
#include "db.h"
#include "util.h"

const char *h_env(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL) {
        fprintf(stderr, "harness: %s is not set (run the tests through meson)\n", name);
        exit(99);
    }
    return v;
}

char *h_fixture(const char *rel, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", h_env("W3_FIXTURES"), rel);
    char *data = NULL;
    size_t n = 0;
    int rc = w3_read_file(path, 64 * 1024 * 1024, &data, &n);
    if (rc) {
        fprintf(stderr, "harness: cannot read %s: %s\n", path, strerror(-rc));
        exit(99);
    }
    if (len)
        *len = n;
    return data;
}

char *h_capture(const char *name, size_t *len)
{
    char rel[512];
    snprintf(rel, sizeof(rel), "captures/%s", name);
    return h_fixture(rel, len);
}

char *h_tmpdir(void)
{
    char tmpl[] = "/tmp/w3test-XXXXXX";
    if (mkdtemp(tmpl) == NULL) {
        perror("mkdtemp");
        exit(99);
    }
    return xstrdup(tmpl);
}

void h_rmrf(const char *dir)
{
    if (dir == NULL || strncmp(dir, "/tmp/w3test-", 12) != 0)
        return;
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "harness: cannot remove %s\n", dir);
}

char *h_write_file(const char *dir, const char *name, const char *data)
{
    w3_buf_t p = {0};
    w3_buf_printf(&p, "%s/%s", dir, name);
    FILE *f = fopen(p.data, "w");
    if (f == NULL || fputs(data, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "harness: cannot write %s\n", p.data);
        exit(99);
    }
    return p.data;
}

int h_sql(const char *db, const char *sql)
{
    sqlite3 *h = NULL;
    char *msg = NULL;
    int rc = sqlite3_open(db, &h);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(h, 5000);
        rc = sqlite3_exec(h, sql, NULL, NULL, &msg);
    }
    if (rc != SQLITE_OK)
        fprintf(stderr, "harness: sql failed: %s\n", msg ? msg : sqlite3_errmsg(h));
    sqlite3_free(msg);
    sqlite3_close(h);
    return rc;
}

char *h_demo_db(const char *dir, const char *name)
{
    w3_buf_t p = {0};
    w3_buf_printf(&p, "%s/%s", dir, name);
    db_conn_t *db = NULL;
    char *err = NULL;
    int from, to;
    if (db_conn_open(p.data, true, 5000, &db, &err) != 0 || db_migrate(db, &from, &to, &err) != 0) {
        fprintf(stderr, "harness: %s\n", err);
        exit(99);
    }
    db_conn_close(db);
    char *demo = h_fixture("demo.sql", NULL);
    if (h_sql(p.data, demo) != SQLITE_OK)
        exit(99);
    free(demo);
    return p.data;
}

static char *random_secret(void)
{
    unsigned char raw[48];
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd < 0 || read(fd, raw, sizeof(raw)) != (ssize_t)sizeof(raw))
        exit(99);
    close(fd);
    char *out = xmalloc(80);
    EVP_EncodeBlock((unsigned char *)out, raw, sizeof(raw));
    return out;
}

static int wait_port_file(const char *path, pid_t pid, int *port)
{
    for (int i = 0; i < 1000; i++) { /* up to 20 s (slow under sanitizers) */
        FILE *f = fopen(path, "r");
        if (f) {
            int p = 0;
            int n = fscanf(f, "%d", &p);
            fclose(f);
            if (n == 1 && p > 0) {
                *port = p;
                return 0;
            }
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid)
            return -1;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return -1;
}

long h_server_nofile;

int h_server_start(h_server_t *s, const char *db, const char *const *extra)
{
    memset(s, 0, sizeof(*s));
    s->dir = h_tmpdir();
    s->db = db ? xstrdup(db) : h_demo_db(s->dir, "w3.db");
    char *secret = random_secret();
    s->jwt_key = h_write_file(s->dir, "jwt.key", secret);
    free(secret);
    s->user = xstrdup("fsnode");
    s->pass = xstrdup("secret");
    char *cred = h_write_file(s->dir, "fs.cred", "fsnode:secret\n");
    w3_buf_t portfile = {0}, logfile = {0};
    w3_buf_printf(&portfile, "%s/port", s->dir);
    w3_buf_printf(&logfile, "%s/server.log", s->dir);
    s->log = logfile.data;

    const char *argv[64];
    int n = 0;
    argv[n++] = h_env("W3VOIPD");
    argv[n++] = "--db";
    argv[n++] = s->db;
    argv[n++] = "--jwt-key";
    argv[n++] = s->jwt_key;
    argv[n++] = "--fs-credentials-file";
    argv[n++] = cred;
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--port-file";
    argv[n++] = portfile.data;
    argv[n++] = "--workers";
    argv[n++] = "2";
    argv[n++] = "--idle-timeout";
    argv[n++] = "2";
    for (int i = 0; extra && extra[i] && n < 62; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;

    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 2);
            close(fd);
        }
        if (h_server_nofile > 0) {
            struct rlimit rl = {(rlim_t)h_server_nofile, (rlim_t)h_server_nofile};
            if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
                _exit(126);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    s->pid = pid;
    int rc = wait_port_file(portfile.data, pid, &s->port);
    if (rc != 0) {
        char *log = NULL;
        w3_read_file(s->log, 1 << 20, &log, NULL);
        fprintf(stderr, "harness: w3voipd did not start; its log:\n%s\n", log ? log : "(none)");
        free(log);
        s->pid = 0;
    }
    free(cred);
    w3_buf_free(&portfile);
    return rc;
}

int h_server_tls_port(const h_server_t *s)
{
    w3_buf_t path = {0};
    w3_buf_printf(&path, "%s/port", s->dir);
    char *data = NULL;
    int port = -1;
    if (w3_read_file(path.data, 4096, &data, NULL) == 0) {
        const char *t = strstr(data, "tls ");
        if (t)
            port = atoi(t + 4);
    }
    free(data);
    w3_buf_free(&path);
    return port;
}

int h_server_stop(h_server_t *s)
{
    int st = 0;
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        while (waitpid(s->pid, &st, 0) < 0 && errno == EINTR)
            ;
        s->exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (s->exit_status != 0) {
            char *log = NULL;
            w3_read_file(s->log, 1 << 20, &log, NULL);
            fprintf(stderr, "harness: w3voipd exited with %d; its log:\n%s\n", s->exit_status, log ? log : "");
            free(log);
        }
    }
    h_rmrf(s->dir);
    free(s->dir);
    free(s->db);
    free(s->jwt_key);
    free(s->log);
    free(s->user);
    free(s->pass);
    int rc = s->exit_status;
    s->pid = 0;
    s->dir = s->db = s->jwt_key = s->log = s->user = s->pass = NULL;
    return rc;
}

int h_server_expect_fail(const char *const *argv, char **err)
{
    int pipefd[2];
    if (pipe(pipefd) != 0)
        exit(99);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pipefd[1], 2);
        dup2(pipefd[1], 1);
        close(pipefd[0]);
        close(pipefd[1]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(pipefd[1]);
    w3_buf_t out = {0};
    char buf[4096];
    ssize_t n;
    while ((n = read(pipefd[0], buf, sizeof(buf))) > 0)
        w3_buf_add(&out, buf, (size_t)n);
    close(pipefd[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    *err = out.data ? out.data : xstrdup("");
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int h_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

int h_http_raw(int port, const char *req, size_t len, h_resp_t *r)
{
    memset(r, 0, sizeof(*r));
    int fd = h_connect(port);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);
        if (n <= 0)
            break; /* the server may answer (413) before reading it all */
        off += (size_t)n;
    }
    w3_buf_t in = {0};
    size_t header_end = 0, content_length = (size_t)-1;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 15000) <= 0)
            break;
        char buf[16384];
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0)
            break;
        w3_buf_add(&in, buf, (size_t)n);
        if (header_end == 0) {
            char *e = strstr(in.data, "\r\n\r\n");
            if (e) {
                header_end = (size_t)(e - in.data) + 4;
                const char *cl = strcasestr(in.data, "\r\nContent-Length:");
                if (cl && cl < e)
                    content_length = strtoul(cl + 17, NULL, 10);
            }
        }
        if (header_end && content_length != (size_t)-1 && in.len >= header_end + content_length)
            break;
    }
    close(fd);
    if (header_end == 0) {
        w3_buf_free(&in);
        return -1;
    }
    r->status = atoi(in.data + 9);
    r->headers = xstrndup(in.data, header_end);
    size_t blen = in.len - header_end;
    if (content_length != (size_t)-1 && blen > content_length)
        blen = content_length;
    r->body = xstrndup(in.data + header_end, blen);
    r->body_len = blen;
    w3_buf_free(&in);
    return 0;
}

int h_fs_post(const h_server_t *s, const char *path, const char *body, size_t len, const char *user, const char *pass,
              h_resp_t *r)
{
    w3_buf_t q = {0};
    w3_buf_printf(&q, "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n", path, s->port);
    if (user) {
        w3_buf_t up = {0};
        w3_buf_printf(&up, "%s:%s", user, pass);
        char *b64 = xmalloc(up.len * 2 + 8);
        EVP_EncodeBlock((unsigned char *)b64, (unsigned char *)up.data, (int)up.len);
        w3_buf_printf(&q, "Authorization: Basic %s\r\n", b64);
        free(b64);
        w3_buf_free(&up);
    }
    w3_buf_printf(&q,
                  "User-Agent: freeswitch-xml/1.0\r\nAccept: */*\r\nContent-Length: %zu\r\n"
                  "Content-Type: application/x-www-form-urlencoded\r\n\r\n",
                  len);
    w3_buf_add(&q, body, len);
    int rc = h_http_raw(s->port, q.data, q.len, r);
    w3_buf_free(&q);
    return rc;
}

int h_request(int port, const char *method, const char *path, const char *const *extra_headers, const char *body,
              size_t len, h_resp_t *r)
{
    w3_buf_t q = {0};
    w3_buf_printf(&q, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n", method, path, port);
    for (int i = 0; extra_headers && extra_headers[i]; i++)
        w3_buf_printf(&q, "%s\r\n", extra_headers[i]);
    if (body)
        w3_buf_printf(&q, "Content-Length: %zu\r\n", len);
    w3_buf_adds(&q, "\r\n");
    if (body)
        w3_buf_add(&q, body, len);
    int rc = h_http_raw(port, q.data, q.len, r);
    w3_buf_free(&q);
    return rc;
}

void h_resp_free(h_resp_t *r)
{
    free(r->headers);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

char *h_header(const h_resp_t *r, const char *name)
{
    if (r->headers == NULL)
        return NULL;
    size_t n = strlen(name);
    for (const char *p = strstr(r->headers, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            return xstrndup(v, strcspn(v, "\r\n"));
        }
    }
    return NULL;
}

static xmlXPathObjectPtr eval(const char *xml, size_t len, const char *expr, xmlDocPtr *doc, xmlXPathContextPtr *ctx)
{
    *doc = xmlReadMemory(xml, (int)len, "answer.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (*doc == NULL)
        return NULL;
    *ctx = xmlXPathNewContext(*doc);
    return xmlXPathEvalExpression((const xmlChar *)expr, *ctx);
}

char *h_xpath(const char *xml, size_t len, const char *expr)
{
    xmlDocPtr doc = NULL;
    xmlXPathContextPtr ctx = NULL;
    char *out = NULL;
    xmlXPathObjectPtr obj = eval(xml, len, expr, &doc, &ctx);
    if (obj) {
        if (obj->type == XPATH_NODESET && obj->nodesetval && obj->nodesetval->nodeNr > 0) {
            xmlChar *v = xmlNodeGetContent(obj->nodesetval->nodeTab[0]);
            out = xstrdup(v ? (char *)v : "");
            xmlFree(v);
        } else if (obj->type == XPATH_STRING) {
            out = xstrdup((char *)obj->stringval);
        }
        xmlXPathFreeObject(obj);
    }
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
    return out;
}

int h_xpath_count(const char *xml, size_t len, const char *expr)
{
    xmlDocPtr doc = NULL;
    xmlXPathContextPtr ctx = NULL;
    int n = -1;
    xmlXPathObjectPtr obj = eval(xml, len, expr, &doc, &ctx);
    if (obj) {
        n = (obj->type == XPATH_NODESET && obj->nodesetval) ? obj->nodesetval->nodeNr : 0;
        xmlXPathFreeObject(obj);
    }
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
    return n;
}

/* FreeSWITCH's encoder: unreserved bytes and !$'()*,-./_~ stay literal. */
static void fs_encode(w3_buf_t *b, const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("!$'()*,-./_~", *p))
            w3_buf_add(b, p, 1);
        else
            w3_buf_printf(b, "%%%02X", *p);
    }
}

char *h_form_set(const char *body, const char *name, const char *value)
{
    w3_buf_t out = {0};
    bool done = false;
    size_t nlen = strlen(name);
    const char *p = body;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t flen = amp ? (size_t)(amp - p) : strlen(p);
        bool match = flen >= nlen && strncmp(p, name, nlen) == 0 && (flen == nlen || p[nlen] == '=');
        if (match && !done) {
            done = true;
            if (value) {
                if (out.len)
                    w3_buf_add(&out, "&", 1);
                w3_buf_printf(&out, "%s=", name);
                fs_encode(&out, value);
            }
        } else {
            if (out.len)
                w3_buf_add(&out, "&", 1);
            w3_buf_add(&out, p, flen);
        }
        p += flen + (amp ? 1 : 0);
    }
    if (!done && value) {
        if (out.len)
            w3_buf_add(&out, "&", 1);
        w3_buf_printf(&out, "%s=", name);
        fs_encode(&out, value);
    }
    return out.data ? out.data : xstrdup("");
}

char *h_rewrite(const char *capture, ...)
{
    char *body = h_capture(capture, NULL);
    va_list ap;
    va_start(ap, capture);
    for (;;) {
        const char *name = va_arg(ap, const char *);
        if (name == NULL)
            break;
        const char *value = va_arg(ap, const char *);
        char *next = h_form_set(body, name, value);
        free(body);
        body = next;
    }
    va_end(ap);
    return body;
}

char *h_register_xml(const h_server_t *s, const char *user)
{
    char *body = h_rewrite("directory-sip_auth-register.form", "user", user, NULL);
    h_resp_t r;
    h_fs_post(s, "/fs/xml", body, strlen(body), s->user, s->pass, &r);
    char *xml = xstrdup(r.status == 200 && r.body ? r.body : "");
    h_resp_free(&r);
    free(body);
    return xml;
}

char *h_form_get(const char *body, const char *name)
{
    size_t nlen = strlen(name);
    for (const char *p = body; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t flen = amp ? (size_t)(amp - p) : strlen(p);
        if (flen > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
            char *v = xstrndup(p + nlen + 1, flen - nlen - 1);
            size_t w = 0;
            for (size_t r = 0; v[r]; r++) {
                unsigned int c;
                if (v[r] == '%' && v[r + 1] && v[r + 2] && sscanf(v + r + 1, "%2x", &c) == 1) {
                    v[w++] = (char)c;
                    r += 2;
                } else {
                    v[w++] = v[r];
                }
            }
            v[w] = '\0';
            return v;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

void h_md5(const char *s, char out[33])
{
    w3_md5_hex(s, strlen(s), out);
}

int h_run(const char *cmd, char **out)
{
    FILE *f = popen(cmd, "r");
    if (f == NULL)
        return -1;
    w3_buf_t b = {0};
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        w3_buf_add(&b, buf, n);
    int st = pclose(f);
    if (out)
        *out = b.data ? b.data : xstrdup("");
    else
        w3_buf_free(&b);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

char *h_token(const h_server_t *s, const char *tenant_id, const char *sip_domain)
{
    auth_jwt_key_t key;
    const char *why = NULL;
    if (auth_jwt_key_load(s->jwt_key, true, &key, &why) != 0) {
        fprintf(stderr, "harness: cannot load %s: %s\n", s->jwt_key, why);
        exit(99);
    }
    auth_jwt_mint_req_t req = {.tenant_id = tenant_id,
                               .sip_domain = sip_domain,
                               .client_id = "w3-test",
                               .scope = tenant_id ? NULL : "pbx",
                               .ttl_s = 300,
                               .now = time(NULL)};
    char *t = auth_jwt_mint(&key, &req, &why);
    auth_jwt_key_free(&key);
    if (t == NULL) {
        fprintf(stderr, "harness: cannot mint a token: %s\n", why);
        exit(99);
    }
    return t;
}

int h_api(int port, const char *method, const char *path, const char *token, const char *body, h_resp_t *r)
{
    w3_buf_t auth = {0};
    w3_buf_printf(&auth, "Authorization: Bearer %s", token);
    const char *hdrs[] = {auth.data, body ? "Content-Type: application/json" : NULL, NULL};
    int rc = h_request(port, method, path, hdrs, body, body ? strlen(body) : 0, r);
    w3_buf_free(&auth);
    return rc;
}

long h_server_hwm_kb(const h_server_t *s)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/status", (long)s->pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

long long h_metric(int port, const char *sample)
{
    h_resp_t r;
    h_request(port, "GET", "/metrics", NULL, NULL, 0, &r);
    w3_buf_t want = {0};
    /* a whole sample line ("\nname{labels} value"), not its # HELP */
    w3_buf_printf(&want, "\n%.*s ", (int)strcspn(sample, " "), sample);
    const char *p = r.body ? strstr(r.body, want.data) : NULL;
    long long v = -1;
    if (p)
        v = atoll(p + want.len);
    else
        printf("# no '%s' in /metrics\n", sample);
    w3_buf_free(&want);
    h_resp_free(&r);
    return v;
}

char *h_sql_text(const char *db, const char *sql)
{
    char *out = NULL;
    w3_buf_t cmd = {0};
    w3_buf_printf(&cmd, "sqlite3 '%s' \"%s\"", db, sql);
    h_run(cmd.data, &out);
    w3_buf_free(&cmd);
    if (out == NULL)
        out = xstrdup("");
    out[strcspn(out, "\n")] = '\0';
    return out;
}

long long h_sql_int(const char *db, const char *sql)
{
    char *s = h_sql_text(db, sql);
    long long v = *s ? atoll(s) : -1;
    free(s);
    return v;
}

long long h_config_gen(const char *db, const char *tenant_id)
{
    w3_buf_t q = {0};
    w3_buf_printf(&q, "SELECT gen FROM voip_config_gen WHERE tenant_id = '%s'", tenant_id);
    long long g = h_sql_int(db, q.data);
    w3_buf_free(&q);
    return g;
}
