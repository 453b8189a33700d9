//! Plan records.
