/* config.h — a model folder's configuration files read into clenc's terms (config.c, model_files.c). */
#ifndef CLENC_CONFIG_H
#define CLENC_CONFIG_H

#include "base/base.h"
#include "text/tokenizer.h"

typedef enum clenc__arch {
    CLENC__ARCH_BERT,         /* HF BertModel and the same layout: RoBERTa,
                                 XLM-RoBERTa, CamemBERT */
    CLENC__ARCH_DISTILBERT,   /* HF DistilBertModel's tensor names */
    CLENC__ARCH_TORCH_ENCODER /* a torch.nn.TransformerEncoder state dict */
} clenc__arch;

/* A sequence-classification head as config.json describes it. */
typedef struct clenc__head_info {
    clenc_head_kind kind; /* NONE: no *ForSequenceClassification */
    unsigned num_labels;
    clenc_score_activation activation;
    char **labels; /* num_labels names (owned) */
} clenc__head_info;

typedef struct clenc__model_files {
    clenc__arch arch;
    clenc_config config; /* final_norm of a torch encoder: from its tensors */
    char *folder;
    char *weights_path;  /* the .safetensors file */
    char *vocab_path;    /* NULL: no tokenizer (or tokenizer.json's) */
    char *tokenizer_json_path; /* tokenizer.json: wins over vocab.txt */
    clenc__tokenizer_options tokenizer;
    char *special[5];    /* owned strings behind tokenizer's cls..mask */
    unsigned max_text_tokens;
    clenc__head_info head;
} clenc__model_files;

/* The architecture and configuration config.json (`root`, read from
 * `file`) describes: a torch TransformerEncoder when its "architectures"
 * says so, else the BERT family (config.c). */
typedef struct json_t json_t;
clenc_status clenc__config_read(json_t *root, const char *file,
                                clenc__arch *arch, clenc_config *config);

/* The head config.json's "architectures" names (transformers'
 * *ForSequenceClassification of BERT, RoBERTa, XLM-RoBERTa, CamemBERT,
 * DistilBERT): id2label, problem_type, and sentence-transformers'
 * CrossEncoder activation_fn choose labels and activation. */
clenc_status clenc__head_read(json_t *root, const char *file,
                              clenc__head_info *out);
/* sentence-transformers 6 writes a CrossEncoder's activation_fn into
 * config_sentence_transformers.json (`st_config`, NULL when absent): it
 * wins over config.json's, as sentence-transformers reads them. */
clenc_status clenc__head_activation_file(json_t *st_config, const char *file,
                                         clenc__head_info *h);
void clenc__head_info_free(clenc__head_info *h);

/* Reads config.json and, when present, modules.json, the pooling config,
 * sentence_bert_config.json, tokenizer_config.json and
 * special_tokens_map.json of the folder `path` names (or of the folder of a
 * .safetensors file). */
clenc_status clenc__model_files_read(const char *path, clenc__model_files *out);
void clenc__model_files_free(clenc__model_files *files);

#endif
