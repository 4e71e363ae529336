// <immintrin.h> for the files that use AVX-512 intrinsics: GCC 12's AVX-512
// headers trip -W(maybe-)uninitialized on their own _mm512_undefined_*
// helpers (GCC PR 105593).
#pragma once

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
