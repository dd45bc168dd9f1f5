/* http.c — clenc-serve's HTTP/1.1 on libmicrohttpd: a thread per connection, bodies gathered within --max-body-bytes, the API key, the connection limit and shutdown's refusals, then the API answers. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "serve.h"

/* Connections past --max-connections are answered 503 up to this many
 * more; past those, libmicrohttpd closes them unanswered. */
#define CONNECTION_GRACE 32
/* Seconds a connection may sit idle, a slow upload included. */
#define IDLE_TIMEOUT_S 60

struct serve_http {
    serve *s;
    struct MHD_Daemon *daemon;
    pthread_mutex_t lock;
    unsigned connections;
};

/* One request, from its headers to its answer's end. */
typedef struct request {
    char *body;
    size_t length, capacity;
    size_t received; /* all of it, what was kept or not */
    unsigned refuse; /* a status decided before the body came */
    int counted;     /* in serve.active */
    double started_ms;
} request;

static const char *header(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* The same length and bytes, in time that does not depend on where they
 * differ. */
static int same_key(const char *given, const char *key)
{
    const size_t n = strlen(key);
    if (strlen(given) != n)
        return 0;
    unsigned char diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(given[i] ^ key[i]);
    return diff == 0;
}

static unsigned authorised(const serve *s, struct MHD_Connection *c,
                           const char *url)
{
    if (!s->api_key || !strcmp(url, "/health"))
        return 1;
    const char *auth = header(c, MHD_HTTP_HEADER_AUTHORIZATION);
    return auth && !strncmp(auth, "Bearer ", 7) &&
           same_key(auth + 7, s->api_key);
}

static enum MHD_Result send_reply(struct MHD_Connection *c, serve_reply *reply,
                                  int close)
{
    if (!reply->body)
        reply->length = 0;
    struct MHD_Response *r = MHD_create_response_from_buffer(
        reply->length, reply->body ? reply->body : (void *)"",
        reply->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(reply->body);
        return MHD_NO;
    }
    if (reply->content_type)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                reply->content_type);
    if (reply->retry_after) {
        char secs[16];
        snprintf(secs, sizeof secs, "%u", reply->retry_after);
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, secs);
    }
    if (reply->status == 401)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (close)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ok = MHD_queue_response(c, reply->status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **state)
{
    serve_http *h = cls;
    serve *s = h->s;
    request *r = *state;
    (void)version;
    if (!r) {
        if (!(r = calloc(1, sizeof *r)))
            return MHD_NO;
        *state = r;
        r->started_ms = serve_now_ms();
        pthread_mutex_lock(&s->lock);
        if (s->draining) {
            r->refuse = 503;
        } else {
            s->active++;
            r->counted = 1;
        }
        pthread_mutex_unlock(&s->lock);
        pthread_mutex_lock(&h->lock);
        const unsigned connections = h->connections;
        pthread_mutex_unlock(&h->lock);
        if (!r->refuse && !authorised(s, c, url))
            r->refuse = 401;
        if (!r->refuse && connections > s->lim.max_connections)
            r->refuse = 503;
        const char *declared = header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (!r->refuse && declared &&
            strtoull(declared, NULL, 10) > s->lim.max_body_bytes)
            r->refuse = 413;
        /* The body is read (and dropped when refused) before the answer:
         * a client still sending would see a reset instead of it. */
        return MHD_YES;
    }
    if (*upload_size) {
        const size_t n = *upload_size;
        *upload_size = 0;
        r->received += n;
        if (r->refuse)
            return MHD_YES;
        if (r->received > s->lim.max_body_bytes) {
            r->refuse = 413;
            free(r->body);
            r->body = NULL;
            return MHD_YES;
        }
        if (r->length + n > r->capacity) {
            size_t cap = r->capacity ? r->capacity : 16384;
            while (cap < r->length + n)
                cap *= 2;
            if (cap > s->lim.max_body_bytes)
                cap = s->lim.max_body_bytes;
            char *grown = realloc(r->body, cap);
            if (!grown) {
                r->refuse = 500;
                return MHD_YES;
            }
            r->body = grown;
            r->capacity = cap;
        }
        memcpy(r->body + r->length, upload, n);
        r->length += n;
        return MHD_YES;
    }
    serve_reply reply = {0};
    int close = 0;
    switch (r->refuse) {
    case 0:
        serve_api_handle(s, method, url, r->body ? r->body : "", r->length,
                         r->started_ms, &reply);
        break;
    case 401:
        serve_api_error(&reply, 401, "authentication_error", NULL,
                        "missing or wrong API key: send 'Authorization: "
                        "Bearer KEY'");
        break;
    case 413:
        serve_api_error(&reply, 413, "invalid_request_error", NULL,
                        "the request body is over %zu bytes "
                        "(--max-body-bytes)",
                        s->lim.max_body_bytes);
        close = 1;
        break;
    case 500:
        serve_api_error(&reply, 500, "server_error", NULL,
                        "out of memory for the request body");
        close = 1;
        break;
    default:
        pthread_mutex_lock(&s->lock);
        const int draining = s->draining;
        pthread_mutex_unlock(&s->lock);
        serve_api_error(&reply, 503, "overloaded_error", NULL, "%s",
                        draining ? "the server is shutting down"
                                 : "too many connections "
                                   "(--max-connections): retry later");
        reply.retry_after = 1;
        close = 1;
    }
    pthread_mutex_lock(&s->lock);
    close |= s->draining;
    pthread_mutex_unlock(&s->lock);
    serve_metrics_request(s->metrics, url, reply.status);
    return send_reply(c, &reply, close);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **state,
                         enum MHD_RequestTerminationCode why)
{
    serve_http *h = cls;
    request *r = *state;
    (void)c;
    (void)why;
    if (!r)
        return;
    if (r->counted) {
        pthread_mutex_lock(&h->s->lock);
        h->s->active--;
        pthread_cond_broadcast(&h->s->idle);
        pthread_mutex_unlock(&h->s->lock);
    }
    free(r->body);
    free(r);
    *state = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket,
                          enum MHD_ConnectionNotificationCode what)
{
    serve_http *h = cls;
    (void)c;
    (void)socket;
    const int delta = what == MHD_CONNECTION_NOTIFY_STARTED ? 1 : -1;
    pthread_mutex_lock(&h->lock);
    h->connections += (unsigned)delta;
    pthread_mutex_unlock(&h->lock);
    serve_metrics_connections(h->s->metrics, delta);
}

serve_http *serve_http_start(serve *s, const char *host, unsigned port,
                             unsigned *bound_port)
{
    struct sockaddr_storage addr;
    memset(&addr, 0, sizeof addr);
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
                     MHD_USE_AUTO;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&addr;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        flags |= MHD_USE_IPv6;
    } else {
        fprintf(stderr,
                "clenc-serve: --host '%s' is not an IPv4 or IPv6 "
                "address\n",
                host);
        return NULL;
    }
    serve_http *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->s = s;
    pthread_mutex_init(&h->lock, NULL);
    h->daemon = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_LIMIT,
        s->lim.max_connections + CONNECTION_GRACE,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, h, MHD_OPTION_END);
    if (!h->daemon) {
        fprintf(stderr,
                "clenc-serve: cannot listen on %s port %u (in use, "
                "or not an address of this machine)\n",
                host, port);
        pthread_mutex_destroy(&h->lock);
        free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    *bound_port = info ? info->port : port;
    return h;
}

void serve_http_quiesce(serve_http *h)
{
    MHD_socket listener = MHD_quiesce_daemon(h->daemon);
    if (listener != MHD_INVALID_SOCKET)
        close(listener);
}

void serve_http_stop(serve_http *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->daemon);
    pthread_mutex_destroy(&h->lock);
    free(h);
}
