/* Test harness: plays FreeSWITCH against a real w3voipd. Starts the server
 * as a child process on a free loopback port with its own temporary
 * database (schema + fixtures/demo.sql), keys and credentials; sends raw
 * HTTP requests over real sockets; reads answers with libxml2 + XPath.
 *
 * Ownership: every char* returned is malloc'd and freed by the caller;
 * h_resp_free() releases a response; h_server_stop() cleans the temp dir. */
#ifndef W3_HARNESS_H
#define W3_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Paths of the project (from the environment meson sets). */
const char *h_env(const char *name);
/* Reads fixtures/<rel> whole; aborts the test program when missing. */
char *h_fixture(const char *rel, size_t *len);
/* Reads a capture body: fixtures/captures/<name> (e.g. "directory-user_call.form"). */
char *h_capture(const char *name, size_t *len);

/* A temporary directory (removed by h_rmrf). */
char *h_tmpdir(void);
void h_rmrf(const char *dir);
/* Writes data to dir/name and returns the path. */
char *h_write_file(const char *dir, const char *name, const char *data);

/* Creates dir/name as a migrated database loaded with fixtures/demo.sql. */
char *h_demo_db(const char *dir, const char *name);
/* Runs SQL against a database file; returns 0 or the sqlite error (message printed). */
int h_sql(const char *db, const char *sql);
/* The first line a query prints through the sqlite3 CLI, as an operator's
 * session sees it ("" when none; malloc'd), and the same as a number (-1
 * when none). */
char *h_sql_text(const char *db, const char *sql);
long long h_sql_int(const char *db, const char *sql);
/* The first column of the first row of sql on an open handle (a struct
 * sqlite3 *), -1 when there is none. */
struct sqlite3;
long long h_handle_int(struct sqlite3 *db, const char *sql);
/* A file's size in bytes, -1 when it does not exist. */
long long h_file_size(const char *path);
/* A tenant's configuration generation (tenant_id "": the global one), -1 when none. */
long long h_config_gen(const char *db, const char *tenant_id);

typedef struct h_server {
    pid_t pid;
    int port;
    char *dir;
    char *db;
    char *jwt_key; /* HS256 secret file given to --jwt-key */
    char *log;     /* the server's stderr */
    char *user, *pass;
    int exit_status; /* after h_server_stop: exit code, or 128+signal */
} h_server_t;

/* extra: NULL-terminated extra flags. db: NULL = fresh demo database.
 * 0 once the server listens, -1 (diagnostics printed) otherwise. */
int h_server_start(h_server_t *s, const char *db, const char *const *extra);
/* When > 0, servers started next run with soft = hard RLIMIT_NOFILE = it. */
extern long h_server_nofile;
/* The port of the --tls-listen listener from the port file ("tls PORT" on
 * its second line), -1 when there is none. */
int h_server_tls_port(const h_server_t *s);
/* SIGTERM, wait, record the exit status (ASan/LSan report non-zero). */
int h_server_stop(h_server_t *s);
/* Starts w3voipd expecting failure: returns its exit code, stderr in *err. */
int h_server_expect_fail(const char *const *argv, char **err);

typedef struct h_resp {
    int status;
    char *headers; /* raw header block, lines joined with \n */
    char *body;
    size_t body_len;
} h_resp_t;

/* Sends raw bytes, reads one HTTP/1.1 response (Content-Length or close). */
int h_http_raw(int port, const char *req, size_t len, h_resp_t *r);
/* A blocking TCP connection to 127.0.0.1:port, or -1. */
int h_connect(int port);
/* A request shaped exactly like mod_xml_curl's (captured headers, in order):
 * POST path, Basic auth (user:pass; NULL = no header), form content type. */
int h_fs_post(const h_server_t *s, const char *path, const char *body, size_t len, const char *user, const char *pass,
              h_resp_t *r);
/* Generic request; extra_headers are full lines without CRLF, NULL-terminated. */
int h_request(int port, const char *method, const char *path, const char *const *extra_headers, const char *body,
              size_t len, h_resp_t *r);
void h_resp_free(h_resp_t *r);
/* Value of header name (case-insensitive), malloc'd, or NULL. */
char *h_header(const h_resp_t *r, const char *name);

/* XPath over an XML text: the string value of the first node (NULL when no
 * node or the text does not parse), and the node count (-1 on parse error). */
char *h_xpath(const char *xml, size_t len, const char *expr);
int h_xpath_count(const char *xml, size_t len, const char *expr);

/* Form bodies: returns a copy of body with field name set to value
 * (%-encoded like FreeSWITCH; added at the end when absent; value NULL
 * removes it). */
char *h_form_set(const char *body, const char *name, const char *value);
/* A capture body with fields rewritten: pairs of name, value (value NULL
 * removes the field), ending with NULL. */
char *h_rewrite(const char *capture, ...);
/* The answer to the captured REGISTER (directory, sip_auth) for user of
 * the capture's domain: its body when 200, else "" (malloc'd). */
char *h_register_xml(const h_server_t *s, const char *user);
/* Decoded value of a form field, or NULL. */
char *h_form_get(const char *body, const char *name);

/* A JWT for the server's HS256 key: tenant/domain (NULL for a platform
 * token with scope "pbx"), valid for 5 minutes. */
char *h_token(const h_server_t *s, const char *tenant_id, const char *sip_domain);
/* An API request with Authorization: Bearer token and, with a body, a JSON
 * content type. */
int h_api(int port, const char *method, const char *path, const char *token, const char *body, h_resp_t *r);
/* The value of a /metrics sample ("name" or "name{labels}"), -1 (and a
 * diagnostic) when the exposition has no such line. */
long long h_metric(int port, const char *sample);
/* The server's peak resident memory (VmHWM) in kB, -1 when unknown. */
long h_server_hwm_kb(const h_server_t *s);

/* md5 hex of s */
void h_md5(const char *s, char out[33]);
/* Runs a shell command, returns its exit status; output in *out (may be NULL). */
int h_run(const char *cmd, char **out);

#endif
