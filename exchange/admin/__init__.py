"""Administration of the exchange's trust anchors: departments, their certificates and API clients, clerks."""
