//! Tolerant reader of actrace's own Chrome JSON (placeholder until written).
