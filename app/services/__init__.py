"""Services: the layer that joins core (ML) and db (storage) for the CLI and the dashboard."""
