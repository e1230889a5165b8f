"""Read-only catalogue API: licence types, departments, service matters, proof types (data from schemas/)."""
