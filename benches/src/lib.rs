//! Shared helpers for the benchmarks live in the bench targets; this crate has no library code of its own.
