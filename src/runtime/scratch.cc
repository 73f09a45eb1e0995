// scratch.cc: the thread-local scratch buffer.
#include "runtime/scratch.h"

#include <cstddef>
#include <vector>

namespace lowbit::runtime {

uint8_t* thread_scratch(int64_t bytes) {
  thread_local std::vector<uint64_t> buf;  // + 8 words of room to align to 64 bytes
  const size_t words = static_cast<size_t>((bytes + 7) / 8) + 8;
  if (buf.size() < words) buf.resize(words);
  const uintptr_t a = reinterpret_cast<uintptr_t>(buf.data());
  return reinterpret_cast<uint8_t*>((a + 63) & ~uintptr_t{63});
}

}  // namespace lowbit::runtime
