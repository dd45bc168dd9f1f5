/* test_gemm_bench.c — clenc_gemm_bench_read: the benchmark GEMM's C, read back for checking its peers, is the product. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

/* After a run, C [m][n] read back is A·Wᵀ, against sums in double here,
 * at a shape with no tile-sized edge; the host copy starts as NaN, so an
 * unwritten part cannot pass. NULL arguments are refused, naming them. */
void test_gemm_bench_read_gives_the_product(void)
{
    enum { M = 5, N = 37, K = 19 };
    float a[M * K], w[N * K], c[M * N];
    for (int i = 0; i < M * K; i++)
        a[i] = (float)((i * 7) % 11) / 11.0f - 0.5f;
    for (int i = 0; i < N * K; i++)
        w[i] = (float)((i * 5) % 13) / 13.0f - 0.5f;
    memset(c, 0xFF, sizeof c);
    clenc_context *ctx = test_context(NULL);
    clenc_gemm_bench *bench = NULL;
    ASSERT_STATUS(clenc_gemm_bench_create(ctx, M, N, K, a, w, &bench),
                  CLENC_OK);
    double ms = -1;
    ASSERT_STATUS(clenc_gemm_bench_run(bench, 2, &ms), CLENC_OK);
    ASSERT_STATUS(clenc_gemm_bench_read(bench, c), CLENC_OK);
    double worst = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double want = 0;
            for (int x = 0; x < K; x++)
                want += (double)a[i * K + x] * w[j * K + x];
            const double d = fabs(c[i * N + j] - want);
            worst = d <= worst ? worst : isnan(d) ? INFINITY : d;
        }
    CU_ASSERT(worst <= 1e-5);
    ASSERT_STATUS(clenc_gemm_bench_read(bench, NULL), CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("c is NULL");
    ASSERT_STATUS(clenc_gemm_bench_read(NULL, c), CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("bench is NULL");
    clenc_gemm_bench_destroy(bench);
    clenc_context_destroy(ctx);
}
