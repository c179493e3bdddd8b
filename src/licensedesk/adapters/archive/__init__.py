"""Archive storage adapters."""
