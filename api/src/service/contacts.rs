//! Contact records.
