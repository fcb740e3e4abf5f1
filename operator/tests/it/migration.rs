//! Moving a cooperative between clusters (#15): a `CooperativeExport` on one fake cluster, the
//! export volume's files copied to a claim on a second one, and a Cooperative bootstrapped
//! there `fromExport`, which imports them before its first migration and instance.
//!
//! Instances never run against the fake (no database or chain is behind it, and a program
//! standing in for an image does not see the container's environment), so `mono export` and
//! `mono import` are played here by programs that keep their contracts with the operator: the
//! export writes a bundle of the current format's shape (`mono-export/4`: events, encrypted
//! personal data and sessions, the manifest last) and prints its manifest; the import reads
//! the manifest and checks every file's size and SHA-256 before anything else, as `mono
//! import` does. The real binaries move a running instance's store with the same registry
//! digest and go on following in the instance's test
//! `bundle::an_export_while_the_instance_runs_is_one_state_and_following_goes_on`.

use std::sync::{Arc, Mutex, PoisonError};

use kube::api::{Api, PostParams};
use mono_crds::{CooperativeExport, ExportPhase};
use mono_fake_kube::{Container, JobOutcome, Program};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{Cluster, cooperative, job_finished};

const NAMESPACE: &str = "coop-luna";
const NAME: &str = "luna";
/// The export's Job and volume, and the claim it is copied to.
const VOLUME: &str = "move-export";
const IMPORT: &str = "luna-import";
/// The registry digest at the exported cursor.
const REGISTRY_DIGEST: &str = "7d1f0c2b3a4958677685a4b3c2d1e0f00112233445566778899aabbccddeeff1";

/// The parts of the bundle: name and content.
fn parts() -> [(&'static str, &'static [u8]); 4] {
    [
        ("events.jsonl.gz", b"events of luna, gzipped"),
        (
            "private.jsonl.gz.age",
            b"age-encrypted personal data of luna",
        ),
        (
            "sessions.jsonl.gz.age",
            b"age-encrypted refresh tokens of luna",
        ),
        (
            "extensions.jsonl.gz.age",
            b"age-encrypted extension configurations of luna",
        ),
    ]
}

/// `mono export --out DIR`: the parts, then `manifest.json` pretty-printed with a final
/// newline; the manifest as one line on stdout.
fn mono_export() -> Program {
    Program::new(|container: &mut Container| {
        let args: Vec<&str> = container.args().iter().map(String::as_str).collect();
        let ["export", "--out", dir] = args.as_slice() else {
            container.stderr(&format!("error: unexpected arguments {args:?}"));
            return 2;
        };
        let dir = (*dir).to_owned();
        let files: Vec<Value> = parts()
            .iter()
            .map(|(name, content)| {
                json!({"path": name, "sha256": hex::encode(Sha256::digest(content)), "size": content.len()})
            })
            .collect();
        let manifest = json!({
            "format": "mono-export/4",
            "instance_version": "1.0.0",
            "coopname": NAME,
            "chain_id": crate::CHAIN_ID,
            "created_at": "2026-12-06T10:00:00Z",
            "cursor": {"block_num": 5000, "block_id": "00001388c0ffee00000000000000000000000000000000000000000000000000", "lib": 4990},
            "events_included": true,
            "counts": {"blocks": 5000, "actions": 16250, "deltas": 15000, "abis": 9, "undecodable": 0},
            "events_digest": "5e1d2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff0",
            "private_records": 120,
            "refresh_tokens": 4,
            "extensions": 1,
            "registry_digest": REGISTRY_DIGEST,
            "encryption": {"scheme": "age-v1-scrypt"},
            "files": files,
        });
        let mut file = serde_json::to_vec_pretty(&manifest).expect("a manifest");
        file.push(b'\n');
        for (name, content) in parts() {
            if let Err(err) = container.write(&format!("{dir}/{name}"), content) {
                container.stderr(&format!("Error: exporting into {dir}: {err}"));
                return 3;
            }
        }
        if let Err(err) = container.write(&format!("{dir}/manifest.json"), &file) {
            container.stderr(&format!("Error: exporting into {dir}: {err}"));
            return 3;
        }
        container.stdout(&manifest.to_string());
        0
    })
}

/// `mono import --from DIR`: refuses (exit 2) a bundle without a manifest of the current
/// format or with a part of another size or SHA-256; otherwise records the registry digest it
/// imported into `imported`.
fn mono_import(imported: Arc<Mutex<Option<String>>>) -> Program {
    Program::new(move |container: &mut Container| {
        let args: Vec<&str> = container.args().iter().map(String::as_str).collect();
        let ["import", "--from", dir] = args.as_slice() else {
            container.stderr(&format!("error: unexpected arguments {args:?}"));
            return 2;
        };
        let dir = (*dir).to_owned();
        let manifest: Option<Value> = container
            .read(&format!("{dir}/manifest.json"))
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        let Some(manifest) = manifest.filter(|m| m["format"] == "mono-export/4") else {
            container.stderr(&format!("Error: {dir} holds no mono-export/4 manifest"));
            return 2;
        };
        for file in manifest["files"].as_array().into_iter().flatten() {
            let path = format!("{dir}/{}", file["path"].as_str().unwrap_or_default());
            let content = container.read(&path).unwrap_or_default();
            if file["sha256"] != hex::encode(Sha256::digest(&content))
                || file["size"] != content.len()
            {
                container.stderr(&format!("Error: {path} does not match the manifest"));
                return 2;
            }
        }
        *imported.lock().unwrap_or_else(PoisonError::into_inner) =
            manifest["registry_digest"].as_str().map(str::to_owned);
        0
    })
}

#[tokio::test]
async fn a_cooperative_moves_to_another_cluster_through_its_export_volume() {
    // The source cluster: a running cooperative, exported.
    let mut source = Cluster::start().await;
    source
        .create_cooperative(NAMESPACE, cooperative(NAME, "1.0.0", "Retain"))
        .await;
    source.ready(NAMESPACE, NAME).await;
    source
        .kubelet
        .set_job_outcome(VOLUME, JobOutcome::Run(mono_export()));
    let exports: Api<CooperativeExport> = Api::namespaced(source.client.clone(), NAMESPACE);
    let export: CooperativeExport = serde_json::from_value(json!({
        "apiVersion": "mono.coopenomics.io/v1alpha1",
        "kind": "CooperativeExport",
        "metadata": {"name": "move"},
        "spec": {"cooperative": NAME, "storage": {"size": "1Gi"}},
    }))
    .expect("export spec");
    exports
        .create(&PostParams::default(), &export)
        .await
        .expect("create the export");
    let status = source
        .eventually("the export to succeed", |fake| {
            let status = fake
                .get::<CooperativeExport>(Some(NAMESPACE), "move")?
                .status?;
            (status.phase == Some(ExportPhase::Succeeded)).then_some(status)
        })
        .await;

    // Staff copy the volume's files and check them against the export's status, as
    // `sha256sum` would where they land.
    let mut target = Cluster::start().await;
    target.create_namespace(NAMESPACE).await;
    target.create_claim(NAMESPACE, VOLUME).await;
    let names = status
        .files
        .iter()
        .map(|file| file.name.clone())
        .chain(["manifest.json".to_owned()]);
    for name in names {
        let path = format!("export/{name}");
        let content = source
            .fake
            .volume_file(NAMESPACE, VOLUME, &path)
            .unwrap_or_else(|| panic!("{path} on the export volume"));
        let digest = hex::encode(Sha256::digest(&content));
        let expected = if name == "manifest.json" {
            status.manifest_sha256.clone()
        } else {
            status
                .files
                .iter()
                .find(|file| file.name == name)
                .map(|file| file.sha256.clone())
        };
        assert_eq!(Some(digest), expected, "{name}");
        target
            .fake
            .write_volume_file(NAMESPACE, VOLUME, &path, &content);
    }
    assert_eq!(status.files.len(), parts().len(), "{:?}", status.files);

    // The target cluster: the same cooperative, bootstrapped from the copy.
    let imported = Arc::new(Mutex::new(None));
    target
        .kubelet
        .set_job_outcome(IMPORT, JobOutcome::Run(mono_import(imported.clone())));
    let mut spec = cooperative(NAME, "1.0.0", "Retain");
    spec["spec"]["bootstrap"] = json!({"fromExport": {"claimName": VOLUME, "path": "export"}});
    target.create_in(NAMESPACE, spec).await;
    let coop = target.ready(NAMESPACE, NAME).await;
    assert_eq!(
        coop.status.and_then(|s| s.version).as_deref(),
        Some("1.0.0")
    );
    let job = target
        .fake
        .get_value("batch", "jobs", Some(NAMESPACE), IMPORT)
        .unwrap_or_default();
    assert!(job_finished(&job, "Complete"), "{job}");
    assert_eq!(
        imported
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_deref(),
        Some(REGISTRY_DIGEST),
        "the import read the bundle the source exported"
    );
}
