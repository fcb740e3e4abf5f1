//! `mono schema`: prints the GraphQL API's SDL, the text `schema.graphql` holds.

use clap::Args;

use crate::cli::Outcome;

/// `mono schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {}

/// Prints the SDL on stdout.
pub fn run(_args: SchemaArgs) -> anyhow::Result<Outcome> {
    print!("{}", crate::api::schema::sdl());
    Ok(Outcome::Success)
}
