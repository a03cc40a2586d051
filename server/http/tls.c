/* TLS contexts and connections (tls.h). */
#include "tls.h"

#include <errno.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct tls {
    pthread_mutex_t lock;
    SSL_CTX *ctx; /* the current one; connections hold their own reference */
    char *cert, *key, *client_ca;
};

static char *ssl_err(const char *what, const char *path)
{
    char e[256] = "";
    unsigned long code = ERR_get_error();
    if (code)
        ERR_error_string_n(code, e, sizeof(e));
    ERR_clear_error();
    w3_buf_t b = {0};
    w3_buf_printf(&b, "%s %s: %s", what, path, e[0] ? e : "unusable");
    return b.data;
}

/* Verification is recorded, not enforced, in the handshake: the routes
 * decide (SSL_get_verify_result keeps the outcome). */
static int keep_going(int preverify_ok, X509_STORE_CTX *x)
{
    (void)preverify_ok;
    (void)x;
    return 1;
}

static SSL_CTX *make_ctx(const tls_t *t, char **err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    W3_CHECK_ALLOC(ctx);
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    static const unsigned char sid[] = "w3voipd";
    SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1);
    if (SSL_CTX_use_certificate_chain_file(ctx, t->cert) != 1) {
        *err = ssl_err("cannot use --tls-cert", t->cert);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, t->key, SSL_FILETYPE_PEM) != 1) {
        *err = ssl_err("cannot use --tls-key", t->key);
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        *err = ssl_err("--tls-key does not match --tls-cert", t->key);
        goto fail;
    }
    if (t->client_ca) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(t->client_ca);
        if (names == NULL || SSL_CTX_load_verify_locations(ctx, t->client_ca, NULL) != 1) {
            sk_X509_NAME_pop_free(names, X509_NAME_free);
            *err = ssl_err("cannot use --tls-client-ca", t->client_ca);
            goto fail;
        }
        SSL_CTX_set_client_CA_list(ctx, names);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, keep_going);
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

tls_t *tls_create(const char *cert, const char *key, const char *client_ca, char **err)
{
    tls_t *t = xcalloc(1, sizeof(*t));
    pthread_mutex_init(&t->lock, NULL);
    t->cert = xstrdup(cert);
    t->key = xstrdup(key);
    t->client_ca = client_ca ? xstrdup(client_ca) : NULL;
    t->ctx = make_ctx(t, err);
    if (t->ctx == NULL) {
        tls_destroy(t);
        return NULL;
    }
    return t;
}

void tls_destroy(tls_t *t)
{
    if (t == NULL)
        return;
    SSL_CTX_free(t->ctx);
    pthread_mutex_destroy(&t->lock);
    free(t->cert);
    free(t->key);
    free(t->client_ca);
    free(t);
}

int tls_reload(tls_t *t, char **err)
{
    SSL_CTX *ctx = make_ctx(t, err);
    if (ctx == NULL)
        return -EINVAL;
    pthread_mutex_lock(&t->lock);
    SSL_CTX *old = t->ctx;
    t->ctx = ctx;
    pthread_mutex_unlock(&t->lock);
    SSL_CTX_free(old); /* live connections hold their own reference */
    return 0;
}

struct bufferevent *tls_bufferevent_new(tls_t *t, struct event_base *base)
{
    pthread_mutex_lock(&t->lock);
    SSL *ssl = SSL_new(t->ctx);
    pthread_mutex_unlock(&t->lock);
    W3_CHECK_ALLOC(ssl);
    struct bufferevent *bev =
        bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    W3_CHECK_ALLOC(bev);
    /* clients that close without close_notify are not an error here */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

bool tls_peer_verified(struct bufferevent *bev)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    return ssl != NULL && SSL_get0_peer_certificate(ssl) != NULL && SSL_get_verify_result(ssl) == X509_V_OK;
}
