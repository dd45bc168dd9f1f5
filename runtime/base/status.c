/* status.c — status codes to names and messages, and the thread's last-error text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include "base/base.h"

#define STR_(x) #x
#define STR(x) STR_(x)

const char *clenc_version(void)
{
    return STR(CLENC_VERSION_MAJOR) "." STR(CLENC_VERSION_MINOR) "." STR(
        CLENC_VERSION_PATCH);
}

const char *clenc_status_string(clenc_status status)
{
    switch (status) {
#define X(name, value, text)                                                   \
    case CLENC_##name:                                                         \
        return text;
        CLENC_STATUS_MAP(X)
#undef X
    }
    return "unknown status";
}

const char *clenc_status_name(clenc_status status)
{
    switch (status) {
#define X(name, value, text)                                                   \
    case CLENC_##name:                                                         \
        return "CLENC_" #name;
        CLENC_STATUS_MAP(X)
#undef X
    }
    return "CLENC_UNKNOWN_STATUS";
}

/* The last-error text grows to fit build logs; one buffer per thread, freed
 * by the key's destructor when the thread ends. */
static _Thread_local char *last_error;
static _Thread_local size_t last_error_cap;
static pthread_key_t last_error_key;
static pthread_once_t last_error_once = PTHREAD_ONCE_INIT;

static void last_error_key_create(void)
{
    (void)pthread_key_create(&last_error_key, free);
}

/* Makes room for `need` bytes (NUL included); false when memory ran out, in
 * which case the old text stays. */
static int last_error_reserve(size_t need)
{
    if (need <= last_error_cap)
        return 1;
    size_t cap = last_error_cap ? last_error_cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(last_error, cap);
    if (!p)
        return 0;
    if (!last_error) {
        p[0] = '\0';
        pthread_once(&last_error_once, last_error_key_create);
    }
    last_error = p;
    last_error_cap = cap;
    (void)pthread_setspecific(last_error_key, p);
    return 1;
}

static void last_error_vappend(size_t at, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || !last_error_reserve(at + (size_t)n + 1))
        return;
    vsnprintf(last_error + at, (size_t)n + 1, fmt, ap);
}

clenc_status clenc__fail(clenc_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    last_error_vappend(0, fmt, ap);
    va_end(ap);
    return status;
}

void clenc__fail_append(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    last_error_vappend(last_error ? strlen(last_error) : 0, fmt, ap);
    va_end(ap);
}

const char *clenc_last_error(void)
{
    return last_error ? last_error : "";
}
