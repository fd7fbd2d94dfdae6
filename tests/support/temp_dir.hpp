// The running test's own directory under the system's temporary one, so that tests of one
// binary, and binaries run side by side (ctest -j), never share files.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace hookmcp::testing {

// TMPDIR/hookmcp-PREFIX-PID-TEST, removed first if a crashed run left it. Not created: the
// code under test makes what it needs (the store creates its directory).
inline std::filesystem::path fresh_test_directory(const std::string& prefix) {
  auto dir = std::filesystem::temp_directory_path() /
             ("hookmcp-" + prefix + "-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(dir);
  return dir;
}

}  // namespace hookmcp::testing
