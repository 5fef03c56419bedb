//! Shared helpers for actrace integration tests.
