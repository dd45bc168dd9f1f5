/* model_files.c — a model folder's files found and read: config.json, the sentence-transformers files, the tokenizer's configuration. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/config.h"
#include "formats/json.h"

/* modules.json comes with the model, and so must the folder it names: a
 * Pooling path that leads out of the model folder (absolute, which
 * sentence-transformers would follow; a ".." component; a symlink to
 * elsewhere) would read files the model does not own. The files inside may
 * be symlinks, like the folder's other files: the Hugging Face cache links
 * each one to a blob outside the snapshot's folder. */
static clenc_status check_inside(const char *folder, const char *file,
                                 const char *path)
{
    const char *why = NULL;
    int resolved = 0;
    if (path[0] == '/')
        why = "it is absolute";
    for (const char *c = path; !why && *c; c += strcspn(c, "/")) {
        c += strspn(c, "/");
        if (strncmp(c, "..", 2) == 0 && (c[2] == '/' || c[2] == '\0'))
            why = "it climbs out with '..'";
    }
    char root[PATH_MAX], real[PATH_MAX];
    char *sub = why ? NULL : clenc__path_join(folder, path);
    if (!why && !sub)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    /* Unresolvable (missing): reading it reports that. */
    if (sub && realpath(folder, root) && realpath(sub, real)) {
        size_t n = strlen(root);
        if (n > 1 && (strncmp(real, root, n) != 0 ||
                      (real[n] != '/' && real[n] != '\0'))) {
            why = "a symlink on the way leads to ";
            resolved = 1;
        }
    }
    clenc__free(sub);
    if (!why)
        return CLENC_OK;
    return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                       "%s: the Pooling module's path '%s' leads outside the "
                       "model folder: %s%s%s%s",
                       file, path, why, resolved ? "'" : "",
                       resolved ? real : "", resolved ? "'" : "");
}

/* sentence-transformers: modules.json names a Pooling folder and maybe a
 * Normalize module. Without it: mean pooling, no normalisation. */
static clenc_status read_pooling(const char *folder, clenc_config *c)
{
    clenc_status st;
    json_t *modules = NULL, *pool = NULL;
    c->pooling = CLENC_POOL_MEAN;
    char *file = clenc__path_join(folder, "modules.json");
    if (!file)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    if (!clenc__path_exists(file, 0)) {
        st = CLENC_OK;
        goto out;
    }
    json_error_t err;
    if (!(modules = json_load_file(file, 0, &err)) || !json_is_array(modules)) {
        st = clenc__fail(CLENC_ERR_MODEL_FORMAT, "%s: %s", file,
                         modules ? "not a JSON list" : err.text);
        goto out;
    }
    int normalize = 0;
    const char *pool_path = NULL;
    size_t i;
    json_t *m;
    json_array_foreach(modules, i, m)
    {
        const char *type = json_string_value(json_object_get(m, "type"));
        const char *path = json_string_value(json_object_get(m, "path"));
        if (!type)
            continue;
        if (strstr(type, "Normalize"))
            normalize = 1;
        else if (strstr(type, "Pooling"))
            pool_path = path ? path : "";
    }
    if (pool_path) {
        TRY(check_inside(folder, file, pool_path), out);
        char *sub = clenc__path_join(folder, pool_path);
        if (!sub) {
            st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
            goto out;
        }
        st = clenc__json_read(sub, "config.json", 1, 0, &pool);
        clenc__free(sub);
        if (st != CLENC_OK)
            goto out;
        int cls = 0, mean = 0, max = 0, sqrt_len = 0;
        const char *f = "the pooling config";
        TRY(clenc__json_bool(pool, f, "pooling_mode_cls_token", 0, &cls), out);
        TRY(clenc__json_bool(pool, f, "pooling_mode_mean_tokens", 0, &mean), out);
        TRY(clenc__json_bool(pool, f, "pooling_mode_max_tokens", 0, &max), out);
        TRY(clenc__json_bool(pool, f, "pooling_mode_mean_sqrt_len_tokens", 0,
                     &sqrt_len),
            out);
        if (max || sqrt_len || cls + mean != 1) {
            st = clenc__fail(CLENC_ERR_UNSUPPORTED,
                             "%s/%s/config.json: pooling (cls %d, mean %d, "
                             "max %d, mean_sqrt_len %d) is not supported "
                             "(clenc pools by CLS or mean, one of them)",
                             folder, pool_path, cls, mean, max, sqrt_len);
            goto out;
        }
        c->pooling = cls ? CLENC_POOL_CLS : CLENC_POOL_MEAN;
    }
    if (normalize)
        c->pooling = (clenc_pooling)(c->pooling | CLENC_POOL_NORMALIZE);
    st = CLENC_OK;
out:
    json_decref(pool);
    json_decref(modules);
    clenc__free(file);
    return st;
}

/* A special token is a string, or {"content": string} in newer files. */
static const char *token_string(json_t *v)
{
    if (json_is_object(v))
        v = json_object_get(v, "content");
    return json_string_value(v);
}

/* Truncation: sentence-transformers' max_seq_length wins over the
 * tokenizer's model_max_length; the positions cap both (RoBERTa's from
 * padding_idx + 1: 514 of them hold 512 tokens). */
static clenc_status read_truncation(const char *folder, json_t *tc,
                                    json_t *sb, clenc__model_files *f)
{
    clenc_status st = CLENC_OK;
    const unsigned positions =
        f->config.max_positions - f->config.position_offset;
    unsigned limit = positions, v = 0;
    const double mml = json_number_value(json_object_get(tc, "model_max_length"));
    if (mml >= 1 && mml < limit)
        limit = (unsigned)mml;
    if (sb && json_object_get(sb, "max_seq_length")) {
        TRY(clenc__json_uint(sb, "sentence_bert_config.json", "max_seq_length", 0, &v),
            out);
        if (v)
            limit = v < positions ? v : positions;
    }
    /* [CLS] and [SEP] take two tokens: under 3, no text fits and every
     * call would fail; refuse the file once, here. */
    if (limit < 3) {
        const int from_sb = sb && json_object_get(sb, "max_seq_length") && v;
        const int from_tc = !from_sb && mml >= 1 && mml < positions;
        st = clenc__fail(CLENC_ERR_MODEL_FORMAT,
                         "%s/%s: %s %u leaves no room for a token of text "
                         "after [CLS] and [SEP] (at least 3)",
                         folder,
                         from_sb   ? "sentence_bert_config.json"
                         : from_tc ? "tokenizer_config.json"
                                   : "config.json",
                         from_sb   ? "max_seq_length"
                         : from_tc ? "model_max_length"
                                   : "max_position_embeddings",
                         limit);
        goto out;
    }
    f->max_text_tokens = limit;
out:
    return st;
}

static clenc_status read_tokenizer(const char *folder, clenc__model_files *f)
{
    static const char *const keys[5] = {"cls_token", "sep_token", "unk_token",
                                        "pad_token", "mask_token"};
    static const char *const defaults[5] = {"[CLS]", "[SEP]", "[UNK]",
                                            "[PAD]", "[MASK]"};
    clenc_status st;
    json_t *tc = NULL, *map = NULL, *sb = NULL;
    clenc__tokenizer_options *t = &f->tokenizer;
    clenc__tokenizer_options_init(t);
    /* transformers writes int(1e30) as "no limit" into model_max_length, past
     * what a 64-bit integer holds: numbers of this file are read as reals. */
    TRY(clenc__json_read(folder, "tokenizer_config.json", 0, JSON_DECODE_INT_AS_REAL,
                  &tc),
        out);
    TRY(clenc__json_read(folder, "special_tokens_map.json", 0, 0, &map), out);
    TRY(clenc__json_read(folder, "sentence_bert_config.json", 0, 0, &sb), out);
    const char *file = "tokenizer_config.json";
    int lower = 1, accents = -1, cjk = 1;
    if (tc) {
        TRY(clenc__json_bool(tc, file, "do_lower_case", 1, &lower), out);
        TRY(clenc__json_bool(tc, file, "tokenize_chinese_chars", 1, &cjk), out);
        json_t *sa = json_object_get(tc, "strip_accents");
        if (json_is_boolean(sa))
            accents = json_is_true(sa);
    }
    int st_lower = 0;
    if (sb)
        TRY(clenc__json_bool(sb, "sentence_bert_config.json", "do_lower_case", 0,
                     &st_lower),
            out);
    t->lowercase = lower || st_lower;
    t->strip_accents = accents;
    t->chinese_chars = cjk;
    for (int i = 0; i < 5; i++) {
        /* special_tokens_map.json wins over tokenizer_config.json. */
        const char *s = token_string(json_object_get(map, keys[i]));
        if (!s)
            s = token_string(json_object_get(tc, keys[i]));
        if (!(f->special[i] = clenc__strdup(s ? s : defaults[i]))) {
            st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
            goto out;
        }
    }
    t->cls = f->special[0];
    t->sep = f->special[1];
    t->unk = f->special[2];
    t->pad = f->special[3];
    t->mask = f->special[4];

    TRY(read_truncation(folder, tc, sb, f), out);
out:
    json_decref(tc);
    json_decref(map);
    json_decref(sb);
    return st;
}

static clenc_status locate(const char *path, clenc__model_files *f)
{
    size_t n = strlen(path);
    if (clenc__path_exists(path, 1)) {
        f->folder = clenc__strdup(path);
        f->weights_path = clenc__path_join(path, "model.safetensors");
    } else if (n > 12 && strcmp(path + n - 12, ".safetensors") == 0 &&
               clenc__path_exists(path, 0)) {
        const char *slash = strrchr(path, '/');
        f->folder = slash ? clenc__asprintf("%.*s", (int)(slash - path), path)
                          : clenc__strdup(".");
        f->weights_path = clenc__strdup(path);
    } else {
        return clenc__fail(CLENC_ERR_IO,
                           "'%s' is neither a model folder nor a "
                           ".safetensors file%s",
                           path, access(path, F_OK) == 0 ? "" : ": it does not exist");
    }
    if (!f->folder || !f->weights_path)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    char *config = clenc__path_join(f->folder, "config.json");
    char *bin = clenc__path_join(f->folder, "pytorch_model.bin");
    clenc_status st = CLENC_OK;
    if (!config || !bin)
        st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    else if (!clenc__path_exists(config, 0))
        st = clenc__fail(CLENC_ERR_MODEL_FORMAT,
                         "'%s' is not a model folder: it has no config.json",
                         f->folder);
    else if (!clenc__path_exists(f->weights_path, 0))
        st = clenc__fail(CLENC_ERR_MODEL_FORMAT,
                         "'%s' has no model.safetensors%s", f->folder,
                         clenc__path_exists(bin, 0)
                             ? ": clenc reads safetensors, not "
                               "pytorch_model.bin (save it again with "
                               "safetensors.torch.save_file)"
                             : "");
    clenc__free(config);
    clenc__free(bin);
    return st;
}

clenc_status clenc__model_files_read(const char *path, clenc__model_files *f)
{
    clenc_status st;
    json_t *root = NULL;
    memset(f, 0, sizeof *f);
    TRY(locate(path, f), out);
    TRY(clenc__json_read(f->folder, "config.json", 1, 0, &root), out);
    char *file = clenc__path_join(f->folder, "config.json");
    if (!file) {
        st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
        goto out;
    }
    st = clenc__config_read(root, file, &f->arch, &f->config);
    clenc__free(file);
    if (st != CLENC_OK)
        goto out;
    f->max_text_tokens = f->config.max_positions - f->config.position_offset;
    if (f->arch != CLENC__ARCH_TORCH_ENCODER) {
        char *config_file = clenc__path_join(f->folder, "config.json");
        if (!config_file) {
            st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
            goto out;
        }
        st = clenc__head_read(root, config_file, &f->head);
        clenc__free(config_file);
        if (st != CLENC_OK)
            goto out;
        json_t *st_config = NULL;
        TRY(clenc__json_read(f->folder, "config_sentence_transformers.json",
                             0, 0, &st_config),
            out);
        st = clenc__head_activation_file(st_config,
                                         "config_sentence_transformers.json",
                                         &f->head);
        json_decref(st_config);
        if (st != CLENC_OK)
            goto out;
        TRY(read_pooling(f->folder, &f->config), out);
        char *vocab = clenc__path_join(f->folder, "vocab.txt");
        char *fast = clenc__path_join(f->folder, "tokenizer.json");
        if (!vocab || !fast) {
            clenc__free(vocab);
            clenc__free(fast);
            st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
            goto out;
        }
        /* tokenizer.json says everything about the tokenizer, as it does
         * for transformers' fast tokenizers: it wins over vocab.txt. */
        if (clenc__path_exists(fast, 0)) {
            f->tokenizer_json_path = fast;
            clenc__free(vocab);
        } else if (clenc__path_exists(vocab, 0)) {
            f->vocab_path = vocab;
            clenc__free(fast);
        } else {
            clenc__free(vocab);
            clenc__free(fast);
            st = clenc__fail(CLENC_ERR_MODEL_FORMAT,
                             "%s has neither tokenizer.json nor vocab.txt "
                             "for its tokenizer",
                             f->folder);
            goto out;
        }
        TRY(read_tokenizer(f->folder, f), out);
    }
out:
    json_decref(root);
    if (st != CLENC_OK)
        clenc__model_files_free(f);
    return st;
}

void clenc__model_files_free(clenc__model_files *f)
{
    clenc__free(f->folder);
    clenc__free(f->weights_path);
    clenc__free(f->vocab_path);
    clenc__free(f->tokenizer_json_path);
    clenc__head_info_free(&f->head);
    for (int i = 0; i < 5; i++)
        clenc__free(f->special[i]);
    memset(f, 0, sizeof *f);
}
