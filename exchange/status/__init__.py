"""IETF Token Status Lists: index allocation, the bits, and the signed Status List Tokens the exchange serves."""
