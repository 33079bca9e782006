// What a maker adds to the product firmware to serve the generated device page.
#include "Particle.h"

void softapWebPages(const char* url, ResponseCallback* cb, void* cbArg, Reader* body,
                    Writer* result, void* reserved);
STARTUP(softap_set_application_page_handler(softapWebPages, nullptr));
