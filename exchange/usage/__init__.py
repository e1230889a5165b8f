"""The citizen-readable usage log (用证记录): every scan, consent, pull, proof and verification."""
