"""Read models, the projector that feeds them, and storage adapters."""
