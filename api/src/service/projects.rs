//! Project records.
