"""The registry: licence intake (verified before storage), lookup, status (revoke / suspend / reinstate)."""
