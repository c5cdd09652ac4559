"""KAM Ledger domain: aggregates, events, value objects, errors and the application service."""
