//! Agreement records.
