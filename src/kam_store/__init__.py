"""The event store's infrastructure: the database URL parsed once, the library's environment,
the PostgreSQL recorder and its group commit, the store features the application uses and the
schema set-up lock. Depends only on ``kam_domain`` and the eventsourcing library (and psycopg).
"""
