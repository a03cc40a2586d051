/* bench_sqltrace: an LD_PRELOAD shim for the benchmark only. It counts what
 * a running w3voipd asks SQLite to do, without touching the server's code:
 *
 *   - sqlite3_prepare_v2 / _v3 calls (a lookup that re-prepared its SQL would
 *     show here; the statements prepared once at start-up do not),
 *   - sqlite3_step calls, split by the first word of the statement's SQL
 *     (BEGIN, COMMIT, SELECT, INSERT, other); for SELECT and INSERT also the
 *     executions (a first step, not the next row of a running statement) and
 *     how many of them started with the connection in autocommit mode (= the
 *     query ran in its own implicit transaction, outside BEGIN…COMMIT),
 *   - sqlite3_exec calls (SQL parsed and prepared on every call).
 *
 *   - per statement (by SQL text), at each sqlite3_reset: executions, VM
 *     steps and full-scan steps (sqlite3_stmt_status), i.e. how much work
 *     one execution did: an indexed lookup takes tens of VM steps whatever
 *     the size of the table, a scan takes as many as the table has rows.
 *
 * Counters are kept per phase; SIGUSR2 moves to the next phase (phase 0 is
 * start-up; run.sh sends one SIGUSR2 before each measured load). They are
 * written as "phase.key value" and "phase.stmt …" lines to
 * $BENCH_SQLTRACE_OUT when the process exits normally (SIGTERM makes
 * w3voipd exit normally).
 *
 *   LD_PRELOAD=build/tests/bench/bench_sqltrace.so BENCH_SQLTRACE_OUT=f w3voipd … */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PHASES 8
#define STMTS 64

enum {
    C_PREPARE,
    C_EXEC,
    C_STEP,
    C_STEP_BEGIN,
    C_STEP_COMMIT,
    C_STEP_SELECT,
    C_SELECT,
    C_SELECT_AUTOCOMMIT,
    C_STEP_INSERT,
    C_INSERT,
    C_INSERT_AUTOCOMMIT,
    C_STEP_OTHER,
    C_COUNT
};

static const char *const names[C_COUNT] = {
    [C_PREPARE] = "prepare",
    [C_EXEC] = "exec",
    [C_STEP] = "step",
    [C_STEP_BEGIN] = "step_begin",
    [C_STEP_COMMIT] = "step_commit",
    [C_STEP_SELECT] = "step_select",
    [C_SELECT] = "select",
    [C_SELECT_AUTOCOMMIT] = "select_autocommit",
    [C_STEP_INSERT] = "step_insert",
    [C_INSERT] = "insert",
    [C_INSERT_AUTOCOMMIT] = "insert_autocommit",
    [C_STEP_OTHER] = "step_other",
};

static atomic_ullong counts[PHASES][C_COUNT];
static atomic_int phase;
static _Thread_local int in_exec;

typedef int (*prepare_fn)(sqlite3 *, const char *, int, sqlite3_stmt **, const char **);
typedef int (*prepare3_fn)(sqlite3 *, const char *, int, unsigned int, sqlite3_stmt **, const char **);
typedef int (*step_fn)(sqlite3_stmt *);
typedef int (*exec_fn)(sqlite3 *, const char *, int (*)(void *, int, char **, char **), void *, char **);

typedef int (*reset_fn)(sqlite3_stmt *);

typedef struct stmt_stats {
    unsigned long long hash; /* 0 = free slot */
    char sql[120];
    unsigned long long execs, vm_steps, fullscan_steps, sorts;
} stmt_stats_t;

static stmt_stats_t stmts[PHASES][STMTS];
static pthread_mutex_t stmts_lock = PTHREAD_MUTEX_INITIALIZER;

static reset_fn real_reset;
static prepare_fn real_prepare_v2;
static prepare3_fn real_prepare_v3;
static step_fn real_step;
static exec_fn real_exec;

static void *next_symbol(const char *name)
{
    void *p = dlsym(RTLD_NEXT, name);
    if (p == NULL) {
        fprintf(stderr, "bench_sqltrace: %s not found\n", name);
        abort();
    }
    return p;
}

#define RESOLVE(var, name)                                                                                             \
    do {                                                                                                               \
        if ((var) == NULL) {                                                                                           \
            void *p_ = next_symbol(name);                                                                              \
            memcpy(&(var), &p_, sizeof(p_));                                                                           \
        }                                                                                                              \
    } while (0)

static void count(int c)
{
    int p = atomic_load_explicit(&phase, memory_order_relaxed);
    if (p >= PHASES)
        p = PHASES - 1;
    atomic_fetch_add_explicit(&counts[p][c], 1, memory_order_relaxed);
}

static void on_usr2(int sig)
{
    (void)sig;
    atomic_fetch_add(&phase, 1);
}

static void dump(void)
{
    const char *path = getenv("BENCH_SQLTRACE_OUT");
    if (path == NULL || *path == '\0')
        return;
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return;
    for (int p = 0; p < PHASES; p++)
        for (int c = 0; c < C_COUNT; c++)
            fprintf(f, "%d.%s %llu\n", p, names[c], (unsigned long long)atomic_load(&counts[p][c]));
    pthread_mutex_lock(&stmts_lock);
    for (int p = 0; p < PHASES; p++)
        for (int i = 0; i < STMTS; i++) {
            const stmt_stats_t *t = &stmts[p][i];
            if (t->hash == 0 || t->execs == 0)
                continue;
            fprintf(f, "%d.stmt execs=%llu vm_steps=%llu fullscan_steps=%llu sorts=%llu sql=%s\n", p, t->execs,
                    t->vm_steps, t->fullscan_steps, t->sorts, t->sql);
        }
    pthread_mutex_unlock(&stmts_lock);
    fclose(f);
}

__attribute__((constructor)) static void shim_init(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_usr2;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR2, &sa, NULL);
    atexit(dump);
}

int sqlite3_prepare_v2(sqlite3 *db, const char *sql, int n, sqlite3_stmt **st, const char **tail)
{
    RESOLVE(real_prepare_v2, "sqlite3_prepare_v2");
    if (!in_exec)
        count(C_PREPARE);
    return real_prepare_v2(db, sql, n, st, tail);
}

int sqlite3_prepare_v3(sqlite3 *db, const char *sql, int n, unsigned int flags, sqlite3_stmt **st, const char **tail)
{
    RESOLVE(real_prepare_v3, "sqlite3_prepare_v3");
    if (!in_exec)
        count(C_PREPARE);
    return real_prepare_v3(db, sql, n, flags, st, tail);
}

int sqlite3_exec(sqlite3 *db, const char *sql, int (*cb)(void *, int, char **, char **), void *arg, char **err)
{
    RESOLVE(real_exec, "sqlite3_exec");
    count(C_EXEC);
    in_exec++;
    int rc = real_exec(db, sql, cb, arg, err);
    in_exec--;
    return rc;
}

static bool starts(const char *s, const char *word)
{
    while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '(')
        s++;
    return strncasecmp(s, word, strlen(word)) == 0;
}

int sqlite3_step(sqlite3_stmt *st)
{
    RESOLVE(real_step, "sqlite3_step");
    if (!in_exec && st != NULL) {
        const char *sql = sqlite3_sql(st);
        int autocommit = sqlite3_get_autocommit(sqlite3_db_handle(st));
        bool first = !sqlite3_stmt_busy(st); /* a new execution, not its next row */
        count(C_STEP);
        if (sql == NULL)
            count(C_STEP_OTHER);
        else if (starts(sql, "BEGIN"))
            count(C_STEP_BEGIN);
        else if (starts(sql, "COMMIT"))
            count(C_STEP_COMMIT);
        else if (starts(sql, "SELECT") || starts(sql, "WITH")) {
            count(C_STEP_SELECT);
            if (first)
                count(C_SELECT);
            if (first && autocommit)
                count(C_SELECT_AUTOCOMMIT);
        } else if (starts(sql, "INSERT")) {
            count(C_STEP_INSERT);
            if (first)
                count(C_INSERT);
            if (first && autocommit)
                count(C_INSERT_AUTOCOMMIT);
        } else
            count(C_STEP_OTHER);
    }
    return real_step(st);
}

/* FNV-1a of the SQL text: the same statement prepared by every worker is one row */
static unsigned long long sql_hash(const char *sql)
{
    unsigned long long h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)sql; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return h ? h : 1;
}

int sqlite3_reset(sqlite3_stmt *st)
{
    RESOLVE(real_reset, "sqlite3_reset");
    if (st != NULL && !in_exec) {
        int vm = sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 1);
        int scan = sqlite3_stmt_status(st, SQLITE_STMTSTATUS_FULLSCAN_STEP, 1);
        int sorts = sqlite3_stmt_status(st, SQLITE_STMTSTATUS_SORT, 1);
        const char *sql = sqlite3_sql(st);
        if (vm > 0 && sql != NULL) { /* executed since the last reset */
            int p = atomic_load_explicit(&phase, memory_order_relaxed);
            if (p >= PHASES)
                p = PHASES - 1;
            unsigned long long h = sql_hash(sql);
            pthread_mutex_lock(&stmts_lock);
            for (unsigned i = 0; i < STMTS; i++) {
                stmt_stats_t *t = &stmts[p][(h + i) % STMTS];
                if (t->hash == 0) {
                    t->hash = h;
                    size_t n = 0;
                    /* one line: whitespace runs become one space */
                    for (const char *q = sql; *q && n + 1 < sizeof(t->sql); q++) {
                        char c = (*q == '\n' || *q == '\t' || *q == '\r') ? ' ' : *q;
                        if (c == ' ' && n > 0 && t->sql[n - 1] == ' ')
                            continue;
                        t->sql[n++] = c;
                    }
                    t->sql[n] = '\0';
                }
                if (t->hash == h) {
                    t->execs++;
                    t->vm_steps += (unsigned long long)vm;
                    t->fullscan_steps += (unsigned long long)scan;
                    t->sorts += (unsigned long long)sorts;
                    break;
                }
            }
            pthread_mutex_unlock(&stmts_lock);
        }
    }
    return real_reset(st);
}
