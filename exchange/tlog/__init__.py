"""The transparency log behind the usage log (用证记录): one append-only RFC 9162 Merkle tree of event commitments,
sequenced in batches, published as C2SP signed checkpoints and tiles, cosigned by witnesses."""
