#include "hookmcp/core/thread.hpp"

#if defined(__linux__)
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace hookmcp {

void lower_this_thread_priority(int steps) {
#if defined(__linux__)
  // On Linux a thread has its own nice value, set through its thread id.
  auto tid = static_cast<id_t>(syscall(SYS_gettid));
  int now = getpriority(PRIO_PROCESS, tid);
  (void)setpriority(PRIO_PROCESS, tid, now + steps);
#else
  (void)steps;
#endif
}

}  // namespace hookmcp
