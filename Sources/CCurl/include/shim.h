// libcurl for Swift, loaded when the first HTTP transport starts (dlopen of libcurl.so.4), not when the process
// starts: libcurl's dependencies (TLS, Kerberos, LDAP, SSH, IDN, …, some thirty libraries) cost a command that never
// speaks HTTP (history, show, status, export on a state file) about 7 ms of every start, a third of it.
//
// Every libcurl function Switchyard calls goes through the table `sy_curl()` returns; the header only gives libcurl's
// types and constants. curl_easy_setopt, curl_easy_getinfo and curl_multi_setopt are variadic, which Swift cannot
// call, so each argument type gets a typed wrapper here. Until libcurl is loaded (or when it cannot be), each wrapper
// answers as libcurl does for a handle it could not make: NULL, CURLE_FAILED_INIT or CURLM_INTERNAL_ERROR.
#ifndef SWITCHYARD_CCURL_SHIM_H
#define SWITCHYARD_CCURL_SHIM_H

#include <curl/curl.h>
#include <stddef.h>

typedef size_t (*sy_data_callback)(char *data, size_t size, size_t count, void *context);

/// The libcurl functions Switchyard uses, resolved from libcurl.so.4.
typedef struct sy_curl_api {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *easy);
    const char *(*easy_strerror)(CURLcode code);
    CURLcode (*easy_setopt)(CURL *easy, CURLoption option, ...);
    CURLcode (*easy_getinfo)(CURL *easy, CURLINFO info, ...);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_cleanup)(CURLM *multi);
    CURLMcode (*multi_add_handle)(CURLM *multi, CURL *easy);
    CURLMcode (*multi_remove_handle)(CURLM *multi, CURL *easy);
    CURLMcode (*multi_perform)(CURLM *multi, int *running);
    CURLMcode (*multi_poll)(CURLM *multi, struct curl_waitfd extra[], unsigned int count, int timeout_ms, int *numfds);
    CURLMsg *(*multi_info_read)(CURLM *multi, int *left);
    CURLMcode (*multi_wakeup)(CURLM *multi);
    CURLMcode (*multi_setopt)(CURLM *multi, CURLMoption option, ...);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *line);
    void (*slist_free_all)(struct curl_slist *list);
} sy_curl_api;

/// The table, libcurl loaded on the first call (once per process, thread-safe); NULL when it cannot be loaded.
const sy_curl_api *sy_curl(void);
/// Why it could not be loaded (dlopen's or dlsym's words), or NULL.
const char *sy_curl_load_error(void);
/// The name it is loaded by.
extern const char *const sy_curl_soname;

static inline CURLcode sy_global_init(void) {
    const sy_curl_api *api = sy_curl();
    return api ? api->global_init(CURL_GLOBAL_DEFAULT) : CURLE_FAILED_INIT;
}

static inline CURL *sy_easy_init(void) {
    const sy_curl_api *api = sy_curl();
    return api ? api->easy_init() : NULL;
}

static inline void sy_easy_cleanup(CURL *easy) {
    const sy_curl_api *api = sy_curl();
    if (api) api->easy_cleanup(easy);
}

static inline const char *sy_easy_strerror(CURLcode code) {
    const sy_curl_api *api = sy_curl();
    return api ? api->easy_strerror(code) : "libcurl is not loaded";
}

static inline CURLcode sy_easy_setopt_long(CURL *easy, CURLoption option, long value) {
    const sy_curl_api *api = sy_curl();
    return api ? api->easy_setopt(easy, option, value) : CURLE_FAILED_INIT;
}

static inline CURLcode sy_easy_setopt_ptr(CURL *easy, CURLoption option, const void *value) {
    const sy_curl_api *api = sy_curl();
    return api ? api->easy_setopt(easy, option, value) : CURLE_FAILED_INIT;
}

static inline CURLcode sy_easy_setopt_off(CURL *easy, CURLoption option, curl_off_t value) {
    const sy_curl_api *api = sy_curl();
    return api ? api->easy_setopt(easy, option, value) : CURLE_FAILED_INIT;
}

/// For CURLOPT_WRITEFUNCTION and CURLOPT_HEADERFUNCTION, which share one signature.
static inline CURLcode sy_easy_setopt_data_callback(CURL *easy, CURLoption option, sy_data_callback callback) {
    const sy_curl_api *api = sy_curl();
    return api ? api->easy_setopt(easy, option, callback) : CURLE_FAILED_INIT;
}

static inline CURLcode sy_easy_getinfo_long(CURL *easy, CURLINFO info, long *value) {
    const sy_curl_api *api = sy_curl();
    return api ? api->easy_getinfo(easy, info, value) : CURLE_FAILED_INIT;
}

static inline CURLcode sy_easy_getinfo_off(CURL *easy, CURLINFO info, curl_off_t *value) {
    const sy_curl_api *api = sy_curl();
    return api ? api->easy_getinfo(easy, info, value) : CURLE_FAILED_INIT;
}

static inline CURLM *sy_multi_init(void) {
    const sy_curl_api *api = sy_curl();
    return api ? api->multi_init() : NULL;
}

static inline CURLMcode sy_multi_cleanup(CURLM *multi) {
    const sy_curl_api *api = sy_curl();
    return api ? api->multi_cleanup(multi) : CURLM_INTERNAL_ERROR;
}

static inline CURLMcode sy_multi_add_handle(CURLM *multi, CURL *easy) {
    const sy_curl_api *api = sy_curl();
    return api ? api->multi_add_handle(multi, easy) : CURLM_INTERNAL_ERROR;
}

static inline CURLMcode sy_multi_remove_handle(CURLM *multi, CURL *easy) {
    const sy_curl_api *api = sy_curl();
    return api ? api->multi_remove_handle(multi, easy) : CURLM_INTERNAL_ERROR;
}

static inline CURLMcode sy_multi_perform(CURLM *multi, int *running) {
    const sy_curl_api *api = sy_curl();
    return api ? api->multi_perform(multi, running) : CURLM_INTERNAL_ERROR;
}

static inline CURLMcode sy_multi_poll(CURLM *multi, struct curl_waitfd extra[], unsigned int count, int timeout_ms, int *numfds) {
    const sy_curl_api *api = sy_curl();
    return api ? api->multi_poll(multi, extra, count, timeout_ms, numfds) : CURLM_INTERNAL_ERROR;
}

static inline CURLMsg *sy_multi_info_read(CURLM *multi, int *left) {
    const sy_curl_api *api = sy_curl();
    return api ? api->multi_info_read(multi, left) : NULL;
}

static inline CURLMcode sy_multi_wakeup(CURLM *multi) {
    const sy_curl_api *api = sy_curl();
    return api ? api->multi_wakeup(multi) : CURLM_INTERNAL_ERROR;
}

static inline CURLMcode sy_multi_setopt_long(CURLM *multi, CURLMoption option, long value) {
    const sy_curl_api *api = sy_curl();
    return api ? api->multi_setopt(multi, option, value) : CURLM_INTERNAL_ERROR;
}

static inline struct curl_slist *sy_slist_append(struct curl_slist *list, const char *line) {
    const sy_curl_api *api = sy_curl();
    return api ? api->slist_append(list, line) : NULL;
}

static inline void sy_slist_free_all(struct curl_slist *list) {
    const sy_curl_api *api = sy_curl();
    if (api) api->slist_free_all(list);
}

/// The result of a finished transfer (a union member in CURLMsg).
static inline CURLcode sy_msg_result(const CURLMsg *message) {
    return message->data.result;
}

static inline int sy_msg_is_done(const CURLMsg *message) {
    return message->msg == CURLMSG_DONE;
}

static const long sy_http_version_1_1 = CURL_HTTP_VERSION_1_1;
static const size_t sy_error_size = CURL_ERROR_SIZE;

#endif
