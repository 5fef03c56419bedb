//! actrace
