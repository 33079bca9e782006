// A stand-in for Device OS's hal/src/photon/softap_http.h (>= 0.7.0), declaring the
// application page API as documented (every-browser.md §1.1), so that the generated handler
// can be compiled here with `g++ -fsyntax-only`. Not the real header: no WICED behind it.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct Reader {
    typedef int (*callback_t)(Reader* stream, uint8_t* buf, size_t count);
    callback_t callback;
    size_t bytes_left;
    void* state;
    int read(uint8_t* buf, size_t length);
    char* fetch_as_string();
};

struct Writer {
    typedef void (*callback_t)(Writer* stream, const uint8_t* buf, size_t count);
    callback_t callback;
    void* state;
    void write(const uint8_t* buf, size_t length) { callback(this, buf, length); }
    void write(const char* s) { write(reinterpret_cast<const uint8_t*>(s), strlen(s)); }
};

struct Header {
    explicit Header(const char* headers) : header_list(headers), size(sizeof(Header)) {}
    const char* header_list;
    size_t size;
};

extern "C" {
typedef int(ResponseCallback)(void* cbArg, uint16_t flags, uint16_t responseCode,
                              const char* mimeType, Header* reserved);
typedef void(PageProvider)(const char* url, ResponseCallback* cb, void* cbArg, Reader* body,
                           Writer* result, void* reserved);
int softap_set_application_page_handler(PageProvider* provider, void* reserved);
}
