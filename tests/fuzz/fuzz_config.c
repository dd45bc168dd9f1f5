/* fuzz_config.c — libFuzzer target: the config readers (clenc__model_files_read) over arbitrary config.json, modules.json, pooling, tokenizer and sentence-transformers files. */
#define _GNU_SOURCE /* memmem */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/config.h"
#include "fuzz_fault.h"

/* The reader takes a folder, so each input is written into a private one
 * (mkdtemp: unique per process, on tmpfs when /dev/shm exists; removed at
 * exit). The input holds up to six files, in the order of `files`, separated
 * by SEPARATOR; a file past the input's last part is absent, which is a
 * different case from an empty one. vocab.txt and model.safetensors are
 * fixed: the reader only checks that they exist, then the tokenizer loads
 * vocab.txt with the special tokens the files chose. */
#define SEPARATOR "\n%%\n"

static const char *const files[] = {
    "config.json",           "modules.json",
    "1_Pooling/config.json", "tokenizer_config.json",
    "special_tokens_map.json", "sentence_bert_config.json",
};
#define FILE_COUNT (sizeof files / sizeof files[0])

static const char vocab[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n<s>\n</s>\n"
                            "<unk>\n<pad>\n<mask>\nhello\nworld\n##s\n,\n!\n";

static char folder[4096];

/* The target's own paths stay off the runtime's allocator, whose failures
 * are injected. */
static const char *path_in(const char *name, char path[8192])
{
    snprintf(path, 8192, "%s/%s", folder, name);
    return path;
}

static int write_file(const char *name, const void *data, size_t size)
{
    char path[8192];
    FILE *f = fopen(path_in(name, path), "wb");
    int ok = f && fwrite(data, 1, size, f) == size;
    if (f && fclose(f) != 0)
        ok = 0;
    return ok;
}

static void remove_file(const char *name)
{
    char path[8192];
    unlink(path_in(name, path));
}

static void remove_folder(void)
{
    char path[8192];
    for (size_t i = 0; i < FILE_COUNT; i++)
        remove_file(files[i]);
    remove_file("vocab.txt");
    remove_file("model.safetensors");
    rmdir(path_in("1_Pooling", path));
    rmdir(folder);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *base = getenv("CLENC_FUZZ_TMP");
    struct stat sb;
    if (!base)
        base = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) &&
                       access("/dev/shm", W_OK) == 0
                   ? "/dev/shm"
                   : "/tmp";
    snprintf(folder, sizeof folder, "%s/clenc-fuzz-config-XXXXXX", base);
    if (!mkdtemp(folder)) {
        perror("fuzz_config: mkdtemp");
        exit(1);
    }
    atexit(remove_folder);
    /* An empty safetensors file: 8-byte length 2, header "{}". */
    static const char weights[] = "\x02\0\0\0\0\0\0\0{}";
    char path[8192];
    if (mkdir(path_in("1_Pooling", path), 0700) != 0 ||
        !write_file("vocab.txt", vocab, sizeof vocab - 1) ||
        !write_file("model.safetensors", weights, sizeof weights - 1)) {
        perror("fuzz_config: cannot set up the model folder");
        exit(1);
    }
    return 0;
}

/* What an accepted folder must give: paths, and for BERT a vocabulary and
 * five special-token strings the tokenizer can be built from (or refuse). */
static void check_files(const clenc__model_files *f, int faulted)
{
    if (!f->folder || !f->weights_path)
        __builtin_trap();
    if (f->arch != CLENC__ARCH_BERT)
        return;
    if (!f->vocab_path || f->max_text_tokens > f->config.max_positions)
        __builtin_trap();
    for (int i = 0; i < 5; i++)
        if (!f->special[i])
            __builtin_trap();
    clenc__tokenizer *tok = NULL;
    if (clenc__tokenizer_load(f->vocab_path, &f->tokenizer, &tok) ==
        CLENC_OK) {
        int32_t ids[32], type_ids[32];
        size_t n;
        if (clenc__tokenize(tok, "Hello, worlds! [MASK] <mask> hello", "world",
                            32, ids, type_ids, &n) != CLENC_OK &&
            !faulted)
            __builtin_trap();
        clenc__tokenizer_free(tok);
    } else if (tok) {
        __builtin_trap();
    }
}

static void read_folder(const char *path, int faulted)
{
    clenc__model_files f;
    if (clenc__model_files_read(path, &f) == CLENC_OK) {
        check_files(&f, faulted);
        clenc__model_files_free(&f);
    } else if (f.folder || f.weights_path || f.vocab_path || f.special[0]) {
        __builtin_trap(); /* a failed read leaves nothing to free */
    }
}

/* The files are written once; both runs of fuzz_run read them. */
static void read_both(const uint8_t *data, size_t size, int faulted)
{
    (void)data;
    (void)size;
    char path[8192];
    read_folder(folder, faulted);
    read_folder(path_in("model.safetensors", path), faulted); /* file form */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    size_t sep = strlen(SEPARATOR);
    for (size_t i = 0; i < FILE_COUNT; i++) {
        if (!p) {
            remove_file(files[i]);
            continue;
        }
        const char *next = memmem(p, (size_t)(end - p), SEPARATOR, sep);
        size_t len = next ? (size_t)(next - p) : (size_t)(end - p);
        if (!write_file(files[i], p, len))
            abort();
        p = next ? next + sep : NULL;
    }
    fuzz_run(read_both, data, size);
    return 0;
}
