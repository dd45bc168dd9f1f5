/* regex.c — tokenizer.json's regular expressions on Oniguruma, compiled and searched as Hugging Face `tokenizers` does, with bounds an evil pattern cannot pass. */
#include <pthread.h>
#include <string.h>

#include <oniguruma.h>

#include "text/pipeline.h"

/* `tokenizers` compiles every pattern with the onig crate's Regex::new:
 * UTF-8, ONIG_OPTION_NONE and Syntax::default(), which is Oniguruma's
 * OnigDefaultSyntax, ONIG_SYNTAX_ONIGURUMA since Oniguruma 6 (the syntax
 * whose '^' and '$' match at every line, as `tokenizers` does: checked
 * against it in tests/test_tj_bpe.c). We name the syntax rather than read
 * OnigDefaultSyntax, which the host process may have changed. */
#define SYNTAX ONIG_SYNTAX_ONIGURUMA

/* Backtracking limits, per search (an OnigMatchParam of the call's own:
 * Oniguruma's global limits would change every other user of the library
 * in the process). RETRY_IN_MATCH is Oniguruma's default, the limit
 * `tokenizers` runs under: exponential backtracking reaches it within one
 * match attempt. The default has no limit across the start positions of
 * one search, where polynomial backtracking (a*a*\d on a run of a) spends
 * its time: a search may retry RETRY_FLOOR times plus RETRY_PER_BYTE for
 * each byte it may scan. Real tokenizers' patterns need far less: GPT-2's,
 * GPT-4's, o200k's and digit, space and punctuation splits, searched over
 * the tokjson fixtures' texts and long runs of spaces, newlines, digits
 * and symbols, used at most 16 retries for a short match and about one a
 * byte over a long stretch (measured by bisecting the limit of each
 * search). What Oniguruma 6.9.8 does not count is the scanning between two
 * retries (a loop that cannot backtrack): a polynomial pattern on a long
 * word can still take the limit times the word's length (tests/
 * test_tj_bpe.c: a*a*\d, half a second on 4 KB). Oniguruma 6.9.9's time
 * limit would bound that; a limit in seconds would make ids depend on the
 * machine's load, so clenc keeps to counts. */
#define RETRY_IN_MATCH 10000000UL
#define RETRY_FLOOR 65536UL
#define RETRY_PER_BYTE 16UL

/* Oniguruma parses and compiles a pattern recursively, about 1 KB of C
 * stack a level of nesting, and stops at its parse depth limit of 4096
 * levels (measured: 2000 nested groups need 2 MB, and overflow a thread
 * of 1 MB). A 4 KB pattern from a file can nest that deep, and the thread
 * that loads a model may have a small stack: onig_new runs on a thread of
 * its own with COMPILE_STACK bytes, four times the most it can use. */
#define COMPILE_STACK ((size_t)16 << 20)

struct clenc__regex {
    OnigRegex onig;
};

typedef struct compile_job {
    const OnigUChar *pattern, *end;
    OnigRegex onig;
    OnigErrorInfo einfo;
    int result;
} compile_job;

static void *compile_on_own_stack(void *arg)
{
    compile_job *job = arg;
    job->result = onig_new(&job->onig, job->pattern, job->end,
                           ONIG_OPTION_NONE, ONIG_ENCODING_UTF8, SYNTAX,
                           &job->einfo);
    return NULL;
}

/* onig_initialize once per process; onig_new itself is not thread-safe
 * (the onig crate serialises it with a mutex for the same reason). */
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_result;
static pthread_mutex_t compile_lock = PTHREAD_MUTEX_INITIALIZER;

static void init_onig(void)
{
    OnigEncoding encodings[1] = {ONIG_ENCODING_UTF8};
    init_result = onig_initialize(encodings, 1);
}

clenc_status clenc__regex_compile(const char *pattern, size_t n,
                                  const clenc__jpath *p, const char *key,
                                  clenc__regex **out)
{
    *out = NULL;
    /* A Split's String doubles when escaped: twice the bound on what a
     * file may give. */
    if (n > 2 * CLENC__TJ_MAX_PATTERN)
        return clenc__jpath_bad(p, key,
                                "is a pattern of %zu bytes, more than %u", n,
                                2 * CLENC__TJ_MAX_PATTERN);
    pthread_once(&init_once, init_onig);
    if (init_result != ONIG_NORMAL)
        return clenc__jpath_unsupported(p, key,
                                        "(Oniguruma failed to initialise)");
    clenc__regex *re = clenc__calloc(1, sizeof *re);
    if (!re)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                           "no host memory for a regular expression");
    compile_job job;
    memset(&job, 0, sizeof job);
    job.pattern = (const OnigUChar *)pattern;
    job.end = job.pattern + n;
    pthread_attr_t attr;
    pthread_t thread;
    int started = pthread_attr_init(&attr) == 0;
    if (started && pthread_attr_setstacksize(&attr, COMPILE_STACK) != 0) {
        pthread_attr_destroy(&attr);
        started = 0;
    }
    if (started) {
        pthread_mutex_lock(&compile_lock);
        started = pthread_create(&thread, &attr, compile_on_own_stack, &job) ==
                  0;
        if (started)
            pthread_join(thread, NULL);
        pthread_mutex_unlock(&compile_lock);
        pthread_attr_destroy(&attr);
    }
    if (!started) {
        clenc__free(re);
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                           "no thread to compile the pattern of %s.%s on",
                           p->at, key);
    }
    re->onig = job.onig;
    int r = job.result;
    if (r != ONIG_NORMAL) {
        OnigUChar msg[ONIG_MAX_ERROR_MESSAGE_LEN + 1];
        memset(msg, 0, sizeof msg);
        onig_error_code_to_str(msg, r, &job.einfo);
        clenc__free(re);
        if (r == ONIGERR_MEMORY)
            return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                               "no host memory to compile the pattern of %s",
                               p->at);
        return clenc__jpath_bad(p, key, "does not compile: %s",
                                (const char *)msg);
    }
    *out = re;
    return CLENC_OK;
}

int clenc__regex_search(const clenc__regex *re, const char *s, size_t n,
                        size_t from, size_t *start, size_t *end)
{
    /* Oniguruma's offsets are int. */
    if (from > n || n > (size_t)INT32_MAX)
        return -1;
    OnigMatchParam *mp = onig_new_match_param();
    if (!mp)
        return -1;
    onig_initialize_match_param(mp);
    onig_set_retry_limit_in_match_of_match_param(mp, RETRY_IN_MATCH);
    onig_set_retry_limit_in_search_of_match_param(
        mp, RETRY_FLOOR + RETRY_PER_BYTE * (unsigned long)(n - from));
    /* The region lives on this call's stack: a compiled expression is
     * shared by threads and holds nothing a search writes. */
    OnigRegion region;
    onig_region_init(&region);
    const OnigUChar *str = (const OnigUChar *)s;
    int r = onig_search_with_param(re->onig, str, str + n, str + from,
                                   str + n, &region, ONIG_OPTION_NONE, mp);
    int found = -1;
    if (r >= 0 && region.num_regs > 0 && region.beg[0] >= 0 &&
        region.end[0] >= region.beg[0] && (size_t)region.end[0] <= n) {
        *start = (size_t)region.beg[0];
        *end = (size_t)region.end[0];
        found = 1;
    } else if (r == ONIG_MISMATCH) {
        found = 0;
    }
    onig_region_free(&region, 0);
    onig_free_match_param(mp);
    return found;
}

void clenc__regex_free(clenc__regex *re)
{
    if (!re)
        return;
    onig_free(re->onig);
    clenc__free(re);
}
