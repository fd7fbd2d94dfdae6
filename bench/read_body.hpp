// The body a reference program writes: a number of bytes (a body of 'x'), or @FILE (the body the
// server was sent). Shared by the benchmarks' reference programs.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

inline std::string read_body(const std::string& arg) {
  if (arg.empty() || arg[0] != '@') {
    return std::string(static_cast<size_t>(std::atoi(arg.c_str())), 'x');
  }
  std::ifstream in(arg.substr(1), std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", arg.c_str() + 1);
    std::exit(1);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}
