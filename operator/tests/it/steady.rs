//! A running cooperative whose instance keeps moving along the chain is not reconciled again:
//! its block numbers reach the status through the probe loop, and status writes trigger no
//! reconcile (#14).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use mono_crds::Cooperative;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::{Cluster, cooperative};

const NAMESPACE: &str = "coop-rassvet";
const RECONCILES: &str = "mono_operator_reconciliations_total";

/// An instance's `/status` whose chain moves on by ten blocks at every read; returns its
/// address and the number of reads so far.
async fn moving_instance() -> (String, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the status server");
    let address = listener.local_addr().expect("address").to_string();
    let reads = Arc::new(AtomicU64::new(0));
    let counter = reads.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let read = counter.fetch_add(1, Ordering::SeqCst) + 1;
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request).await;
            let synced = 1000 + read * 10;
            let body = format!(
                r#"{{"synced_block":{synced},"head_block":{},"usage":{{"database_bytes":8600000,"documents":3,"api_requests":{read},"bytes_sent":{}}}}}"#,
                synced + 2,
                read * 100
            );
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes()).await;
        }
    });
    (address, reads)
}

fn synced_block(coop: &Cooperative) -> Option<u64> {
    coop.status.as_ref()?.synced_block
}

#[tokio::test]
async fn steady_cooperative_is_not_reconciled_while_its_instance_moves() {
    let (address, reads) = moving_instance().await;
    let mut cluster = Cluster::start_with(&[
        "--probe-instances",
        "true",
        "--probe-interval",
        "1",
        "--status-address",
        &address,
    ])
    .await;
    cluster
        .create_cooperative(NAMESPACE, cooperative("rassvet", "1.0.0", "Retain"))
        .await;
    cluster.ready(NAMESPACE, "rassvet").await;
    // The probe loop took over from the reconciler's first read.
    let first = cluster
        .eventually("a second read of /status to reach the status", |fake| {
            fake.get::<Cooperative>(Some(NAMESPACE), "rassvet")
                .and_then(|coop| synced_block(&coop))
                .filter(|block| *block >= 1020)
        })
        .await;

    // From here on the instance moves and nothing else changes.
    let reconciles = cluster.metric(RECONCILES).await;
    let later = reads.load(Ordering::SeqCst) + 3;
    let moved = cluster
        .eventually("three more reads of /status to reach the status", |fake| {
            let coop = fake.get::<Cooperative>(Some(NAMESPACE), "rassvet")?;
            let block = synced_block(&coop)?;
            (reads.load(Ordering::SeqCst) >= later && block >= 1000 + later * 10).then_some(block)
        })
        .await;
    assert!(moved > first, "synced block {first} then {moved}");
    assert_eq!(
        cluster.metric(RECONCILES).await,
        reconciles,
        "the instance's progress alone triggered reconciles"
    );

    // The instance's usage reaches the status and the per-cooperative metrics.
    let coop = cluster
        .fake
        .get::<Cooperative>(Some(NAMESPACE), "rassvet")
        .expect("the Cooperative");
    let usage = coop
        .status
        .and_then(|status| status.usage)
        .expect("usage in the status");
    assert_eq!(
        (usage.storage_bytes, usage.storage.as_str(), usage.documents),
        (8_600_000, "8.2Mi", 3)
    );
    assert!(usage.api_requests >= later, "{usage:?}");
    assert_eq!(usage.bytes_sent, usage.api_requests * 100);
    let labels = format!("{{namespace=\"{NAMESPACE}\",name=\"rassvet\"}}");
    assert_eq!(
        cluster
            .metric(&format!("mono_operator_cooperative_documents{labels}"))
            .await,
        3
    );
    assert_eq!(
        cluster
            .metric(&format!("mono_operator_cooperative_storage_bytes{labels}"))
            .await,
        8_600_000
    );
}
