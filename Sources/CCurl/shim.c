// Loads libcurl.so.4 once, on the first call of sy_curl() (see shim.h for why not at process start).
#include "shim.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

const char *const sy_curl_soname = "libcurl.so.4";

static sy_curl_api api;
static const sy_curl_api *loaded;
static char failure[512];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static int resolve(void *library, void **slot, const char *name) {
    *slot = dlsym(library, name);
    if (*slot) return 1;
    const char *why = dlerror();
    snprintf(failure, sizeof failure, "%s has no %s: %s", sy_curl_soname, name, why ? why : "not found");
    return 0;
}

static void load(void) {
    void *library = dlopen(sy_curl_soname, RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        const char *why = dlerror();
        snprintf(failure, sizeof failure, "%s", why ? why : "dlopen failed");
        return;
    }
#define SY_RESOLVE(field, name) if (!resolve(library, (void **)&api.field, name)) return;
    SY_RESOLVE(global_init, "curl_global_init")
    SY_RESOLVE(easy_init, "curl_easy_init")
    SY_RESOLVE(easy_cleanup, "curl_easy_cleanup")
    SY_RESOLVE(easy_strerror, "curl_easy_strerror")
    SY_RESOLVE(easy_setopt, "curl_easy_setopt")
    SY_RESOLVE(easy_getinfo, "curl_easy_getinfo")
    SY_RESOLVE(multi_init, "curl_multi_init")
    SY_RESOLVE(multi_cleanup, "curl_multi_cleanup")
    SY_RESOLVE(multi_add_handle, "curl_multi_add_handle")
    SY_RESOLVE(multi_remove_handle, "curl_multi_remove_handle")
    SY_RESOLVE(multi_perform, "curl_multi_perform")
    SY_RESOLVE(multi_poll, "curl_multi_poll")
    SY_RESOLVE(multi_info_read, "curl_multi_info_read")
    SY_RESOLVE(multi_wakeup, "curl_multi_wakeup")
    SY_RESOLVE(multi_setopt, "curl_multi_setopt")
    SY_RESOLVE(slist_append, "curl_slist_append")
    SY_RESOLVE(slist_free_all, "curl_slist_free_all")
#undef SY_RESOLVE
    loaded = &api;
}

const sy_curl_api *sy_curl(void) {
    pthread_once(&once, load);
    return loaded;
}

const char *sy_curl_load_error(void) {
    pthread_once(&once, load);
    return loaded ? NULL : failure;
}
