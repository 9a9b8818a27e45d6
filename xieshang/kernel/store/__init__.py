"""Event store port and adapters. Adapters are imported lazily: nothing connects at import."""

from .port import (GENESIS_HASH, ConcurrencyError, DuplicateEventError, EventStore, StoreError,
                   Tracking, VerifyReport, chain_hash)

__all__ = ["GENESIS_HASH", "ConcurrencyError", "DuplicateEventError", "EventStore", "StoreError",
           "Tracking", "VerifyReport", "chain_hash"]
