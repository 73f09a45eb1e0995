// file_util.h: atomic file output — every file lowbit writes goes through here.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace lowbit {

// Writes `bytes` to a temporary file next to `path`, then renames it over `path`, so readers
// see either the old file or the complete new one, never a partial output; on failure the
// temporary file is removed and `path` is untouched. Errors start with the path.
Status write_file_atomic(const std::string& path, std::string_view bytes);

}  // namespace lowbit
