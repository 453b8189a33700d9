//! What the REST routes and the `/graphql` endpoint share: reading requests (bodies, query
//! strings, `If-Match`, the caller behind the bearer token) and answering with problems.

pub mod conditional;
pub mod extract;
pub mod hardening;
pub mod metrics;
pub mod problem;
