"""Proofs issued online after department review (apply → review queue → approve/reject)."""
