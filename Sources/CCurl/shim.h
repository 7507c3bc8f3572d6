// libcurl for Swift. curl_easy_setopt, curl_easy_getinfo and curl_multi_setopt are variadic, which Swift cannot call,
// so each argument type gets a typed wrapper here.
#ifndef SWITCHYARD_CCURL_SHIM_H
#define SWITCHYARD_CCURL_SHIM_H

#include <curl/curl.h>

typedef size_t (*sy_data_callback)(char *data, size_t size, size_t count, void *context);

static inline CURLcode sy_easy_setopt_long(CURL *easy, CURLoption option, long value) {
    return curl_easy_setopt(easy, option, value);
}

static inline CURLcode sy_easy_setopt_ptr(CURL *easy, CURLoption option, const void *value) {
    return curl_easy_setopt(easy, option, value);
}

static inline CURLcode sy_easy_setopt_off(CURL *easy, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(easy, option, value);
}

/// For CURLOPT_WRITEFUNCTION and CURLOPT_HEADERFUNCTION, which share one signature.
static inline CURLcode sy_easy_setopt_data_callback(CURL *easy, CURLoption option, sy_data_callback callback) {
    return curl_easy_setopt(easy, option, callback);
}

static inline CURLcode sy_easy_getinfo_long(CURL *easy, CURLINFO info, long *value) {
    return curl_easy_getinfo(easy, info, value);
}

static inline CURLcode sy_easy_getinfo_off(CURL *easy, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(easy, info, value);
}

static inline CURLMcode sy_multi_setopt_long(CURLM *multi, CURLMoption option, long value) {
    return curl_multi_setopt(multi, option, value);
}

/// The result of a finished transfer (a union member in CURLMsg).
static inline CURLcode sy_msg_result(const CURLMsg *message) {
    return message->data.result;
}

static inline int sy_msg_is_done(const CURLMsg *message) {
    return message->msg == CURLMSG_DONE;
}

static inline CURLcode sy_global_init(void) {
    return curl_global_init(CURL_GLOBAL_DEFAULT);
}

static const long sy_http_version_1_1 = CURL_HTTP_VERSION_1_1;
static const size_t sy_error_size = CURL_ERROR_SIZE;

#endif
