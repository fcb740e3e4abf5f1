//! API benchmark on SQLite, through the API's HTTP routes on loopback and the SDK, over a store
//! that followed a devnet's genesis (the council, its keys, the document templates) and then
//! holds 10,000 members (`MONO_BENCH_MEMBERS`):
//!
//! - registry queries from concurrent clients (`MONO_BENCH_CLIENTS`, default
//!   [`DEFAULT_CLIENTS`]), [`QUERY_REQUESTS`] requests each: the first page of `getAccounts`, a
//!   deep page (after the 9,000th member) and `getAccount`; p50/p99/max and requests per second;
//! - document generation: `generateWalletAgreement` for [`DOCUMENTS`] members from
//!   [`GENERATORS`] concurrent clients; documents per second and p50/p99;
//! - subscription fan-out: [`SUBSCRIBERS`] websocket subscribers to `memberChanged`, one block
//!   with a new member committed, and the time until each subscriber has the event;
//! - idle RSS of `mono serve --no-sync` over the same store, after it answered queries.
//!
//! Run: `cargo bench -p mono-instance --bench api`.

#[path = "support/seed.rs"]
mod seed;
#[path = "support/stats.rs"]
mod stats;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use mono_instance::api::{ApiConfig, ApiState, Secret};
use mono_instance::demo::client::Member;
use mono_instance::demo::records;
use mono_instance::devnet::bootstrap::Role;
use mono_instance::devnet::{self, DevnetConfig, ProductionMode, Ready, Storage};
use mono_instance::parser::{DEFAULT_CONTRACTS, Filter, Metrics, ParserConfig, follow};
use mono_instance::store::{JsonText, Store};
use mono_sdk::Client;
use mono_sdk::operations::{
    GenerateAgreements, GetAccount, GetAccounts, GetSystemInfo, MemberChanged, generate_agreements,
    get_account, get_accounts, get_system_info, member_changed,
};
use stats::percentiles;
use tokio::sync::watch;

/// Concurrent clients of the query load, unless `MONO_BENCH_CLIENTS` says otherwise.
const DEFAULT_CLIENTS: usize = 4;
/// Requests of each query load.
const QUERY_REQUESTS: usize = 4_000;
/// Members whose agreements are generated.
const DOCUMENTS: usize = 100;
/// Concurrent clients generating documents.
const GENERATORS: usize = 4;
/// Websocket subscribers of the fan-out.
const SUBSCRIBERS: usize = 1_000;
/// Longest any one load may run.
const LOAD_DEADLINE: Duration = Duration::from_secs(120);
/// The access tokens' key, shared with the spawned `mono serve`.
const JWT_KEY: [u8; 32] = [0x5a; 32];

fn main() -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let members: u32 = std::env::var("MONO_BENCH_MEMBERS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("api.db").display());
    let store = Store::open(&url).await?;
    let chairman = genesis_into(&store).await?;
    let cursor = store
        .cursor()
        .await?
        .context("the follower stored blocks")?;
    let started = Instant::now();
    let head = seed::members(
        &store,
        0..members,
        Some((cursor.block_num, cursor.block_id)),
    )
    .await?;
    store.refresh_statistics().await?;
    println!(
        "seeded {members} members in {:.1} s, head {head}",
        started.elapsed().as_secs_f64()
    );

    let mut config = ApiConfig::new(Secret::new(JWT_KEY.to_vec()), None);
    config.logins_per_minute = 1_000;
    let state = ApiState::new(store.clone(), seed::COOP.parse()?, config);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let address = listener.local_addr()?;
    let routes = mono_instance::api::http::router(state);
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            routes.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    let api = Client::new(&format!("http://{address}/v1/graphql"))?;
    let council = chairman.login(&api).await?;

    let clients = std::env::var("MONO_BENCH_CLIENTS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(DEFAULT_CLIENTS);
    queries(&council, members, clients).await?;
    generation(&store, &council, head).await?;
    fan_out(&store, &council, members).await?;
    idle_rss(&url, &chairman).await?;
    server.abort();
    store.close().await;
    Ok(())
}

/// Follows a devnet's first irreversible blocks into `store` and returns its chairman.
async fn genesis_into(store: &Store) -> anyhow::Result<Member> {
    let devnet = devnet::start(DevnetConfig {
        http: ([127, 0, 0, 1], 0).into(),
        ship: ([127, 0, 0, 1], 0).into(),
        storage: Storage::Ephemeral,
        production: ProductionMode::Interval,
        block_interval: Duration::from_millis(100),
        lib_lag: 1,
        bootstrap: None,
    })
    .await?;
    let ready: Ready = devnet.ready().clone();
    let mut config = ParserConfig::new(
        &ready.ship,
        &ready.http,
        Filter::new(&DEFAULT_CONTRACTS, ready.coopname),
    );
    config.stop_after = Some(5);
    let (_stop, shutdown) = watch::channel(false);
    let followed = tokio::time::timeout(
        Duration::from_secs(60),
        follow(store, &config, &Metrics::default(), shutdown),
    )
    .await
    .context("following the devnet's first blocks")?;
    devnet.stop().await?;
    followed?;
    records::write(
        store,
        seed::COOP,
        &[
            ("chairman", "Сергей", "Иванов"),
            ("member1", "Ольга", "Смирнова"),
            ("member2", "Андрей", "Кузнецов"),
        ],
        1,
    )
    .await?;
    let account = ready
        .accounts
        .iter()
        .find(|account| account.role == Role::Chairman)
        .context("a chairman")?;
    Ok(Member {
        username: account.name,
        key: account.private_key()?.context("the chairman's key")?,
    })
}

/// Runs `request` from `clients` concurrent tasks until `total` ran or the deadline passed;
/// returns each request's duration and the wall time.
async fn load<F, Fut>(
    clients: usize,
    total: usize,
    request: F,
) -> anyhow::Result<(Vec<Duration>, Duration)>
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + LOAD_DEADLINE;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let next = next.clone();
        let request = request.clone();
        tasks.spawn(async move {
            let mut samples = Vec::new();
            loop {
                let seq = next.fetch_add(1, Ordering::Relaxed);
                if seq >= total || Instant::now() > deadline {
                    return anyhow::Ok(samples);
                }
                let began = Instant::now();
                request(seq).await?;
                samples.push(began.elapsed());
            }
        });
    }
    let mut samples = Vec::new();
    while let Some(task) = tasks.join_next().await {
        samples.extend(task??);
    }
    Ok((samples, started.elapsed()))
}

fn report(name: &str, samples: &mut [Duration], wall: Duration) {
    let (p50, p99, max) = percentiles(samples);
    println!(
        "{name}: {} requests, {:.0}/s, p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms",
        samples.len(),
        samples.len() as f64 / wall.as_secs_f64()
    );
}

/// The registry queries under concurrent load.
async fn queries(council: &Client, members: u32, clients: usize) -> anyhow::Result<()> {
    let page = |after: Option<String>, limit: i64| get_accounts::Variables {
        filter: None,
        page: Some(get_accounts::PageInput {
            after,
            limit: Some(limit),
            descending: false,
        }),
        block: None,
    };
    // The cursor after the 9,000th member, read page by page.
    let mut deep = None;
    for _ in 0..members * 9 / 10 / 100 {
        deep = council
            .run::<GetAccounts>(page(deep, 100))
            .await?
            .get_accounts
            .next;
    }
    for (name, after) in [
        ("getAccounts first page", None),
        ("getAccounts deep page", deep),
    ] {
        let client = council.clone();
        let variables = page(after, 50);
        let (mut samples, wall) = load(clients, QUERY_REQUESTS, move |_| {
            let client = client.clone();
            let variables = variables.clone();
            async move {
                let answer = client.run::<GetAccounts>(variables).await?;
                ensure!(answer.get_accounts.items.len() == 50, "a full page");
                Ok(())
            }
        })
        .await?;
        report(&format!("{name}, {clients} clients"), &mut samples, wall);
    }
    let client = council.clone();
    let (mut samples, wall) = load(clients, QUERY_REQUESTS, move |seq| {
        let client = client.clone();
        async move {
            let username = seed::username(u32::try_from(seq)? % members);
            let answer = client
                .run::<GetAccount>(get_account::Variables {
                    username,
                    block: None,
                })
                .await?;
            ensure!(answer.get_account.is_some(), "the member exists");
            Ok(())
        }
    })
    .await?;
    report(
        &format!("getAccount, {clients} clients"),
        &mut samples,
        wall,
    );
    Ok(())
}

/// Document generation: the four agreements of [`DOCUMENTS`] individuals, each with full
/// personal data from the block after `head`.
async fn generation(store: &Store, council: &Client, head: u32) -> anyhow::Result<()> {
    // Individuals are the members whose sequence number is not a multiple of three.
    let individuals: Vec<String> = (0..)
        .filter(|seq| seq % 3 != 0)
        .take(DOCUMENTS)
        .map(seed::username)
        .collect();
    for username in &individuals {
        let person = records::person("Иван", "Петров", username);
        store
            .put_private("individual", username, &JsonText::from_value(&person), head)
            .await?;
    }
    let individuals = Arc::new(individuals);
    let client = council.clone();
    let (mut samples, wall) = load(GENERATORS, DOCUMENTS, move |seq| {
        let client = client.clone();
        let individuals = individuals.clone();
        async move {
            client
                .run::<GenerateAgreements>(generate_agreements::Variables {
                    data: generate_agreements::GenerateDocumentInput {
                        username: individuals[seq].clone(),
                    },
                })
                .await?;
            Ok(())
        }
    })
    .await?;
    let (p50, p99, max) = percentiles(&mut samples);
    println!(
        "generateAgreements (4 documents each): {} requests, {:.1} documents/s, p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms",
        samples.len(),
        samples.len() as f64 * 4.0 / wall.as_secs_f64()
    );
    Ok(())
}

/// [`SUBSCRIBERS`] subscribers to `memberChanged`; one block with a new member.
async fn fan_out(store: &Store, council: &Client, members: u32) -> anyhow::Result<()> {
    let connected = Instant::now();
    let mut subscriptions = Vec::with_capacity(SUBSCRIBERS);
    for _ in 0..SUBSCRIBERS {
        subscriptions.push(
            council
                .subscribe::<MemberChanged>(member_changed::Variables {})
                .await?,
        );
    }
    println!(
        "{SUBSCRIBERS} subscribers connected in {:.1} s",
        connected.elapsed().as_secs_f64()
    );
    let cursor = store.cursor().await?.context("a cursor")?;
    let committed = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for mut subscription in subscriptions {
        tasks.spawn(async move {
            let event = tokio::time::timeout(LOAD_DEADLINE, subscription.next())
                .await
                .context("the event arrives in time")?
                .context("the subscription runs")??;
            anyhow::Ok((committed.elapsed(), event.member_changed.block_num))
        });
    }
    // One block with one new member.
    let block = seed::members(
        store,
        members..members + 1,
        Some((cursor.block_num, cursor.block_id)),
    )
    .await?;
    let mut samples = Vec::with_capacity(SUBSCRIBERS);
    while let Some(task) = tasks.join_next().await {
        let (elapsed, block_num) = task??;
        ensure!(i64::from(block) == block_num, "the event of block {block}");
        samples.push(elapsed);
    }
    let (p50, p99, max) = percentiles(&mut samples);
    println!(
        "memberChanged fan-out to {} subscribers: p50 {p50:.1} ms, p99 {p99:.1} ms, all within {max:.1} ms",
        samples.len()
    );
    Ok(())
}

/// RSS of `mono serve --no-sync` over the store after it answered queries and idled.
async fn idle_rss(url: &str, chairman: &Member) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let secret = dir.path().join("jwt");
    std::fs::write(&secret, JWT_KEY)?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_mono"))
        .args(["serve", "--no-sync", "--database", url])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args([
            "--chain-api",
            "http://127.0.0.1:9",
            "--ship",
            "ws://127.0.0.1:9",
        ])
        .args(["--coopname", seed::COOP, "--jwt-secret-file"])
        .arg(&secret)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().context("a running child")?;
    let api = Client::new(&format!("http://127.0.0.1:{port}/v1/graphql"))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while api
        .run::<GetSystemInfo>(get_system_info::Variables { block: None })
        .await
        .is_err()
    {
        if Instant::now() > deadline {
            bail!("mono serve did not answer in 30 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let council = chairman.login(&api).await?;
    for seq in 0..200 {
        council
            .run::<GetAccount>(get_account::Variables {
                username: seed::username(seq),
                block: None,
            })
            .await?;
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .map(|line| line[name.len()..].trim().to_owned())
            .unwrap_or_default()
    };
    println!(
        "mono serve --no-sync idle after 200 queries: VmRSS {}, VmHWM {}",
        field("VmRSS:"),
        field("VmHWM:")
    );
    child.kill().await?;
    Ok(())
}
