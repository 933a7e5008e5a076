// LLVMFuzzerRunDriver itself is in libclang_rt.fuzzer, linked by -sanitize=fuzzer.
#include "CFuzzerDriver.h"
