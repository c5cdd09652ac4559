"""HTTP API, settings and command line of KAM Ledger."""
