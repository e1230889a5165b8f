"""Dynamic QR: short-lived, single-use tokens a counter scans; no personal data in the payload."""
