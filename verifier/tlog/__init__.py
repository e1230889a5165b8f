"""Transparency-log primitives a relying party needs offline: RFC 9162 Merkle hashing and proofs, C2SP signed
notes / checkpoints / cosignatures, tlog-tiles paths and bundles, and the usage-event commitment."""
