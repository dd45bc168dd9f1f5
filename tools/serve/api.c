/* api.c — clenc-serve's endpoints: the requests' JSON read and checked (OpenAI's /v1/embeddings, text-embeddings-inference's /embed and /rerank), tokenized, handed to the batcher, and the answers written. */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

/* A growing answer body; a failed allocation is remembered and reported
 * once, as a 500. */
typedef struct sbuf {
    char *data;
    size_t length, capacity;
    int failed;
} sbuf;

static int sbuf_room(sbuf *b, size_t more)
{
    if (b->failed)
        return 0;
    if (b->length + more + 1 <= b->capacity)
        return 1;
    size_t cap = b->capacity ? b->capacity : 4096;
    while (cap < b->length + more + 1)
        cap *= 2;
    char *grown = realloc(b->data, cap);
    if (!grown) {
        b->failed = 1;
        return 0;
    }
    b->data = grown;
    b->capacity = cap;
    return 1;
}

static void put(sbuf *b, const char *s, size_t n)
{
    if (!sbuf_room(b, n))
        return;
    memcpy(b->data + b->length, s, n);
    b->length += n;
    b->data[b->length] = '\0';
}

static void puts_(sbuf *b, const char *s) { put(b, s, strlen(s)); }

/* %.9g: every float32 reads back exactly (README, "clenc-run"). JSON has
 * no NaN or infinity: null stands for them. */
static void put_float(sbuf *b, float v)
{
    char num[32];
    int n = isfinite(v) ? snprintf(num, sizeof num, "%.9g", (double)v)
                        : snprintf(num, sizeof num, "null");
    put(b, num, (size_t)n);
}

static void put_size(sbuf *b, size_t v)
{
    char num[32];
    put(b, num, (size_t)snprintf(num, sizeof num, "%zu", v));
}

/* A JSON string literal of n bytes (NULs and all). */
static void put_string(sbuf *b, const char *s, size_t n)
{
    json_t *str = json_stringn_nocheck(s, n);
    char *text = str ? json_dumps(str, JSON_ENCODE_ANY) : NULL;
    if (text)
        puts_(b, text);
    else
        b->failed = 1;
    free(text);
    json_decref(str);
}

static void put_base64(sbuf *b, const unsigned char *p, size_t n)
{
    static const char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (!sbuf_room(b, (n + 2) / 3 * 4))
        return;
    char *o = b->data + b->length;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        *o++ = digits[v >> 18];
        *o++ = digits[(v >> 12) & 63];
        *o++ = digits[(v >> 6) & 63];
        *o++ = digits[v & 63];
    }
    if (i < n) {
        unsigned v =
            (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0);
        *o++ = digits[v >> 18];
        *o++ = digits[(v >> 12) & 63];
        *o++ = i + 1 < n ? digits[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    b->length = (size_t)(o - b->data);
    b->data[b->length] = '\0';
}

static void reply_json(serve_reply *reply, unsigned status, sbuf *b)
{
    if (b->failed) {
        free(b->data);
        serve_api_error(reply, 500, "server_error", NULL,
                        "out of memory writing the answer");
        return;
    }
    reply->status = status;
    reply->body = b->data;
    reply->length = b->length;
    reply->content_type = "application/json";
}

static void reply_value(serve_reply *reply, unsigned status, json_t *value)
{
    sbuf b = {0};
    char *text = value ? json_dumps(value, JSON_COMPACT) : NULL;
    if (text)
        puts_(&b, text);
    else
        b.failed = 1;
    free(text);
    json_decref(value);
    reply_json(reply, status, &b);
}

void serve_api_error(serve_reply *reply, unsigned status, const char *type,
                     const char *param, const char *fmt, ...)
{
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    const char *code = status == 401   ? "invalid_api_key"
                       : status == 404 ? "not_found"
                       : status == 405 ? "method_not_allowed"
                       : status == 413 ? "too_large"
                       : status == 503 ? "overloaded"
                       : status == 504 ? "timeout"
                       : status >= 500 ? "internal_error"
                                       : "invalid_value";
    json_t *err =
        json_pack("{s:{s:s,s:s,s:s?,s:s}}", "error", "message", message, "type",
                  type, "param", param, "code", code);
    char *text = err ? json_dumps(err, JSON_COMPACT) : NULL;
    json_decref(err);
    free(reply->body);
    reply->status = status;
    reply->body = text;
    reply->length = text ? strlen(text) : 0;
    reply->content_type = "application/json";
    if (!text) {
        /* Nothing else to say: the HTTP layer answers with an empty body. */
        reply->status = 500;
    }
}

static void bad(serve_reply *reply, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void bad(serve_reply *reply, const char *param, const char *fmt, ...)
{
    char message[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    serve_api_error(reply, 400, "invalid_request_error", param, "%s", message);
}

/* ---------------------------------------------------------- reading JSON */

/* JSON must be UTF-8, and jansson refuses a body that is not, saying
 * nothing of which input was to blame. The library names a text that is
 * not UTF-8, so each such byte B (0x80..0xFF) is read as the private-use
 * character U+F700 + B, as Python's surrogateescape does with U+DC00 + B
 * (jansson refuses surrogates), and put back into each string read: the
 * tokenizer then refuses it as clenc_embed_text_n does, with the input's
 * index. A body with both invalid bytes and such characters of its own is
 * refused whole: the two could not be told apart. */
#define ESCAPE_BASE 0xF700u

typedef struct body {
    char *text;
    size_t length;
    int escaped; /* invalid bytes are escaped in text */
} body;

static size_t utf8_sequence(const unsigned char *s, size_t n)
{
    const unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, min = 0x10000;
    else
        return 0;
    if (len > n)
        return 0;
    unsigned cp = c & (0x3Fu >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* The byte an escape at s (n bytes left) stands for, or 0. */
static unsigned escaped_byte(const unsigned char *s, size_t n)
{
    if (n < 3 || s[0] != 0xEF || (s[1] != 0x9E && s[1] != 0x9F) ||
        (s[2] & 0xC0) != 0x80)
        return 0;
    return ((0x0Fu & s[0]) << 12 | (0x3Fu & s[1]) << 6 | (0x3Fu & s[2])) -
           ESCAPE_BASE;
}

/* 0, or an answer's status. */
static unsigned body_read(body *b, const char *data, size_t length,
                          serve_reply *reply)
{
    memset(b, 0, sizeof *b);
    size_t bad_count = 0, first_bad = 0, has_escapes = 0;
    const unsigned char *u = (const unsigned char *)data;
    for (size_t i = 0; i < length;) {
        size_t n = utf8_sequence(u + i, length - i);
        if (n) {
            has_escapes |= n == 3 && escaped_byte(u + i, 3) >= 0x80;
            i += n;
            continue;
        }
        if (!bad_count++)
            first_bad = i;
        i++;
    }
    if (bad_count && has_escapes) {
        bad(reply, NULL,
            "the request body is not valid UTF-8: byte 0x%02X at byte "
            "offset %zu",
            u[first_bad], first_bad);
        return 400;
    }
    /* each escape takes 3 bytes for 1: bounded by 3 x --max-body-bytes */
    b->text = malloc(length + 2 * bad_count + 1);
    if (!b->text) {
        serve_api_error(reply, 500, "server_error", NULL, "out of memory");
        return 500;
    }
    size_t o = 0;
    for (size_t i = 0; i < length;) {
        size_t n = bad_count ? utf8_sequence(u + i, length - i) : length;
        if (n) {
            memcpy(b->text + o, u + i, n);
            o += n;
            i += n;
            continue;
        }
        const unsigned cp = ESCAPE_BASE + u[i++];
        b->text[o++] = (char)0xEF;
        b->text[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b->text[o++] = (char)(0x80 | (cp & 0x3F));
    }
    b->text[o] = '\0';
    b->length = o;
    b->escaped = bad_count > 0;
    return 0;
}

static void body_free(body *b) { free(b->text); }

/* A string of the request with its invalid bytes put back (n bytes in
 * *length, NUL-terminated); NULL for out of memory. */
static char *body_string(const body *b, json_t *str, size_t *length)
{
    const size_t n = json_string_length(str);
    const unsigned char *s = (const unsigned char *)json_string_value(str);
    char *copy = malloc(n + 1);
    if (!copy)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        unsigned byte = b->escaped ? escaped_byte(s + i, n - i) : 0;
        if (byte >= 0x80) {
            copy[o++] = (char)byte;
            i += 3;
        } else {
            copy[o++] = (char)s[i++];
        }
    }
    copy[o] = '\0';
    *length = o;
    return copy;
}

static json_t *parse(const body *b, serve_reply *reply)
{
    json_error_t err;
    json_t *root = json_loadb(b->text, b->length, JSON_ALLOW_NUL, &err);
    if (!root) {
        bad(reply, NULL,
            "the request body is not JSON: %s (line %d, column %d)", err.text,
            err.line, err.column);
        return NULL;
    }
    if (!json_is_object(root)) {
        bad(reply, NULL, "the request body must be a JSON object");
        json_decref(root);
        return NULL;
    }
    return root;
}

/* An optional boolean field: 0 or 1, `fallback` when absent, -1 (answered
 * 400) when of another type. */
static int get_bool(json_t *root, const char *name, int fallback,
                    serve_reply *reply)
{
    json_t *v = json_object_get(root, name);
    if (!v || json_is_null(v))
        return fallback;
    if (!json_is_boolean(v)) {
        bad(reply, name, "'%s' must be true or false", name);
        return -1;
    }
    return json_is_true(v);
}

static const char *head_name(clenc_head_kind head)
{
    return head == CLENC_HEAD_BERT         ? "bert"
           : head == CLENC_HEAD_ROBERTA    ? "roberta"
           : head == CLENC_HEAD_DISTILBERT ? "distilbert"
                                           : "none";
}

/* 0 when the model does what the endpoint needs; else answers 400 naming
 * what it is. */
static int check_kind(serve *s, const char *url, int wants_head,
                      serve_reply *reply)
{
    const int has_head = s->info.head != CLENC_HEAD_NONE;
    if (wants_head && !has_head) {
        bad(reply, NULL,
            "model '%s' is an embedding model (clenc_model_info.head none): "
            "%s needs a reranker",
            s->info.name, url);
        return -1;
    }
    if (!wants_head && has_head) {
        bad(reply, NULL,
            "model '%s' is a reranker or classifier (clenc_model_info.head "
            "%s, %u label%s): %s needs an embedding model",
            s->info.name, head_name(s->info.head), s->info.num_labels,
            s->info.num_labels == 1 ? "" : "s", url);
        return -1;
    }
    if (wants_head && s->info.num_labels != 1) {
        bad(reply, NULL,
            "model '%s' is a classifier with %u labels: %s needs a reranker "
            "(one label)",
            s->info.name, s->info.num_labels, url);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ embedding */

/* The inputs of an embedding request, tokenized: count x max_tokens ids. */
typedef struct tokens {
    size_t count, total;
    int32_t *ids;
    size_t *lengths;
} tokens;

static void tokens_free(tokens *t)
{
    free(t->ids);
    free(t->lengths);
}

/* The ids of one token array into row i; 0 or -1 (answered). */
static int read_id_array(serve *s, json_t *arr, size_t i, int truncate,
                         const char *param, tokens *t, serve_reply *reply)
{
    const size_t n = json_array_size(arr);
    if (n == 0) {
        bad(reply, param, "%s[%zu] is an empty token array", param, i);
        return -1;
    }
    if (n > s->max_tokens && !truncate) {
        serve_api_error(reply, 413, "invalid_request_error", param,
                        "%s[%zu] has %zu tokens, more than the model's %u, "
                        "and truncation is off",
                        param, i, n, s->max_tokens);
        return -1;
    }
    const size_t kept = n < s->max_tokens ? n : s->max_tokens;
    for (size_t j = 0; j < kept; j++) {
        json_t *v = json_array_get(arr, j);
        if (!json_is_integer(v)) {
            bad(reply, param, "%s[%zu][%zu] must be an integer token id", param,
                i, j);
            return -1;
        }
        json_int_t id = json_integer_value(v);
        if (id < 0 || id >= (json_int_t)s->info.vocab_size) {
            bad(reply, param,
                "%s[%zu][%zu]: token id %lld is outside the vocabulary "
                "(0..%u)",
                param, i, j, (long long)id, s->info.vocab_size - 1);
            return -1;
        }
        t->ids[i * s->max_tokens + j] = (int32_t)id;
    }
    t->lengths[i] = kept;
    return 0;
}

/* One text tokenized into row i; 0 or -1 (answered). */
static int read_text(serve *s, body *b, json_t *str, size_t i, int truncate,
                     const char *param, tokens *t, serve_reply *reply)
{
    if (!s->info.has_tokenizer) {
        bad(reply, param,
            "model '%s' has no tokenizer: give %s as token arrays",
            s->info.name, param);
        return -1;
    }
    size_t length, n = 0;
    char *text = body_string(b, str, &length);
    if (!text) {
        serve_api_error(reply, 500, "server_error", NULL, "out of memory");
        return -1;
    }
    clenc_status st =
        clenc_tokenize_n(s->model, text, length, NULL, 0, s->max_tokens,
                         t->ids + i * s->max_tokens, NULL, &n);
    free(text);
    if (st != CLENC_OK) {
        bad(reply, param, "%s[%zu]: %s: %s", param, i, clenc_status_name(st),
            clenc_last_error());
        return -1;
    }
    /* clenc_tokenize_n truncates and gives no count past the limit: a text
     * that fills it is taken as longer (README, "Serving"). */
    if (n >= s->max_tokens && !truncate) {
        serve_api_error(reply, 413, "invalid_request_error", param,
                        "%s[%zu] reaches the model's limit of %u tokens, and "
                        "truncation is off",
                        param, i, s->max_tokens);
        return -1;
    }
    if (n == 0) {
        /* clenc_encode takes no empty sequence: refused here, or it would
         * fail the batch it shares with other requests */
        bad(reply, param,
            "%s[%zu] has no tokens (this tokenizer adds no "
            "special tokens)",
            param, i);
        return -1;
    }
    t->lengths[i] = n;
    return 0;
}

/* `input` (OpenAI) or `inputs` (TEI): a string, an array of strings, an
 * array of token ids, or an array of token-id arrays. 0 or -1 (answered). */
static int read_inputs(serve *s, body *b, json_t *root, const char *param,
                       int truncate, tokens *t, serve_reply *reply)
{
    memset(t, 0, sizeof *t);
    json_t *in = json_object_get(root, param);
    if (!in) {
        bad(reply, param, "'%s' is missing", param);
        return -1;
    }
    const char *shape = "'%s' must be a string, an array of strings, an "
                        "array of token ids or an array of token-id arrays";
    int single_ids = 0;
    size_t count;
    if (json_is_string(in)) {
        count = 1;
    } else if (json_is_array(in)) {
        count = json_array_size(in);
        if (count == 0) {
            bad(reply, param, "'%s' is an empty array", param);
            return -1;
        }
        single_ids = json_is_integer(json_array_get(in, 0));
        if (single_ids)
            count = 1;
    } else {
        bad(reply, param, shape, param);
        return -1;
    }
    if (count > s->lim.max_inputs) {
        serve_api_error(reply, 413, "invalid_request_error", param,
                        "'%s' has %zu inputs, more than the %u a request may "
                        "hold (--max-inputs)",
                        param, count, s->lim.max_inputs);
        return -1;
    }
    t->count = count;
    t->ids = malloc(count * s->max_tokens * sizeof *t->ids);
    t->lengths = calloc(count, sizeof *t->lengths);
    if (!t->ids || !t->lengths) {
        serve_api_error(reply, 500, "server_error", NULL, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        json_t *v =
            json_is_string(in) || single_ids ? in : json_array_get(in, i);
        int r;
        if (json_is_string(v)) {
            r = read_text(s, b, v, i, truncate, param, t, reply);
        } else if (json_is_array(v)) {
            r = read_id_array(s, v, i, truncate, param, t, reply);
        } else {
            bad(reply, param, "%s[%zu]: %s", param, i,
                "must be a string or an array of token ids");
            r = -1;
        }
        if (r)
            return -1;
        t->total += t->lengths[i];
    }
    return 0;
}

/* Encodes the tokens with `pooling` into out ([count][hidden]); 0, or -1
 * (answered). */
static int embed(serve *s, const tokens *t, clenc_pooling pooling,
                 double started_ms, float *out, serve_reply *reply)
{
    serve_item *items = malloc(t->count * sizeof *items);
    if (!items) {
        serve_api_error(reply, 500, "server_error", NULL, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < t->count; i++)
        items[i] = (serve_item){.ids = t->ids + i * s->max_tokens,
                                .tokens = t->lengths[i],
                                .out = out + i * s->hidden};
    serve_job job = {
        .kind = (unsigned)pooling, .items = items, .count = t->count};
    const double left =
        s->lim.request_timeout_ms - (serve_now_ms() - started_ms);
    unsigned st =
        serve_batcher_run(s->batcher, &job, left > 1 ? (unsigned)left : 1);
    free(items);
    if (st == 504)
        serve_api_error(reply, 504, "timeout_error", NULL,
                        "no answer within %u ms (--request-timeout-ms)",
                        s->lim.request_timeout_ms);
    else if (st)
        serve_api_error(reply, 500, "server_error", NULL, "encoding failed: %s",
                        job.message);
    if (!st)
        serve_metrics_tokens(s->metrics, t->count, t->total);
    return st ? -1 : 0;
}

/* POST /v1/embeddings, OpenAI's schema. */
static void openai_embeddings(serve *s, body *b, json_t *root,
                              double started_ms, serve_reply *reply)
{
    if (check_kind(s, "/v1/embeddings", 0, reply))
        return;
    json_t *model = json_object_get(root, "model");
    if (model && !json_is_string(model) && !json_is_null(model)) {
        bad(reply, "model", "'model' must be a string");
        return;
    }
    json_t *fmt = json_object_get(root, "encoding_format");
    int base64 = 0;
    if (fmt && !json_is_null(fmt)) {
        if (!json_is_string(fmt) ||
            (strcmp(json_string_value(fmt), "float") &&
             strcmp(json_string_value(fmt), "base64"))) {
            bad(reply, "encoding_format",
                "'encoding_format' must be \"float\" or \"base64\"");
            return;
        }
        base64 = !strcmp(json_string_value(fmt), "base64");
    }
    json_t *dims = json_object_get(root, "dimensions");
    size_t dim = s->hidden;
    if (dims && !json_is_null(dims)) {
        if (!json_is_integer(dims) || json_integer_value(dims) < 1 ||
            json_integer_value(dims) > (json_int_t)s->hidden) {
            bad(reply, "dimensions", "'dimensions' must be an integer in 1..%u",
                s->hidden);
            return;
        }
        dim = (size_t)json_integer_value(dims);
    }
    tokens t;
    float *out = NULL;
    if (read_inputs(s, b, root, "input", s->lim.truncate, &t, reply))
        goto out_free;
    if (!(out = malloc(t.count * s->hidden * sizeof *out))) {
        serve_api_error(reply, 500, "server_error", NULL, "out of memory");
        goto out_free;
    }
    if (embed(s, &t, s->info.pooling, started_ms, out, reply))
        goto out_free;
    sbuf a = {0};
    puts_(&a, "{\"object\":\"list\",\"data\":[");
    for (size_t i = 0; i < t.count; i++) {
        float *v = out + i * s->hidden;
        if (dim < s->hidden) {
            /* Matryoshka: the first dim values, unit length again */
            double sum = 0;
            for (size_t k = 0; k < dim; k++)
                sum += (double)v[k] * v[k];
            const double norm = sqrt(sum);
            for (size_t k = 0; norm > 0 && k < dim; k++)
                v[k] = (float)(v[k] / norm);
        }
        puts_(&a, i ? ",{\"object\":\"embedding\",\"index\":"
                    : "{\"object\":\"embedding\",\"index\":");
        put_size(&a, i);
        puts_(&a, ",\"embedding\":");
        if (base64) {
            /* little-endian float32, as OpenAI's; the hosts clenc-serve
             * builds on are little-endian */
            put(&a, "\"", 1);
            put_base64(&a, (const unsigned char *)v, dim * sizeof *v);
            put(&a, "\"", 1);
        } else {
            put(&a, "[", 1);
            for (size_t k = 0; k < dim; k++) {
                if (k)
                    put(&a, ",", 1);
                put_float(&a, v[k]);
            }
            put(&a, "]", 1);
        }
        put(&a, "}", 1);
    }
    puts_(&a, "],\"model\":");
    if (model && json_is_string(model))
        put_string(&a, json_string_value(model), json_string_length(model));
    else
        put_string(&a, s->info.name, strlen(s->info.name));
    puts_(&a, ",\"usage\":{\"prompt_tokens\":");
    put_size(&a, t.total);
    puts_(&a, ",\"total_tokens\":");
    put_size(&a, t.total);
    puts_(&a, "}}");
    reply_json(reply, 200, &a);
out_free:
    free(out);
    tokens_free(&t);
}

/* POST /embed, text-embeddings-inference's: [[floats], ...]. */
static void tei_embed(serve *s, body *b, json_t *root, double started_ms,
                      serve_reply *reply)
{
    if (check_kind(s, "/embed", 0, reply))
        return;
    const int normalize = get_bool(root, "normalize", 1, reply);
    const int truncate = get_bool(root, "truncate", s->lim.truncate, reply);
    if (normalize < 0 || truncate < 0)
        return;
    tokens t;
    float *out = NULL;
    if (read_inputs(s, b, root, "inputs", truncate, &t, reply))
        goto out_free;
    if (!(out = malloc(t.count * s->hidden * sizeof *out))) {
        serve_api_error(reply, 500, "server_error", NULL, "out of memory");
        goto out_free;
    }
    const unsigned mode =
        (unsigned)s->info.pooling & ~(unsigned)CLENC_POOL_NORMALIZE;
    const clenc_pooling pooling =
        (clenc_pooling)(mode | (normalize ? CLENC_POOL_NORMALIZE : 0));
    if (embed(s, &t, pooling, started_ms, out, reply))
        goto out_free;
    sbuf a = {0};
    put(&a, "[", 1);
    for (size_t i = 0; i < t.count; i++) {
        puts_(&a, i ? ",[" : "[");
        for (size_t k = 0; k < s->hidden; k++) {
            if (k)
                put(&a, ",", 1);
            put_float(&a, out[i * s->hidden + k]);
        }
        put(&a, "]", 1);
    }
    put(&a, "]", 1);
    reply_json(reply, 200, &a);
out_free:
    free(out);
    tokens_free(&t);
}

/* ------------------------------------------------------------ reranking */

/* A copy without NUL bytes: the tokenizer drops them (clenc_tokenize_n),
 * and clenc_score_pairs takes C strings. */
static char *without_nuls(const body *b, json_t *str)
{
    size_t n;
    char *text = body_string(b, str, &n);
    if (!text)
        return NULL;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (text[i])
            text[kept++] = text[i];
    text[kept] = '\0';
    return text;
}

typedef struct ranked {
    size_t index;
    float score;
} ranked;

static int by_score(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* POST /rerank, text-embeddings-inference's: [{"index", "score"}] best
 * first. */
static void tei_rerank(serve *s, body *b, json_t *root, double started_ms,
                       serve_reply *reply)
{
    if (check_kind(s, "/rerank", 1, reply))
        return;
    json_t *query = json_object_get(root, "query");
    json_t *texts = json_object_get(root, "texts");
    if (!json_is_string(query)) {
        bad(reply, "query", "'query' must be a string");
        return;
    }
    if (!json_is_array(texts) || json_array_size(texts) == 0) {
        bad(reply, "texts",
            "'texts' must be a non-empty array of "
            "strings");
        return;
    }
    const int return_text = get_bool(root, "return_text", 0, reply);
    const int truncate = get_bool(root, "truncate", s->lim.truncate, reply);
    const int raw = get_bool(root, "raw_scores", 0, reply);
    if (return_text < 0 || truncate < 0 || raw < 0)
        return;
    const size_t n = json_array_size(texts);
    if (n > s->lim.max_inputs) {
        serve_api_error(reply, 413, "invalid_request_error", "texts",
                        "'texts' has %zu passages, more than the %u a "
                        "request may hold (--max-inputs)",
                        n, s->lim.max_inputs);
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (!json_is_string(json_array_get(texts, i))) {
            bad(reply, "texts", "texts[%zu] must be a string", i);
            return;
        }
    char *q = without_nuls(b, query);
    char **passages = calloc(n, sizeof *passages);
    serve_item *items = calloc(n, sizeof *items);
    float *scores = malloc(n * sizeof *scores);
    ranked *order = malloc(n * sizeof *order);
    int32_t *ids = malloc(s->max_tokens * sizeof *ids);
    size_t total = 0;
    if (!q || !passages || !items || !scores || !order || !ids) {
        serve_api_error(reply, 500, "server_error", NULL, "out of memory");
        goto out_free;
    }
    for (size_t i = 0; i < n; i++) {
        if (!(passages[i] = without_nuls(b, json_array_get(texts, i)))) {
            serve_api_error(reply, 500, "server_error", NULL, "out of memory");
            goto out_free;
        }
        size_t count = 0;
        clenc_status st = clenc_tokenize(s->model, q, passages[i],
                                         s->max_tokens, ids, NULL, &count);
        if (st != CLENC_OK) {
            bad(reply, "texts", "texts[%zu] (with the query): %s: %s", i,
                clenc_status_name(st), clenc_last_error());
            goto out_free;
        }
        if (count >= s->max_tokens && !truncate) {
            serve_api_error(reply, 413, "invalid_request_error", "texts",
                            "the query with texts[%zu] reaches the model's "
                            "limit of %u tokens, and truncation is off",
                            i, s->max_tokens);
            goto out_free;
        }
        if (count == 0) {
            bad(reply, "texts", "texts[%zu] with the query has no tokens", i);
            goto out_free;
        }
        items[i] = (serve_item){.query = q,
                                .passage = passages[i],
                                .tokens = count,
                                .out = scores + i};
        total += count;
    }
    serve_job job = {.kind = SERVE_KIND_SCORE | (raw ? CLENC_SCORES_RAW : 0),
                     .items = items,
                     .count = n};
    const double left =
        s->lim.request_timeout_ms - (serve_now_ms() - started_ms);
    unsigned st =
        serve_batcher_run(s->batcher, &job, left > 1 ? (unsigned)left : 1);
    if (st == 504) {
        serve_api_error(reply, 504, "timeout_error", NULL,
                        "no answer within %u ms (--request-timeout-ms)",
                        s->lim.request_timeout_ms);
        goto out_free;
    }
    if (st) {
        serve_api_error(reply, 500, "server_error", NULL, "scoring failed: %s",
                        job.message);
        goto out_free;
    }
    serve_metrics_tokens(s->metrics, n, total);
    for (size_t i = 0; i < n; i++)
        order[i] = (ranked){i, scores[i]};
    qsort(order, n, sizeof *order, by_score);
    sbuf a = {0};
    put(&a, "[", 1);
    for (size_t i = 0; i < n; i++) {
        puts_(&a, i ? ",{\"index\":" : "{\"index\":");
        put_size(&a, order[i].index);
        puts_(&a, ",\"score\":");
        put_float(&a, order[i].score);
        if (return_text) {
            json_t *text = json_array_get(texts, order[i].index);
            puts_(&a, ",\"text\":");
            put_string(&a, json_string_value(text), json_string_length(text));
        }
        put(&a, "}", 1);
    }
    put(&a, "]", 1);
    reply_json(reply, 200, &a);
out_free:
    for (size_t i = 0; passages && i < n; i++)
        free(passages[i]);
    free(passages);
    free(q);
    free(items);
    free(scores);
    free(order);
    free(ids);
}

/* ---------------------------------------------------------- the GETs */

static const char *kind_name(const serve *s)
{
    return s->info.head == CLENC_HEAD_NONE ? "embedding"
           : s->info.num_labels == 1       ? "reranker"
                                           : "classifier";
}

static void info(serve *s, serve_reply *reply)
{
    const serve_limits *l = &s->lim;
    json_t *v = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:s?,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:"
        "I,s:I,s:b}}",
        "model", s->info.name, "kind", kind_name(s), "version", clenc_version(),
        "device", s->device.name, "precision",
        clenc_precision_name(s->info.precision), "dim", (json_int_t)s->hidden,
        "max_input_tokens", (json_int_t)s->max_tokens, "num_labels",
        (json_int_t)s->info.num_labels, "device_type",
        clenc_device_type_name(s->device.type), "limits", "max_batch_tokens",
        (json_int_t)l->max_batch_tokens, "max_batch", (json_int_t)l->max_batch,
        "max_wait_ms", (json_int_t)l->max_wait_ms, "max_queue",
        (json_int_t)l->max_queue, "max_body_bytes",
        (json_int_t)l->max_body_bytes, "max_inputs", (json_int_t)l->max_inputs,
        "max_connections", (json_int_t)l->max_connections, "request_timeout_ms",
        (json_int_t)l->request_timeout_ms, "truncate", l->truncate);
    /* "device" stays the first device's name; "devices" lists them all,
     * with the P:D spec that selects each. */
    json_t *devices = json_array();
    for (unsigned i = 0; v && devices && i < s->device_count; i++) {
        const clenc_device_info *d = &s->devices[i];
        char spec[32];
        snprintf(spec, sizeof spec, "%u:%u", d->platform_index,
                 d->device_index);
        json_array_append_new(devices,
                              json_pack("{s:s,s:s,s:s}", "name", d->name,
                                        "device", spec, "device_type",
                                        clenc_device_type_name(d->type)));
    }
    if (v)
        json_object_set_new(v, "devices", devices);
    else
        json_decref(devices);
    reply_value(reply, 200, v);
}

static void models(serve *s, serve_reply *reply)
{
    json_t *v = json_pack("{s:s,s:[{s:s,s:s,s:i,s:s}]}", "object", "list",
                          "data", "id", s->info.name, "object", "model",
                          "created", 0, "owned_by", "clenc");
    reply_value(reply, 200, v);
}

static void metrics(serve *s, serve_reply *reply)
{
    size_t length = 0;
    char *text = serve_metrics_text(s->metrics, &length);
    if (!text) {
        serve_api_error(reply, 500, "server_error", NULL, "out of memory");
        return;
    }
    reply->status = 200;
    reply->body = text;
    reply->length = length;
    reply->content_type = "text/plain; version=0.0.4";
}

/* ------------------------------------------------------------- routing */

typedef void (*post_handler)(serve *, body *, json_t *, double, serve_reply *);

static const struct route {
    const char *url, *method;
} routes[] = {{"/v1/embeddings", "POST"}, {"/embed", "POST"},
              {"/rerank", "POST"},        {"/health", "GET"},
              {"/info", "GET"},           {"/v1/models", "GET"},
              {"/metrics", "GET"}};

static void post(serve *s, post_handler handler, const char *data,
                 size_t length, double started_ms, serve_reply *reply)
{
    /* A place in the queue before the body is parsed: what requests hold
     * in memory is bounded by --max-queue, not by the connections. */
    if (serve_batcher_enter(s->batcher)) {
        serve_api_error(reply, 503, "overloaded_error", NULL,
                        "the queue is full (%u requests, --max-queue): retry "
                        "later",
                        s->lim.max_queue);
        reply->retry_after = 1;
        return;
    }
    body b;
    json_t *root = NULL;
    if (!body_read(&b, data, length, reply) && (root = parse(&b, reply)))
        handler(s, &b, root, started_ms, reply);
    json_decref(root);
    body_free(&b);
    serve_batcher_leave(s->batcher);
}

void serve_api_handle(serve *s, const char *method, const char *url,
                      const char *data, size_t length, double started_ms,
                      serve_reply *reply)
{
    const struct route *route = NULL;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (!strcmp(url, routes[i].url))
            route = &routes[i];
    if (!route) {
        serve_api_error(reply, 404, "invalid_request_error", NULL,
                        "no endpoint %s", url);
        return;
    }
    if (strcmp(method, route->method)) {
        serve_api_error(reply, 405, "invalid_request_error", NULL,
                        "%s takes %s, not %s", url, route->method, method);
        return;
    }
    if (!strcmp(url, "/health")) {
        reply->status = 200;
        reply->body = strdup("{\"status\":\"ok\"}");
        reply->length = reply->body ? strlen(reply->body) : 0;
        reply->content_type = "application/json";
    } else if (!strcmp(url, "/info")) {
        info(s, reply);
    } else if (!strcmp(url, "/v1/models")) {
        models(s, reply);
    } else if (!strcmp(url, "/metrics")) {
        metrics(s, reply);
    } else {
        post(s,
             !strcmp(url, "/v1/embeddings") ? openai_embeddings
             : !strcmp(url, "/embed")       ? tei_embed
                                            : tei_rerank,
             data, length, started_ms, reply);
    }
}
