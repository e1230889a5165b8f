"""Shared plumbing for the exchange: errors, tokens, data-at-rest crypto, database session."""
