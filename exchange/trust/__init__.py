"""The trust list the exchange publishes: city root, department certificates, revoked keys — signed."""
