/* device.c — OpenCL platforms and devices: enumerate, describe, choose. */
#define _GNU_SOURCE /* secure_getenv */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl/cl.h"

#define MAX_PLATFORMS 64u

/* Reads a string property into a fixed field, trimmed of the trailing
 * spaces some drivers pad with. */
static void info_string(cl_int (*get)(void *, cl_uint, size_t, void *,
                                      size_t *),
                        void *obj, cl_uint param, char *out, size_t cap)
{
    out[0] = '\0';
    if (get(obj, param, cap, out, NULL) != CL_SUCCESS) {
        /* Longer than the field: read it whole, keep the start. */
        size_t n = 0;
        char *tmp;
        if (get(obj, param, 0, NULL, &n) != CL_SUCCESS || !(tmp = clenc__malloc(n)))
            return;
        if (get(obj, param, n, tmp, NULL) == CL_SUCCESS)
            snprintf(out, cap, "%s", tmp);
        clenc__free(tmp);
    }
    out[cap - 1] = '\0';
    size_t len = strlen(out);
    while (len > 0 && isspace((unsigned char)out[len - 1]))
        out[--len] = '\0';
}

static cl_int get_platform(void *p, cl_uint param, size_t n, void *v,
                           size_t *r)
{
    return clGetPlatformInfo((cl_platform_id)p, param, n, v, r);
}

static cl_int get_device(void *d, cl_uint param, size_t n, void *v, size_t *r)
{
    return clGetDeviceInfo((cl_device_id)d, param, n, v, r);
}

static clenc_status platforms_get(cl_platform_id *ids, cl_uint *count)
{
    cl_int err = clGetPlatformIDs(MAX_PLATFORMS, ids, count);
    if (err == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */ ||
        (err == CL_SUCCESS && *count == 0))
        return clenc__fail(CLENC_ERR_NO_DEVICE,
                           "no OpenCL platform is installed: the ICD loader "
                           "found no vendor file in /etc/OpenCL/vendors (or "
                           "in $OCL_ICD_VENDORS); install a driver, e.g. "
                           "Debian's pocl-opencl-icd");
    if (err != CL_SUCCESS)
        return clenc__cl_fail(err, "clGetPlatformIDs", __FILE__, __LINE__);
    if (*count > MAX_PLATFORMS)
        *count = MAX_PLATFORMS;
    return CLENC_OK;
}

/* A platform that lists no devices (Mesa's Clover without a GPU) or fails to
 * list them counts as empty, not as an error. */
static cl_uint platform_device_count(cl_platform_id p)
{
    cl_uint n = 0;
    if (clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, NULL, &n) != CL_SUCCESS)
        return 0;
    return n;
}

clenc_status clenc_platform_list_sized(clenc_platform_info *platforms,
                                       size_t platform_size, size_t capacity,
                                       size_t *count)
{
    if (!count || (capacity && !platforms))
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_platform_list: count is NULL, or platforms "
                           "is NULL with capacity %zu",
                           capacity);
    /* Only an array that is written needs its element size: a count query
     * (NULL, 0) is answered whatever size comes with it. */
    clenc_status st;
    if (capacity && (st = CLENC__STRUCT_SIZE("clenc_platform_list",
                                             clenc_platform_info,
                                             platform_size)) != CLENC_OK)
        return st;
    *count = 0;
    cl_platform_id ids[MAX_PLATFORMS];
    cl_uint n = 0;
    st = platforms_get(ids, &n);
    if (st != CLENC_OK)
        return st;
    for (cl_uint i = 0; i < n && i < capacity; i++) {
        clenc_platform_info p;
        memset(&p, 0, sizeof p);
        p.index = i;
        info_string(get_platform, ids[i], CL_PLATFORM_NAME, p.name,
                    sizeof p.name);
        info_string(get_platform, ids[i], CL_PLATFORM_VENDOR, p.vendor,
                    sizeof p.vendor);
        info_string(get_platform, ids[i], CL_PLATFORM_VERSION, p.version,
                    sizeof p.version);
        p.device_count = platform_device_count(ids[i]);
        CLENC__STRUCT_OUT((char *)platforms + i * platform_size,
                          platform_size, &p);
    }
    *count = n;
    return CLENC_OK;
}

static void describe(cl_platform_id platform, cl_device_id id,
                     clenc_device_info *d)
{
    memset(d, 0, sizeof *d);
    info_string(get_device, id, CL_DEVICE_NAME, d->name, sizeof d->name);
    info_string(get_device, id, CL_DEVICE_VENDOR, d->vendor, sizeof d->vendor);
    info_string(get_platform, platform, CL_PLATFORM_NAME, d->platform,
                sizeof d->platform);
    info_string(get_device, id, CL_DRIVER_VERSION, d->driver_version,
                sizeof d->driver_version);
    info_string(get_device, id, CL_DEVICE_OPENCL_C_VERSION,
                d->opencl_c_version, sizeof d->opencl_c_version);

    cl_device_type type = 0;
    clGetDeviceInfo(id, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    d->type = (type & CL_DEVICE_TYPE_GPU)           ? CLENC_DEVICE_GPU
              : (type & CL_DEVICE_TYPE_ACCELERATOR) ? CLENC_DEVICE_ACCELERATOR
              : (type & CL_DEVICE_TYPE_CPU)         ? CLENC_DEVICE_CPU
                                                    : CLENC_DEVICE_OTHER;
    cl_uint u = 0;
    if (clGetDeviceInfo(id, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof u, &u,
                        NULL) == CL_SUCCESS)
        d->compute_units = u;
    u = 0;
    if (clGetDeviceInfo(id, CL_DEVICE_MAX_CLOCK_FREQUENCY, sizeof u, &u,
                        NULL) == CL_SUCCESS)
        d->clock_mhz = u;
    cl_ulong l = 0;
    if (clGetDeviceInfo(id, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof l, &l, NULL) ==
        CL_SUCCESS)
        d->global_mem_bytes = l;
    l = 0;
    if (clGetDeviceInfo(id, CL_DEVICE_LOCAL_MEM_SIZE, sizeof l, &l, NULL) ==
        CL_SUCCESS)
        d->local_mem_bytes = l;
    l = 0;
    if (clGetDeviceInfo(id, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof l, &l,
                        NULL) == CL_SUCCESS)
        d->max_alloc_bytes = l;
    cl_bool b = CL_FALSE;
    if (clGetDeviceInfo(id, CL_DEVICE_COMPILER_AVAILABLE, sizeof b, &b,
                        NULL) == CL_SUCCESS)
        d->compiler_available = b == CL_TRUE;

    size_t n = 0;
    char *ext;
    if (clGetDeviceInfo(id, CL_DEVICE_EXTENSIONS, 0, NULL, &n) == CL_SUCCESS &&
        (ext = clenc__malloc(n + 1)) != NULL) {
        if (clGetDeviceInfo(id, CL_DEVICE_EXTENSIONS, n, ext, NULL) ==
            CL_SUCCESS) {
            ext[n] = '\0';
            d->fp16 = strstr(ext, "cl_khr_fp16") != NULL;
            d->fp64 = strstr(ext, "cl_khr_fp64") != NULL;
        }
        clenc__free(ext);
    }
}

clenc_status clenc__device_enumerate(clenc__device **list, size_t *count)
{
    *list = NULL;
    *count = 0;
    cl_platform_id ids[MAX_PLATFORMS];
    cl_uint np = 0;
    clenc_status st = platforms_get(ids, &np);
    if (st != CLENC_OK)
        return st;

    size_t total = 0;
    cl_uint per[MAX_PLATFORMS];
    for (cl_uint p = 0; p < np; p++)
        total += per[p] = platform_device_count(ids[p]);
    if (total == 0)
        return clenc__fail(CLENC_ERR_NO_DEVICE,
                           "%u OpenCL platform(s) found, but none has a "
                           "device",
                           (unsigned)np);

    clenc__device *out = clenc__calloc(total, sizeof *out);
    cl_device_id *devs = clenc__calloc(total, sizeof *devs);
    if (!out || !devs) {
        st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
        goto out_free;
    }
    size_t k = 0;
    for (cl_uint p = 0; p < np; p++) {
        cl_uint got = 0;
        if (per[p] == 0 || clGetDeviceIDs(ids[p], CL_DEVICE_TYPE_ALL, per[p],
                                          devs, &got) != CL_SUCCESS)
            continue;
        for (cl_uint d = 0; d < got && d < per[p] && k < total; d++, k++) {
            out[k].platform = ids[p];
            out[k].id = devs[d];
            describe(ids[p], devs[d], &out[k].info);
            out[k].info.platform_index = p;
            out[k].info.device_index = d;
        }
    }
    *list = out;
    *count = k;
    out = NULL;
out_free:
    clenc__free(devs);
    clenc__free(out);
    return st;
}

const char *clenc_device_type_name(clenc_device_type t)
{
    switch (t) {
    case CLENC_DEVICE_GPU:
        return "GPU";
    case CLENC_DEVICE_ACCELERATOR:
        return "accelerator";
    case CLENC_DEVICE_CPU:
        return "CPU";
    default:
        return "other";
    }
}

static int type_rank(clenc_device_type t)
{
    return t == CLENC_DEVICE_GPU ? 0 : t == CLENC_DEVICE_ACCELERATOR ? 1
                                   : t == CLENC_DEVICE_CPU           ? 2
                                                                     : 3;
}

static int contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) ==
                   tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return n == 0;
}

/* "P:D" with decimal indexes; anything else is not an index spec. */
static int parse_index_spec(const char *s, unsigned *p, unsigned *d)
{
    char *end;
    if (!isdigit((unsigned char)s[0]))
        return 0;
    unsigned long a = strtoul(s, &end, 10);
    if (*end != ':' || !isdigit((unsigned char)end[1]))
        return 0;
    unsigned long b = strtoul(end + 1, &end, 10);
    if (*end != '\0' || a > 65535 || b > 65535)
        return 0;
    *p = (unsigned)a;
    *d = (unsigned)b;
    return 1;
}

static int type_keyword(const char *s, clenc_device_type *t)
{
    static const struct {
        const char *word;
        clenc_device_type type;
    } words[] = {{"gpu", CLENC_DEVICE_GPU},
                 {"accelerator", CLENC_DEVICE_ACCELERATOR},
                 {"cpu", CLENC_DEVICE_CPU}};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t j = 0;
        while (words[i].word[j] &&
               tolower((unsigned char)s[j]) == words[i].word[j])
            j++;
        if (!words[i].word[j] && !s[j]) {
            *t = words[i].type;
            return 1;
        }
    }
    return 0;
}

clenc_status clenc__device_select(const clenc__device *list, size_t count,
                                  const char *spec, size_t *index)
{
    const char *origin = "option";
    if (!spec || !*spec) {
        spec = secure_getenv("CLENC_DEVICE");
        origin = "CLENC_DEVICE";
    }
    size_t best = count;
    if (!spec || !*spec) {
        for (size_t i = 0; i < count; i++)
            if (best == count ||
                type_rank(list[i].info.type) < type_rank(list[best].info.type))
                best = i;
    } else {
        unsigned p = 0, d = 0;
        clenc_device_type t = CLENC_DEVICE_OTHER;
        int by_index = parse_index_spec(spec, &p, &d);
        int by_type = !by_index && type_keyword(spec, &t);
        for (size_t i = 0; i < count && best == count; i++) {
            const clenc_device_info *info = &list[i].info;
            if (by_index ? (info->platform_index == p && info->device_index == d)
                : by_type ? info->type == t
                          : contains_nocase(info->name, spec))
                best = i;
        }
    }
    if (best < count) {
        *index = best;
        return CLENC_OK;
    }
    clenc__fail(CLENC_ERR_NO_DEVICE,
                "no OpenCL device matches %s '%s' (a type: gpu, accelerator, "
                "cpu; an index P:D; or part of a name). Devices:",
                origin, spec);
    for (size_t i = 0; i < count; i++)
        clenc__fail_append("\n  %u:%u  %s  (%s, %s)",
                           list[i].info.platform_index,
                           list[i].info.device_index, list[i].info.name,
                           clenc_device_type_name(list[i].info.type), list[i].info.platform);
    return CLENC_ERR_NO_DEVICE;
}

clenc_status clenc_device_list_sized(clenc_device_info *devices,
                                     size_t device_size, size_t capacity,
                                     size_t *count)
{
    if (!count || (capacity && !devices))
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_device_list: count is NULL, or devices is "
                           "NULL with capacity %zu",
                           capacity);
    clenc_status st;
    if (capacity && (st = CLENC__STRUCT_SIZE("clenc_device_list",
                                             clenc_device_info,
                                             device_size)) != CLENC_OK)
        return st;
    *count = 0;
    clenc__device *list;
    size_t n;
    st = clenc__device_enumerate(&list, &n);
    if (st != CLENC_OK)
        return st;
    for (size_t i = 0; i < n && i < capacity; i++)
        CLENC__STRUCT_OUT((char *)devices + i * device_size, device_size,
                          &list[i].info);
    *count = n;
    clenc__free(list);
    return CLENC_OK;
}

clenc_status clenc_device_find_sized(const char *spec, clenc_device_info *out,
                                     size_t out_size)
{
    if (!out)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_device_find: out is NULL");
    clenc_status st = CLENC__STRUCT_SIZE("clenc_device_find",
                                         clenc_device_info, out_size);
    if (st != CLENC_OK)
        return st;
    clenc__device *list;
    size_t n, i;
    st = clenc__device_enumerate(&list, &n);
    if (st != CLENC_OK)
        return st;
    st = clenc__device_select(list, n, spec, &i);
    if (st == CLENC_OK)
        CLENC__STRUCT_OUT(out, out_size, &list[i].info);
    clenc__free(list);
    return st;
}
