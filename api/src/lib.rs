//! xiezuo (协作): the system of record for east–west poverty-alleviation cooperation of the
//! disabled persons' federations. See the README and `DESIGN.md`.

pub mod album;
pub mod auth;
pub mod authz;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod graphql;
pub mod http;
pub mod rest;
pub mod seed;
pub mod service;
pub mod startup;
pub mod storage;
pub mod telemetry;

/// The committed schema files, rendered from the code.
pub fn render_openapi() -> anyhow::Result<String> {
    Ok(rest::openapi().to_pretty_json()? + "\n")
}

pub fn render_graphql_sdl() -> String {
    graphql::schema().run.sdl()
}
