// Runs the generated handler against the stand-in API: each page URL (with and without a
// query, such as the handoff link's random one) answers 200 with its MIME, the gzip and
// no-store headers and exactly the bytes of its .gz file in writes of at most 4 KB; anything
// else answers 404 with nothing written.
// Usage: handler_test <page folder>   (scripts/test-device-page.sh builds and runs it)
#include "Particle.h"

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

void softapWebPages(const char* url, ResponseCallback* cb, void* cbArg, Reader* body,
                    Writer* result, void* reserved);

namespace {

struct Response {
    int calls = 0;
    uint16_t status = 0;
    std::string mime;
    std::string headers;
    std::vector<uint8_t> body;
    size_t largest_write = 0;
};

int respond(void* arg, uint16_t, uint16_t status, const char* mime, Header* header) {
    Response* response = static_cast<Response*>(arg);
    response->calls++;
    response->status = status;
    response->mime = mime ? mime : "";
    response->headers = header ? header->header_list : "";
    return 0;
}

void collect(Writer* writer, const uint8_t* buf, size_t count) {
    Response* response = static_cast<Response*>(writer->state);
    response->body.insert(response->body.end(), buf, buf + count);
    if (count > response->largest_write) response->largest_write = count;
}

Response get(const char* url) {
    Response response;
    Writer writer{collect, &response};
    softapWebPages(url, respond, &response, nullptr, &writer, nullptr);
    return response;
}

int failures = 0;

void check(bool ok, const std::string& what) {
    if (!ok) {
        std::fprintf(stderr, "FAIL: %s\n", what.c_str());
        failures++;
    }
}

std::vector<uint8_t> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) return 2;
    const std::string dir = argv[1];
    // pages.json lines look like:   "url": "/index",  "mime": "text/html",  "file": "index.html.gz"
    std::ifstream manifest(dir + "/pages.json");
    std::string line, url, mime;
    int pages = 0;
    while (std::getline(manifest, line)) {
        auto value = [&](const std::string& key) {
            size_t at = line.find("\"" + key + "\": \"");
            if (at == std::string::npos) return std::string();
            at += key.size() + 5;
            return line.substr(at, line.find('"', at) - at);
        };
        if (!value("url").empty()) url = value("url");
        if (!value("mime").empty()) mime = value("mime");
        if (value("file").empty()) continue;
        const std::vector<uint8_t> expected = read_file(dir + "/" + value("file"));
        for (const std::string& asked : {url, url + "?r=k3J9x2", url + "?from=qr&r=1"}) {
            Response r = get(asked.c_str());
            check(r.calls == 1 && r.status == 200, asked + ": one 200");
            check(r.mime == mime, asked + ": MIME " + r.mime);
            check(r.headers == "Content-Encoding: gzip\r\nCache-Control: no-store\r\n",
                  asked + ": gzip and no-store headers");
            check(r.body == expected, asked + ": the .gz bytes");
            check(r.largest_write <= 4096, asked + ": writes of at most 4 KB");
        }
        pages++;
    }
    check(pages >= 2, "pages listed");
    for (const char* unknown : {"/favicon.ico", "/setupx", "/inde", "/generate_204", "/setup/", "/index.html",
                                "/SETUP", "?/setup"}) {
        Response r = get(unknown);
        check(r.calls == 1 && r.status == 404 && r.body.empty(), std::string(unknown) + ": 404");
    }
    std::printf("%s: %d pages, %s\n", dir.c_str(), pages, failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
