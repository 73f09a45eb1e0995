// check.h: LB_CHECK for internal invariants (bugs, not bad input): prints file:line and aborts.
#pragma once

#include <cstdio>
#include <cstdlib>

#define LB_CHECK(cond, msg)                                                             \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: internal error: check '%s' failed: %s\n", __FILE__, \
                   __LINE__, #cond, msg);                                               \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)
