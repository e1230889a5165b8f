"""Department API clients: RFC 7523 client assertions exchanged for short-lived scoped access tokens."""
