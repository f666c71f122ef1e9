// Include before a `bpftool gen skeleton` header, with skeleton_epilogue.hpp after it: the
// generated code is C written for C compilers, so our C++ warnings are quieted for it alone.
// Deliberately no #pragma once: each skeleton include is wrapped in its own pair.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wcast-align"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wpedantic"
