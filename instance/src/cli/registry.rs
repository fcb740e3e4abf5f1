//! `mono registry digest|verify|show`: registries for operators, from the command line.
//!
//! `digest` prints one line to compare two databases at one block, `verify` recomputes every
//! projection from the stored events and exits 1 on any difference, `show` prints one page of
//! a registry as a table (or JSON).

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use serde_json::{Value, json};

use crate::cli::sync::open_store;
use crate::cli::{BadInput, Outcome, print_json};
use crate::registry::payments::PaymentKind;
use crate::registry::projection::Contracts;
use crate::registry::{
    Page, PageRequest, agreements, branches, check, coop, decisions, documents, members, payments,
};
use crate::store::Store;

/// `mono registry`.
#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Print a SHA-256 over every registry as of a block (default: the cursor).
    Digest(DigestArgs),
    /// Recompute every projection from the stored events; exit 1 naming the first rows that
    /// differ.
    Verify(DatabaseArgs),
    /// Print one page of a registry as of a block.
    Show(ShowArgs),
}

/// The database to read.
#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// Database URL: `postgres://…` or `sqlite://PATH`.
    #[arg(long, env = "MONO_DATABASE_URL")]
    database: String,
}

/// `mono registry digest`.
#[derive(Debug, Args)]
pub struct DigestArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// The block; default: the store's cursor.
    #[arg(long)]
    block: Option<u32>,
}

/// The registries `show` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RegistryName {
    /// The cooperative's profile, council and fees.
    Coop,
    /// Members with their lifecycle.
    Members,
    /// Documents carried on chain.
    Documents,
    /// The council's decisions.
    Decisions,
    /// Gateway incomes.
    Incomes,
    /// Gateway outcomes.
    Outcomes,
    /// Share deposits.
    Deposits,
    /// Share withdrawals.
    Withdrawals,
    /// Completed amounts per member.
    Totals,
    /// Branches.
    Branches,
    /// Agreements.
    Agreements,
}

/// `mono registry show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// The cooperative's account.
    #[arg(long, env = "MONO_COOPNAME")]
    coopname: String,
    /// Which registry.
    #[arg(long, value_enum)]
    name: RegistryName,
    /// As of this block; default: the store's cursor.
    #[arg(long)]
    block: Option<u32>,
    /// Items per page (at most 500).
    #[arg(long, default_value_t = 50)]
    limit: u32,
    /// The cursor printed at the end of the previous page.
    #[arg(long)]
    after: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Runs `mono registry …`.
pub fn run(command: RegistryCommand) -> anyhow::Result<Outcome> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        match command {
            RegistryCommand::Digest(args) => {
                let store = open_store(&args.database.database).await?;
                let block = block_or_cursor(&store, args.block).await?;
                let digest = check::digest(&store, block)
                    .await
                    .context("computing the registry digest")?;
                store.close().await;
                print_json(&json!({"block": block, "registry_digest": digest}));
                Ok(Outcome::Success)
            }
            RegistryCommand::Verify(args) => {
                let store = open_store(&args.database).await?;
                let report = check::verify(&store, &Contracts::default())
                    .await
                    .context("checking the registry projections")?;
                store.close().await;
                print_json(&serde_json::to_value(&report)?);
                Ok(if report.is_consistent() {
                    Outcome::Success
                } else {
                    Outcome::Negative
                })
            }
            RegistryCommand::Show(args) => {
                let store = open_store(&args.database.database).await?;
                let block = block_or_cursor(&store, args.block).await?;
                let output = show(&store, &args, block).await?;
                store.close().await;
                if args.json {
                    print_json(&output.json);
                } else {
                    print!("{}", table(&output));
                }
                Ok(Outcome::Success)
            }
        }
    })
}

async fn block_or_cursor(store: &Store, block: Option<u32>) -> anyhow::Result<u32> {
    match block {
        Some(block) => Ok(block),
        None => Ok(store
            .cursor()
            .await
            .context("reading the cursor")?
            .map_or(0, |cursor| cursor.block_num)),
    }
}

/// What `show` prints: the JSON, and the columns of the table.
struct Shown {
    json: Value,
    columns: &'static [&'static str],
    rows: Vec<Value>,
    next: Option<String>,
}

fn page_json<T: Serialize>(
    block: u32,
    page: &Page<T>,
    columns: &'static [&'static str],
) -> anyhow::Result<Shown> {
    let json = json!({"block": block, "items": page.items, "next": page.next});
    let rows = json["items"].as_array().cloned().unwrap_or_default();
    Ok(Shown {
        json,
        columns,
        rows,
        next: page.next.clone(),
    })
}

async fn show(store: &Store, args: &ShowArgs, block: u32) -> anyhow::Result<Shown> {
    let coopname = args.coopname.as_str();
    let page = PageRequest {
        after: args.after.clone(),
        limit: args.limit,
        descending: false,
    };
    let payments = |kind| async move {
        let page = payments::list(
            store,
            coopname,
            block,
            kind,
            &payments::PaymentFilter::default(),
            &PageRequest {
                after: args.after.clone(),
                limit: args.limit,
                descending: false,
            },
        )
        .await?;
        page_json(
            block,
            &page,
            &["id", "username", "status", "purpose", "amount", "block_num"],
        )
    };
    let shown = match args.name {
        RegistryName::Coop => {
            let profile = coop::get(store, coopname, block).await?.ok_or_else(|| {
                BadInput::new(format!("{coopname} is not registered as of block {block}"))
            })?;
            let json = serde_json::to_value(&profile)?;
            Shown {
                rows: vec![json.clone()],
                json,
                columns: &["coopname", "status", "kind", "chairman", "block_num"],
                next: None,
            }
        }
        RegistryName::Members => page_json(
            block,
            &members::list(
                store,
                coopname,
                block,
                &members::MemberFilter::default(),
                &page,
            )
            .await?,
            &["username", "kind", "lifecycle", "branch", "registered_at"],
        )?,
        RegistryName::Documents => page_json(
            block,
            &documents::list(
                store,
                coopname,
                block,
                &documents::DocumentFilter::default(),
                &page,
            )
            .await?,
            &["hash", "status", "username", "package"],
        )?,
        RegistryName::Decisions => page_json(
            block,
            &decisions::list(
                store,
                coopname,
                block,
                &decisions::DecisionFilter::default(),
                &page,
            )
            .await?,
            &[
                "id",
                "kind",
                "username",
                "stage",
                "authorized_by",
                "block_num",
            ],
        )?,
        RegistryName::Incomes => payments(PaymentKind::Income).await?,
        RegistryName::Outcomes => payments(PaymentKind::Outcome).await?,
        RegistryName::Deposits => payments(PaymentKind::Deposit).await?,
        RegistryName::Withdrawals => payments(PaymentKind::Withdraw).await?,
        RegistryName::Totals => {
            let totals = payments::totals(store, coopname, block).await?;
            let json = serde_json::to_value(&totals)?;
            let mut rows = json["members"].as_array().cloned().unwrap_or_default();
            rows.push(json["cooperative"].clone());
            Shown {
                json,
                columns: &["username", "income", "outcome", "deposit", "withdraw"],
                rows,
                next: None,
            }
        }
        RegistryName::Branches => page_json(
            block,
            &branches::list(store, coopname, block, None, &page).await?,
            &["braname", "trustee", "trusted", "block_num"],
        )?,
        RegistryName::Agreements => page_json(
            block,
            &agreements::list(
                store,
                coopname,
                block,
                &agreements::AgreementFilter::default(),
                &page,
            )
            .await?,
            &["id", "username", "kind", "status", "draft_id", "block_num"],
        )?,
    };
    Ok(shown)
}

/// The rows as an aligned text table, with the next page's cursor underneath.
fn table(shown: &Shown) -> String {
    let cell = |row: &Value, column: &str| match &row[column] {
        Value::Null => "-".to_owned(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    let mut widths: Vec<usize> = shown.columns.iter().map(|column| column.len()).collect();
    for row in &shown.rows {
        for (width, column) in widths.iter_mut().zip(shown.columns) {
            *width = (*width).max(cell(row, column).chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(text, width)| format!("{text:<width$}"))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(shown.columns.iter().map(|c| c.to_uppercase()).collect());
    for row in &shown.rows {
        out.push_str(&line(
            shown
                .columns
                .iter()
                .map(|column| cell(row, column))
                .collect(),
        ));
    }
    if let Some(next) = &shown.next {
        out.push_str(&format!("next page: --after {next}\n"));
    }
    out
}
