/* post_processors.c — tokenizer.json's post_processor as one template: TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel and Sequence. */
#include <string.h>

#include "text/tokenizer_json.h"

/* Every post-processor clenc runs adds specials around the sequences and
 * sets type ids; written as tokenizers' TemplateProcessing would: pieces
 * in order, each a sequence (A or B) or a special token's ids, each with a
 * type id. BertProcessing is "[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1";
 * RobertaProcessing "<s> $A </s> </s> $B </s>", every type id 0; none at
 * all (or ByteLevel, which moves offsets only) "$A:0 $B:1", the type ids
 * tokenizers gives each sequence when it encodes it. */

#define MAX_TYPE_ID 65535

static clenc_status piece_push(clenc__template *t, int seq, int32_t type_id,
                               const int32_t *ids, size_t n)
{
    if (t->count == CLENC__TJ_MAX_PIECES)
        return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                           "a post-processor template has over %u pieces",
                           CLENC__TJ_MAX_PIECES);
    if (n > CLENC__TJ_MAX_SPECIAL_IDS - t->special_ids)
        return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                           "a post-processor adds over %u special ids",
                           CLENC__TJ_MAX_SPECIAL_IDS);
    clenc__template_piece *p = &t->pieces[t->count++];
    p->seq = seq;
    p->type_id = type_id;
    p->first = t->special_ids;
    p->n = n;
    if (n)
        memcpy(t->ids + t->special_ids, ids, n * sizeof *ids);
    t->special_ids += n;
    return CLENC_OK;
}

/* ["[SEP]", 102]: BertProcessing's and RobertaProcessing's specials. */
static clenc_status token_pair(json_t *obj, const clenc__jpath *p,
                               const char *key, int32_t *id)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_array(v) || json_array_size(v) != 2 ||
        !json_is_string(json_array_get(v, 0)) ||
        !json_is_integer(json_array_get(v, 1)))
        return clenc__jpath_bad(p, key, "is not a [token, id] pair");
    json_int_t x = json_integer_value(json_array_get(v, 1));
    if (x < 0 || x > CLENC__TJ_MAX_VOCAB)
        return clenc__jpath_bad(p, key, "has id %lld", (long long)x);
    *id = (int32_t)x;
    return CLENC_OK;
}

static clenc_status bert_or_roberta(json_t *obj, const clenc__jpath *p,
                                    int roberta, clenc__post *out)
{
    int32_t cls, sep;
    clenc_status st;
    if ((st = token_pair(obj, p, "cls", &cls)) != CLENC_OK ||
        (st = token_pair(obj, p, "sep", &sep)) != CLENC_OK)
        return st;
    clenc__template *single = &out->single, *pair = &out->pair;
    const int32_t b_type = roberta ? 0 : 1;
    TRY(piece_push(single, -1, 0, &cls, 1), out);
    TRY(piece_push(single, 0, 0, NULL, 0), out);
    TRY(piece_push(single, -1, 0, &sep, 1), out);
    TRY(piece_push(pair, -1, 0, &cls, 1), out);
    TRY(piece_push(pair, 0, 0, NULL, 0), out);
    TRY(piece_push(pair, -1, 0, &sep, 1), out);
    if (roberta)
        TRY(piece_push(pair, -1, 0, &sep, 1), out);
    TRY(piece_push(pair, 1, b_type, NULL, 0), out);
    TRY(piece_push(pair, -1, b_type, &sep, 1), out);
out:
    return st;
}

/* special_tokens: {"[CLS]": {"id": "[CLS]", "ids": [101], "tokens": [...]}}:
 * the ids of `name`. */
static clenc_status special_ids(json_t *specials, const clenc__jpath *p,
                                const char *name, int32_t *ids, size_t *n)
{
    clenc__jpath sp;
    clenc__jpath_sub(p, "special_tokens", -1, &sp);
    json_t *entry = json_object_get(specials, name);
    if (!json_is_object(entry))
        return clenc__jpath_bad(&sp, "", "has no entry for the template's "
                                         "'%.64s'", name);
    clenc__jpath ep;
    clenc__jpath_sub(&sp, name, -1, &ep);
    json_t *list = json_object_get(entry, "ids");
    if (!json_is_array(list) || json_array_size(list) > 64)
        return clenc__jpath_bad(&ep, "ids", "is not a list of at most 64 "
                                            "ids");
    *n = json_array_size(list);
    for (size_t i = 0; i < *n; i++) {
        json_t *v = json_array_get(list, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > CLENC__TJ_MAX_VOCAB)
            return clenc__jpath_bad(&ep, "ids", "holds something other than "
                                                "an id at %zu", i);
        ids[i] = (int32_t)json_integer_value(v);
    }
    return CLENC_OK;
}

/* One of "single" or "pair": [{"SpecialToken": {"id", "type_id"}} or
 * {"Sequence": {"id": "A" | "B", "type_id"}}, ...]. */
static clenc_status template_side(json_t *obj, const clenc__jpath *p,
                                  const char *key, int pair,
                                  clenc__template *t)
{
    json_t *list = json_object_get(obj, key), *specials =
        json_object_get(obj, "special_tokens");
    clenc__jpath lp;
    clenc__jpath_sub(p, key, -1, &lp);
    if (!json_is_array(list))
        return clenc__jpath_bad(p, key, "is not a list");
    int seen[2] = {0, 0};
    for (size_t i = 0; i < json_array_size(list); i++) {
        clenc__jpath ip;
        clenc__jpath_sub(&lp, NULL, (long)i, &ip);
        json_t *item = json_array_get(list, i);
        json_t *special = json_object_get(item, "SpecialToken");
        json_t *seq = json_object_get(item, "Sequence");
        json_t *body = special ? special : seq;
        if (!json_is_object(item) || json_object_size(item) != 1 ||
            !json_is_object(body))
            return clenc__jpath_bad(&ip, "", "is neither {\"SpecialToken\": "
                                             "...} nor {\"Sequence\": ...}");
        clenc__jpath bp;
        clenc__jpath_sub(&ip, special ? "SpecialToken" : "Sequence", -1, &bp);
        const char *id;
        long long type_id;
        clenc_status st;
        if ((st = clenc__jget_string(body, &bp, "id", NULL, &id)) != CLENC_OK ||
            (st = clenc__jget_int(body, &bp, "type_id", 0, 0, MAX_TYPE_ID,
                                  &type_id)) != CLENC_OK)
            return st;
        if (!id)
            return clenc__jpath_bad(&bp, "id", "is missing");
        if (special) {
            int32_t ids[64];
            size_t n = 0;
            if ((st = special_ids(specials, p, id, ids, &n)) != CLENC_OK ||
                (st = piece_push(t, -1, (int32_t)type_id, ids, n)) != CLENC_OK)
                return st;
            continue;
        }
        const int which = strcmp(id, "A") == 0 ? 0 : strcmp(id, "B") == 0 ? 1 : -1;
        if (which < 0 || (which == 1 && !pair))
            return clenc__jpath_bad(&bp, "id", "is '%.16s': a %s template "
                                               "takes %s",
                                    id, pair ? "pair" : "single",
                                    pair ? "A and B" : "A only");
        if (seen[which]++)
            return clenc__jpath_unsupported(&bp, "id", id);
        if ((st = piece_push(t, which, (int32_t)type_id, NULL, 0)) != CLENC_OK)
            return st;
    }
    if (!seen[0] || (pair && !seen[1]))
        return clenc__jpath_bad(p, key, "lacks $%s", seen[0] ? "B" : "A");
    return CLENC_OK;
}

/* The default: no specials, A's type 0 and B's 1. */
static void plain(clenc__post *out)
{
    memset(out, 0, sizeof *out);
    piece_push(&out->single, 0, 0, NULL, 0);
    piece_push(&out->pair, 0, 0, NULL, 0);
    piece_push(&out->pair, 1, 1, NULL, 0);
}

static clenc_status parse_one(json_t *obj, const clenc__jpath *p,
                              clenc__post *out, int *adds)
{
    const char *type;
    clenc_status st;
    *adds = 1;
    if (!json_is_object(obj))
        return clenc__jpath_bad(p, "", "is not an object");
    if ((st = clenc__jget_string(obj, p, "type", NULL, &type)) != CLENC_OK)
        return st;
    if (!type)
        return clenc__jpath_bad(p, "type", "is missing");
    memset(out, 0, sizeof *out);
    if (strcmp(type, "TemplateProcessing") == 0) {
        if ((st = template_side(obj, p, "single", 0, &out->single)) !=
            CLENC_OK)
            return st;
        return template_side(obj, p, "pair", 1, &out->pair);
    }
    if (strcmp(type, "BertProcessing") == 0 ||
        strcmp(type, "RobertaProcessing") == 0)
        return bert_or_roberta(obj, p, type[0] == 'R', out);
    if (strcmp(type, "ByteLevel") == 0) { /* offsets only */
        *adds = 0;
        plain(out);
        return CLENC_OK;
    }
    return clenc__jpath_unsupported(p, "type", type);
}

clenc_status clenc__post_parse(json_t *obj, const clenc__jpath *p,
                               clenc__post *out)
{
    int adds;
    plain(out);
    if (!obj || json_is_null(obj))
        return CLENC_OK;
    const char *type;
    clenc_status st = clenc__jget_string(obj, p, "type", NULL, &type);
    if (st != CLENC_OK || !type || strcmp(type, "Sequence") != 0)
        return parse_one(obj, p, out, &adds);
    /* A Sequence applies each in turn; clenc runs the one that adds
     * specials, and refuses two (each would wrap the other's output). */
    json_t *list = json_object_get(obj, "processors");
    clenc__jpath lp;
    clenc__jpath_sub(p, "processors", -1, &lp);
    if (!json_is_array(list) || json_array_size(list) > CLENC__TJ_MAX_COMPONENTS)
        return clenc__jpath_bad(p, "processors", "is not a list of at most "
                                                 "%u",
                                CLENC__TJ_MAX_COMPONENTS);
    int found = 0;
    for (size_t i = 0; i < json_array_size(list); i++) {
        clenc__jpath ip;
        clenc__jpath_sub(&lp, NULL, (long)i, &ip);
        clenc__post one;
        if ((st = parse_one(json_array_get(list, i), &ip, &one, &adds)) !=
            CLENC_OK)
            return st;
        if (!adds)
            continue;
        if (found++)
            return clenc__jpath_unsupported(&ip, "type",
                                            "a second post-processor that "
                                            "adds tokens");
        *out = one;
    }
    return CLENC_OK;
}

size_t clenc__post_added(const clenc__post *post, int pair)
{
    return (pair ? &post->pair : &post->single)->special_ids;
}

clenc_status clenc__post_run(const clenc__post *post, const int32_t *a,
                             size_t na, const int32_t *b, size_t nb, int pair,
                             int32_t *ids, int32_t *type_ids, size_t *n)
{
    const clenc__template *t = pair ? &post->pair : &post->single;
    size_t k = 0;
    for (size_t i = 0; i < t->count; i++) {
        const clenc__template_piece *p = &t->pieces[i];
        const int32_t *from = p->seq < 0 ? t->ids + p->first : p->seq ? b : a;
        const size_t count = p->seq < 0 ? p->n : p->seq ? nb : na;
        if (count)
            memcpy(ids + k, from, count * sizeof *ids);
        for (size_t j = 0; type_ids && j < count; j++)
            type_ids[k + j] = p->type_id;
        k += count;
    }
    *n = k;
    return CLENC_OK;
}
