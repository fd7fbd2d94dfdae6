// What a thread may say of itself to the operating system.
#pragma once

namespace hookmcp {

// Lowers the calling thread's scheduling priority by `steps` (Linux: its nice value), so that
// background work (outbound deliveries) yields the cores to intake and MCP when they are busy,
// and uses them fully when they are not. Does nothing where threads have no priority of their
// own; never fails.
void lower_this_thread_priority(int steps);

}  // namespace hookmcp
