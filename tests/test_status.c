/* test_status.c — status codes and the thread-local last-error text. */
#include <pthread.h>
#include <string.h>

#include "helpers.h"

void test_status_every_code_has_name_and_message(void)
{
    static const struct {
        clenc_status code;
        const char *name, *text;
    } codes[] = {
#define X(name, value, text) {CLENC_##name, "CLENC_" #name, text},
        CLENC_STATUS_MAP(X)
#undef X
    };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        CU_ASSERT_STRING_EQUAL(clenc_status_name(codes[i].code),
                               codes[i].name);
        CU_ASSERT_STRING_EQUAL(clenc_status_string(codes[i].code),
                               codes[i].text);
        for (size_t j = 0; j < i; j++)
            CU_ASSERT_NOT_EQUAL(codes[i].code, codes[j].code);
    }
    CU_ASSERT_STRING_EQUAL(clenc_status_string((clenc_status)12345),
                           "unknown status");
}

static void *fail_in_thread(void *arg)
{
    (void)arg;
    clenc_context *ctx = NULL;
    clenc_options opt;
    clenc_options_init(&opt);
    opt.device = "no-such-device-in-thread";
    clenc_status st = clenc_context_create(&opt, &ctx);
    return (void *)(st == CLENC_ERR_NO_DEVICE && ctx == NULL &&
                            strstr(clenc_last_error(),
                                   "no-such-device-in-thread")
                        ? "ok"
                        : NULL);
}

void test_last_error_is_per_thread(void)
{
    clenc_device_info info;
    ASSERT_STATUS(clenc_device_find("no-such-device-in-main", &info),
                  CLENC_ERR_NO_DEVICE);
    ASSERT_ERROR_MENTIONS("no-such-device-in-main");
    pthread_t t;
    void *result = NULL;
    CU_ASSERT_FATAL(pthread_create(&t, NULL, fail_in_thread, NULL) == 0);
    pthread_join(t, &result);
    CU_ASSERT_PTR_NOT_NULL(result);
    /* The other thread's failure did not overwrite this thread's text. */
    ASSERT_ERROR_MENTIONS("no-such-device-in-main");
    CU_ASSERT_PTR_NULL(strstr(clenc_last_error(), "in-thread"));
}
