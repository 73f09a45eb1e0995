// scratch.h: per-thread working memory of the integer steps (im2col patches, int32
// accumulators) — sized by the largest chunk a step processes, kept for the thread's life so
// repeated runs allocate nothing.
#pragma once

#include <cstdint>

namespace lowbit::runtime {

// At least `bytes` bytes, 64-byte aligned, owned by the calling thread and valid until its
// next call. Steps carve their buffers out of one call (the kernels' own scratch is separate).
uint8_t* thread_scratch(int64_t bytes);

// `v` rounded up to a multiple of 64 (sub-buffer offsets inside the scratch).
inline int64_t round_up64(int64_t v) { return (v + 63) / 64 * 64; }

}  // namespace lowbit::runtime
