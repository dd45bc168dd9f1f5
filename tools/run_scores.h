/* run_scores.h — clenc-run's --rerank and --classify: a classification head's scores, ranked and printed. */
#ifndef CLENC_RUN_SCORES_H
#define CLENC_RUN_SCORES_H

#include <stddef.h>

#include "clenc.h"

/* What clenc-run has set up for a scoring run. */
typedef struct scores_run {
    const clenc_model *model; /* tokenizer and labels */
    clenc_session *session;   /* one device, or: */
    clenc_pool *pool;         /* --device all or a list */
    const clenc_model_info *info;
    const char *device_name;
    const char *input; /* --input FILE ('-': standard input), or NULL */
    int json, raw;     /* --json, --raw-scores */
} scores_run;

/* 0 when the model has a head that fits the mode (rerank: one label);
 * else a usage error naming the model and its num_labels (status 2). */
int scores_check_model(const clenc_model_info *info, int rerank);
/* Scores (query, passage) for each passage (of the arguments, or of each
 * line of --input) and prints them best first. Returns the exit status. */
int scores_rerank(const scores_run *s, const char *query, char **passages,
                  size_t n);
/* The labels' scores of each text (argument, or line of --input), best
 * label first. Returns the exit status. */
int scores_classify(const scores_run *s, char **texts, size_t n);

#endif
