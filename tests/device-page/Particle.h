// A stand-in for Particle.h: only what the generated handler and its registration use.
#pragma once

#include "softap_http.h"

#define STARTUP(code) static int startup_##__LINE__ = ((code), 0);
