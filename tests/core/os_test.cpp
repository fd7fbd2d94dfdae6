// core/os.hpp: the directory watch that wakes a database's follower.
#include "hookmcp/core/os.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "support/temp_dir.hpp"

namespace hookmcp {
namespace {

using std::chrono::milliseconds;

class DirectoryWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = hookmcp::testing::fresh_test_directory("os");
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void append(const std::string& name) { std::ofstream(dir_ / name, std::ios::app) << "x"; }

  std::filesystem::path dir_;
};

TEST_F(DirectoryWatchTest, WakesOnAWriteToAWatchedFileOnly) {
  auto watch = DirectoryWatch::open(dir_.string(), {"events.db", "events.db-wal"});
  ASSERT_TRUE(watch) << watch.error().message;
  append("other.txt");
  EXPECT_FALSE((*watch)->wait(milliseconds(50)));
  append("events.db-wal");  // created, then written
  EXPECT_TRUE((*watch)->wait(milliseconds(5000)));
  // What was written before a call counts for that call, and is then used up.
  append("events.db-wal");
  EXPECT_TRUE((*watch)->wait(milliseconds(0)));
  EXPECT_FALSE((*watch)->wait(milliseconds(20)));
}

TEST_F(DirectoryWatchTest, InterruptEndsAWaitFromAnotherThread) {
  auto watch = DirectoryWatch::open(dir_.string(), {"events.db-wal"});
  ASSERT_TRUE(watch) << watch.error().message;
  std::thread interrupter([&] {
    std::this_thread::sleep_for(milliseconds(20));
    (*watch)->interrupt();
  });
  // Ends long before its timeout; an interrupt before the wait ends the next one at once.
  EXPECT_FALSE((*watch)->wait(milliseconds(60000)));
  interrupter.join();
  (*watch)->interrupt();
  EXPECT_FALSE((*watch)->wait(milliseconds(60000)));
}

TEST_F(DirectoryWatchTest, AMissingDirectoryIsAnError) {
  auto watch = DirectoryWatch::open((dir_ / "missing").string(), {"x"});
  ASSERT_FALSE(watch);
  EXPECT_NE(watch.error().message.find("missing"), std::string::npos);
}

TEST(ExecutablePath, IsTheRunningProgram) {
  auto path = executable_path("ignored");
  EXPECT_TRUE(std::filesystem::path(path).is_absolute()) << path;
  EXPECT_TRUE(std::filesystem::exists(path)) << path;
}

}  // namespace
}  // namespace hookmcp
