"""Read models, the projector that feeds them, and the read-model database (users included)."""
