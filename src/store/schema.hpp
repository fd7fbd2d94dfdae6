// Private to the store: the schema and its forward migrations.
#pragma once

#include "hookmcp/core/result.hpp"
#include "sqlite.hpp"

namespace hookmcp::store::sqlite {

// The version this build writes; PRAGMA user_version holds the version a file is at.
int schema_version();

// Brings the database up to schema_version(), one step at a time, each step in its own
// transaction. A file from a newer build is refused rather than touched.
Status migrate(Connection& db);

}  // namespace hookmcp::store::sqlite
