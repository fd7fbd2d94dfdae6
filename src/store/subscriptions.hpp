// Private to the store: the SQL of subscriptions, trigger runs, connections' states and
// meta.pruned_through, on a
// connection the caller provides (a reader's, or the writer's inside its thread).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "hookmcp/store/store.hpp"
#include "sqlite.hpp"

namespace hookmcp::store {

Result<std::vector<Subscription>> read_subscriptions(sqlite::Connection& db);
Result<int64_t> read_pruned_through(sqlite::Connection& db);

Result<std::vector<TriggerRun>> read_runs(sqlite::Connection& db, const RunFilter& filter);

// Each in a transaction of its own.
Status write_subscription(sqlite::Connection& db, const Subscription& s);
Status erase_subscription(sqlite::Connection& db, const std::string& id);
// Runs first, then progress, in one transaction.
Status write_progress(sqlite::Connection& db, const std::vector<TriggerRun>& runs,
                      const std::vector<SubscriptionProgress>& progress);
Result<std::vector<TriggerRun>> mark_for_retry(sqlite::Connection& db,
                                               const std::vector<int64_t>& ids,
                                               const std::string& trigger);

Result<std::map<std::string, std::string>> read_connection_states(sqlite::Connection& db);
// Store::save_connection_state, in a transaction of its own.
Result<std::string> write_connection_state(sqlite::Connection& db, const std::string& name,
                                           const std::string& state, bool only_if_absent,
                                           int64_t now_ms);

}  // namespace hookmcp::store
