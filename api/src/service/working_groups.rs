//! WorkingGroup records.
