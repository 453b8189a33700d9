//! Exchange records.
