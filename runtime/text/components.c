/* components.c — tokenizer.json's "type" names to the components clenc implements, and the Sequence normalizer and pre-tokenizer. */
#include <string.h>

#include "text/pipeline.h"

static clenc_status norm_sequence_parse(json_t *obj, const clenc__jpath *p,
                                        clenc__normalizer **out);
static clenc_status pretok_sequence_parse(json_t *obj, const clenc__jpath *p,
                                          clenc__pretok **out);

static const struct {
    const char *type;
    clenc__normalizer_parse_fn parse;
} normalizers[] = {
    {"Sequence", norm_sequence_parse},
    {"BertNormalizer", clenc__norm_bert_parse},
    {"NFC", clenc__norm_nfc_parse},
    {"NFD", clenc__norm_nfd_parse},
    {"NFKC", clenc__norm_nfkc_parse},
    {"NFKD", clenc__norm_nfkd_parse},
    {"Lowercase", clenc__norm_lowercase_parse},
    {"StripAccents", clenc__norm_strip_accents_parse},
    {"Replace", clenc__norm_replace_parse},
    {"Strip", clenc__norm_strip_parse},
    {"Prepend", clenc__norm_prepend_parse},
    {"Precompiled", clenc__norm_precompiled_parse},
};

static const struct {
    const char *type;
    clenc__pretok_parse_fn parse;
} pretoks[] = {
    {"Sequence", pretok_sequence_parse},
    {"BertPreTokenizer", clenc__pretok_bert_parse},
    {"Whitespace", clenc__pretok_whitespace_parse},
    {"WhitespaceSplit", clenc__pretok_whitespace_split_parse},
    {"Punctuation", clenc__pretok_punctuation_parse},
    {"Digits", clenc__pretok_digits_parse},
    {"Metaspace", clenc__pretok_metaspace_parse},
    {"ByteLevel", clenc__pretok_byte_level_parse},
    {"Split", clenc__pretok_split_parse},
};

static const struct {
    const char *type;
    clenc__tmodel_parse_fn parse;
} models[] = {
    {"WordPiece", clenc__tmodel_wordpiece_parse},
    {"BPE", clenc__tmodel_bpe_parse},
    {"Unigram", clenc__tmodel_unigram_parse},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* obj's "type": a string, or CLENC_ERR_MODEL_FORMAT. A model written by
 * old tokenizers may lack it: `dflt` then (NULL: required). */
static clenc_status type_of(json_t *obj, const clenc__jpath *p,
                            const char *dflt, const char **type)
{
    if (!json_is_object(obj))
        return clenc__jpath_bad(p, "", "is not an object");
    clenc_status st = clenc__jget_string(obj, p, "type", dflt, type);
    if (st == CLENC_OK && !*type)
        return clenc__jpath_bad(p, "type", "is missing");
    return st;
}

/* ------------------------------------------------------------ Sequence */

/* A Sequence of normalizers or of pre-tokenizers: the base its kind runs
 * and frees it through (first, so that a pointer to it is one to the
 * sequence), then its parts: clenc__normalizer * or clenc__pretok *. */
typedef struct sequence {
    union {
        clenc__normalizer norm;
        clenc__pretok pretok;
    } base;
    int of_normalizers;
    void **parts;
    size_t count;
} sequence;

static void sequence_free(sequence *q)
{
    for (size_t i = 0; i < q->count; i++) {
        if (!q->parts[i])
            continue;
        if (q->of_normalizers) {
            clenc__normalizer *n = q->parts[i];
            n->free(n);
        } else {
            clenc__pretok *pt = q->parts[i];
            pt->free(pt);
        }
    }
    clenc__free(q->parts);
    clenc__free(q);
}

static clenc_status norm_sequence_run(const clenc__normalizer *self,
                                      const char *s, size_t n, clenc__str *out)
{
    const sequence *q = (const sequence *)self;
    clenc__str a = {0}, b = {0};
    clenc_status st = clenc__str_put(&a, s, n);
    int moved = 0;
    for (size_t i = 0; st == CLENC_OK && i < q->count; i++) {
        const clenc__normalizer *part = q->parts[i];
        b.moved = 0;
        st = part->run(part, a.p ? a.p : "", a.n, &b);
        moved |= b.moved;
        clenc__str t = a;
        a = b;
        b = t;
    }
    out->n = 0;
    out->moved = moved;
    if (st == CLENC_OK)
        st = clenc__str_put(out, a.p, a.n);
    clenc__str_free(&a);
    clenc__str_free(&b);
    return st;
}

static void norm_sequence_free(clenc__normalizer *self)
{
    sequence_free((sequence *)self);
}

static clenc_status pretok_sequence_run(const clenc__pretok *self,
                                        const clenc__words *in,
                                        clenc__words *out)
{
    const sequence *q = (const sequence *)self;
    clenc__words a = {0}, b = {0};
    clenc_status st = CLENC_OK;
    const clenc__words *from = in;
    for (size_t i = 0; st == CLENC_OK && i < q->count; i++) {
        const clenc__pretok *part = q->parts[i];
        clenc__words *to = i + 1 == q->count ? out : from == &a ? &b : &a;
        clenc__words_clear(to);
        to->at_start = from->at_start;
        st = part->run(part, from, to);
        from = to;
    }
    if (q->count == 0) { /* an empty Sequence keeps the words */
        clenc__words_clear(out);
        out->at_start = in->at_start;
        for (size_t i = 0; st == CLENC_OK && i < in->n; i++)
            st = clenc__words_add(out, in->text.p + in->w[i].start,
                                  in->w[i].end - in->w[i].start);
    }
    clenc__words_free(&a);
    clenc__words_free(&b);
    return st;
}

static void pretok_sequence_free(clenc__pretok *self)
{
    sequence_free((sequence *)self);
}

/* The parts of a Sequence under `key`, each parsed by `parse_one` (which
 * may be this kind's own dispatch: Sequences nest, and the depth is
 * bounded by the JSON parser's). */
static clenc_status sequence_parts(json_t *obj, const clenc__jpath *p,
                                   const char *key, sequence *q,
                                   clenc_status (*parse_one)(json_t *,
                                                             const clenc__jpath *,
                                                             void **))
{
    json_t *list = json_object_get(obj, key);
    clenc__jpath lp;
    clenc__jpath_sub(p, key, -1, &lp);
    if (!json_is_array(list))
        return clenc__jpath_bad(p, key, "is not a list");
    if (json_array_size(list) > CLENC__TJ_MAX_COMPONENTS)
        return clenc__jpath_bad(p, key, "has %zu entries (at most %u)",
                                json_array_size(list),
                                CLENC__TJ_MAX_COMPONENTS);
    /* count only once parts exists: sequence_free walks them */
    if (!(q->parts = clenc__calloc(json_array_size(list) ? json_array_size(list)
                                                         : 1,
                                   sizeof *q->parts)))
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    q->count = json_array_size(list);
    for (size_t i = 0; i < q->count; i++) {
        clenc__jpath ip;
        clenc__jpath_sub(&lp, NULL, (long)i, &ip);
        clenc_status st = parse_one(json_array_get(list, i), &ip, &q->parts[i]);
        if (st != CLENC_OK)
            return st;
        if (!q->parts[i])
            return clenc__jpath_bad(&ip, "", "is null");
    }
    return CLENC_OK;
}

static clenc_status normalizer_one(json_t *obj, const clenc__jpath *p,
                                   void **out)
{
    clenc__normalizer *n = NULL;
    clenc_status st = clenc__normalizer_parse(obj, p, &n);
    *out = n;
    return st;
}

static clenc_status pretok_one(json_t *obj, const clenc__jpath *p, void **out)
{
    clenc__pretok *pt = NULL;
    clenc_status st = clenc__pretok_parse(obj, p, &pt);
    *out = pt;
    return st;
}

/* A Sequence of normalizers (of_normalizers) or of pre-tokenizers; on
 * failure *out is NULL and nothing is left allocated. */
static clenc_status sequence_parse(json_t *obj, const clenc__jpath *p,
                                   int of_normalizers, sequence **out)
{
    sequence *q = clenc__calloc(1, sizeof *q);
    *out = NULL;
    if (!q)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    q->of_normalizers = of_normalizers;
    clenc_status st;
    if (of_normalizers) {
        q->base.norm = (clenc__normalizer){norm_sequence_run,
                                           norm_sequence_free};
        st = sequence_parts(obj, p, "normalizers", q, normalizer_one);
    } else {
        q->base.pretok = (clenc__pretok){pretok_sequence_run,
                                         pretok_sequence_free};
        st = sequence_parts(obj, p, "pretokenizers", q, pretok_one);
    }
    if (st != CLENC_OK) {
        sequence_free(q);
        return st;
    }
    *out = q;
    return CLENC_OK;
}

static clenc_status norm_sequence_parse(json_t *obj, const clenc__jpath *p,
                                        clenc__normalizer **out)
{
    sequence *q;
    clenc_status st = sequence_parse(obj, p, 1, &q);
    *out = q ? &q->base.norm : NULL;
    return st;
}

static clenc_status pretok_sequence_parse(json_t *obj, const clenc__jpath *p,
                                          clenc__pretok **out)
{
    sequence *q;
    clenc_status st = sequence_parse(obj, p, 0, &q);
    *out = q ? &q->base.pretok : NULL;
    return st;
}

/* ------------------------------------------------------------ dispatch */

/* A normalizer's or pre-tokenizer's "type"; NULL for a JSON null or an
 * absent object (no component). */
static clenc_status optional_type(json_t *obj, const clenc__jpath *p,
                                  const char **type)
{
    *type = NULL;
    if (!obj || json_is_null(obj))
        return CLENC_OK;
    return type_of(obj, p, NULL, type);
}

clenc_status clenc__normalizer_parse(json_t *obj, const clenc__jpath *p,
                                     clenc__normalizer **out)
{
    const char *type;
    clenc_status st = optional_type(obj, p, &type);
    *out = NULL;
    if (st != CLENC_OK || !type)
        return st;
    for (size_t i = 0; i < COUNT(normalizers); i++)
        if (strcmp(type, normalizers[i].type) == 0)
            return normalizers[i].parse(obj, p, out);
    return clenc__jpath_unsupported(p, "type", type);
}

clenc_status clenc__pretok_parse(json_t *obj, const clenc__jpath *p,
                                 clenc__pretok **out)
{
    const char *type;
    clenc_status st = optional_type(obj, p, &type);
    *out = NULL;
    if (st != CLENC_OK || !type)
        return st;
    for (size_t i = 0; i < COUNT(pretoks); i++)
        if (strcmp(type, pretoks[i].type) == 0)
            return pretoks[i].parse(obj, p, out);
    return clenc__jpath_unsupported(p, "type", type);
}

/* tokenizers tells an untyped model (old files) by its fields: merges
 * make a BPE, a list vocabulary a Unigram, else WordPiece. */
static const char *untyped_model(json_t *obj)
{
    if (json_object_get(obj, "merges"))
        return "BPE";
    if (json_is_array(json_object_get(obj, "vocab")))
        return "Unigram";
    return "WordPiece";
}

clenc_status clenc__tmodel_parse(json_t *obj, const clenc__jpath *p,
                                 clenc__tmodel **out)
{
    *out = NULL;
    if (!json_is_object(obj))
        return clenc__jpath_bad(p, "", "%s",
                                obj ? "is not an object" : "is missing");
    const char *type;
    clenc_status st = type_of(obj, p, untyped_model(obj), &type);
    if (st != CLENC_OK)
        return st;
    for (size_t i = 0; i < COUNT(models); i++)
        if (strcmp(type, models[i].type) == 0)
            return models[i].parse(obj, p, out);
    return clenc__jpath_unsupported(p, "type", type);
}
