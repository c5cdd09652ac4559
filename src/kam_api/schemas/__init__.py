"""Request schemas are commands (``RegisterAccount``); responses end in ``Public``."""
