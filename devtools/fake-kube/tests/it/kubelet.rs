//! The simulated kubelet and job controller.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, ListParams, LogParams, Patch, PatchParams, PostParams};
use mono_fake_kube::{Container, FakeKube, JobOutcome, Program};
use serde_json::{Value, json};

use crate::start;

const DEADLINE: Duration = Duration::from_secs(30);

fn job(name: &str) -> Job {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}}},
    }))
    .expect("job")
}

fn finished_as(job: &Job) -> Option<&'static str> {
    let conditions = job.status.as_ref()?.conditions.as_ref()?;
    conditions.iter().find_map(|c| match c.type_.as_str() {
        "Complete" => Some("Complete"),
        "Failed" => Some("Failed"),
        _ => None,
    })
}

#[tokio::test]
async fn kubelet_readies_workloads_and_finishes_jobs_by_policy() {
    let (fake, client) = start().await;
    let kubelet = fake.kubelet();
    kubelet.set_job_outcome("broken", JobOutcome::Fail("exit status 1".into()));
    kubelet.set_job_outcome("slow", JobOutcome::Hold);
    let jobs: Api<Job> = Api::namespaced(client.clone(), "coop");
    for name in ["fine", "broken", "slow"] {
        jobs.create(&PostParams::default(), &job(name))
            .await
            .expect("create job");
    }
    let deployments: Api<Deployment> = Api::namespaced(client, "coop");
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "i:1"}]}}},
    });
    deployments
        .patch(
            "web",
            &PatchParams::apply("test"),
            &Patch::Apply(&deployment),
        )
        .await
        .expect("apply");

    let outcomes = fake
        .wait_for(DEADLINE, |fake| {
            let outcomes: Vec<Option<&str>> = ["fine", "broken", "slow"]
                .iter()
                .map(|name| {
                    fake.get::<Job>(Some("coop"), name)
                        .as_ref()
                        .and_then(finished_as)
                })
                .collect();
            (outcomes[..2].iter().all(Option::is_some)).then_some(outcomes)
        })
        .await
        .expect("jobs finish");
    assert_eq!(outcomes, [Some("Complete"), Some("Failed"), None]);

    let mut scaled = deployment.clone();
    scaled["spec"]["replicas"] = json!(3);
    deployments
        .patch("web", &PatchParams::apply("test"), &Patch::Apply(&scaled))
        .await
        .expect("scale");
    let ready = fake
        .wait_for(DEADLINE, |fake| {
            let status = fake.get::<Deployment>(Some("coop"), "web")?.status?;
            (status.observed_generation == Some(2)).then_some(status.ready_replicas)
        })
        .await
        .expect("deployment ready at generation 2");
    assert_eq!(ready, Some(3));

    kubelet.set_job_outcome("slow", JobOutcome::Complete);
    let slow = fake
        .wait_for(DEADLINE, |fake| {
            fake.get::<Job>(Some("coop"), "slow")
                .as_ref()
                .and_then(finished_as)
        })
        .await;
    assert_eq!(slow, Some("Complete"));
}

/// A job writing a bundle into `/out/bundle` the way `mono export` does: it refuses a
/// directory that already holds `manifest.json`, writes the manifest last and prints it as one
/// line on stdout.
fn bundle_writer() -> Program {
    Program::new(|container: &mut Container| {
        let manifest = "/out/bundle/manifest.json";
        if container.exists(manifest) {
            container.stderr(&format!(
                "Error: {manifest} already holds an export; choose an empty directory"
            ));
            return 2;
        }
        container.stderr("INFO exporting");
        let written = container
            .write("/out/bundle/events", b"events")
            .and_then(|()| container.write(manifest, b"{\n  \"files\": []\n}\n"));
        if let Err(err) = written {
            container.stderr(&format!("Error: {err}"));
            return 3;
        }
        container.stdout(r#"{"files":[]}"#);
        0
    })
}

/// Creates the claim `name` in `coop`.
async fn create_claim(client: &kube::Client, name: &str) {
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), "coop");
    let claim: PersistentVolumeClaim = serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }))
    .expect("claim");
    claims
        .create(&PostParams::default(), &claim)
        .await
        .expect("create claim");
}

/// A Job of one container mounting the claim named after it at `/out`, with `container`
/// fields added.
fn bundle_job(name: &str, container: Value) -> Job {
    let mut spec = json!({"name": "c", "image": "mono:1", "args": ["export"],
        "volumeMounts": [{"name": "out", "mountPath": "/out"}]});
    for (key, value) in container.as_object().into_iter().flatten() {
        spec[key] = value.clone();
    }
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"backoffLimit": 1, "template": {"spec": {
            "restartPolicy": "Never",
            "containers": [spec],
            "volumes": [{"name": "out", "persistentVolumeClaim": {"claimName": name}}],
        }}},
    }))
    .expect("job")
}

/// Waits for a Job to finish; returns how, and the terminated state of each of its pods.
async fn run_to_end(fake: &FakeKube, name: &str) -> (&'static str, Vec<Value>) {
    let finished = fake
        .wait_for(DEADLINE, |fake| {
            fake.get::<Job>(Some("coop"), name)
                .as_ref()
                .and_then(finished_as)
        })
        .await
        .expect("the job finishes");
    let pods = fake
        .list_values("", "pods", Some("coop"))
        .into_iter()
        .filter(|pod| pod["metadata"]["labels"]["job-name"] == name)
        .map(|pod| pod["status"]["containerStatuses"][0]["state"]["terminated"].clone())
        .collect();
    (finished, pods)
}

#[tokio::test]
async fn kubelet_runs_job_pods_and_reports_their_results_as_a_kubelet_does() {
    let (fake, client) = start().await;
    let kubelet = fake.kubelet();
    kubelet.set_default_job_outcome(JobOutcome::Run(bundle_writer()));
    let jobs: Api<Job> = Api::namespaced(client.clone(), "coop");
    for name in ["fine", "mounted", "silent", "reporting"] {
        create_claim(&client, name).await;
    }
    let pods: Api<Pod> = Api::namespaced(client, "coop");

    // The default termination-log path is outside the volume: the bundle is written, and the
    // result is on the log, not in a termination message (the container succeeded).
    let job = bundle_job(
        "fine",
        json!({"terminationMessagePolicy": "FallbackToLogsOnError"}),
    );
    jobs.create(&PostParams::default(), &job)
        .await
        .expect("create job");
    let (finished, terminated) = run_to_end(&fake, "fine").await;
    assert_eq!(finished, "Complete");
    assert_eq!(
        terminated,
        [
            json!({"exitCode": 0, "reason": "Completed", "startedAt": terminated[0]["startedAt"],
            "finishedAt": terminated[0]["finishedAt"], "containerID": "containerd://fine-00000-c"})
        ]
    );
    assert_eq!(
        fake.volume_file("coop", "fine", "bundle/manifest.json")
            .as_deref(),
        Some(&b"{\n  \"files\": []\n}\n"[..])
    );
    let listed = pods
        .list(&ListParams::default().labels("job-name=fine"))
        .await
        .expect("pods of the job");
    let pod = listed.items.first().expect("one pod");
    assert_eq!(
        pod.metadata.owner_references.as_ref().expect("owned")[0].kind,
        "Job"
    );
    let log = pods
        .logs("fine-00000", &LogParams::default())
        .await
        .expect("the log of the pod");
    assert_eq!(log, "INFO exporting\n{\"files\":[]}\n");
    let last = pods
        .logs(
            "fine-00000",
            &LogParams {
                container: Some("c".to_owned()),
                tail_lines: Some(1),
                ..LogParams::default()
            },
        )
        .await
        .expect("the last line");
    assert_eq!(last, "{\"files\":[]}\n");

    // A termination-log path inside the bundle directory: the kubelet's mount point is an
    // empty manifest.json before the program starts, so it refuses, every retry; the failed
    // container's last log line is its termination message.
    let job = bundle_job(
        "mounted",
        json!({"terminationMessagePath": "/out/bundle/manifest.json",
            "terminationMessagePolicy": "FallbackToLogsOnError"}),
    );
    jobs.create(&PostParams::default(), &job)
        .await
        .expect("create job");
    let (finished, terminated) = run_to_end(&fake, "mounted").await;
    assert_eq!(finished, "Failed");
    let refused =
        "Error: /out/bundle/manifest.json already holds an export; choose an empty directory\n";
    assert_eq!(terminated.len(), 2, "backoffLimit 1: two pods");
    for state in &terminated {
        assert_eq!(
            (&state["exitCode"], &state["message"]),
            (&json!(2), &json!(refused))
        );
    }
    assert_eq!(
        fake.volume_file("coop", "mounted", "bundle/manifest.json")
            .as_deref(),
        Some(&b""[..]),
        "the mount point stays on the volume"
    );
    let failed = fake.get::<Job>(Some("coop"), "mounted").expect("the job");
    let condition = failed
        .status
        .and_then(|s| s.conditions)
        .and_then(|c| c.into_iter().find(|c| c.type_ == "Failed"))
        .expect("a Failed condition");
    assert_eq!(condition.reason.as_deref(), Some("BackoffLimitExceeded"));

    // The default policy reports nothing of the log; what the program writes to the
    // termination-log file is the message, success or not.
    let job = bundle_job(
        "silent",
        json!({"terminationMessagePath": "/out/bundle/manifest.json"}),
    );
    jobs.create(&PostParams::default(), &job)
        .await
        .expect("create job");
    let (_, terminated) = run_to_end(&fake, "silent").await;
    assert!(terminated[0].get("message").is_none(), "{terminated:?}");
    kubelet.set_job_outcome(
        "reporting",
        JobOutcome::Run(Program::new(|container: &mut Container| {
            let written = container.write("/dev/termination-log", b"all done");
            i32::from(written.is_err())
        })),
    );
    jobs.create(&PostParams::default(), &bundle_job("reporting", json!({})))
        .await
        .expect("create job");
    let (finished, terminated) = run_to_end(&fake, "reporting").await;
    assert_eq!(
        (finished, &terminated[0]["message"]),
        ("Complete", &json!("all done"))
    );
}

#[tokio::test]
async fn a_job_waits_for_its_claim_whatever_its_outcome() {
    let (fake, client) = start().await;
    let _kubelet = fake.kubelet();
    let jobs: Api<Job> = Api::namespaced(client.clone(), "coop");
    jobs.create(&PostParams::default(), &bundle_job("early", json!({})))
        .await
        .expect("create job");
    let pending = fake
        .wait_for(DEADLINE, |fake| {
            fake.get::<Pod>(Some("coop"), "early-00000").filter(|pod| {
                pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Pending")
            })
        })
        .await
        .expect("a pending pod");
    let scheduled = pending
        .status
        .and_then(|s| s.conditions)
        .and_then(|c| c.into_iter().next())
        .expect("a PodScheduled condition");
    assert_eq!(
        (
            scheduled.type_.as_str(),
            scheduled.status.as_str(),
            scheduled.reason.as_deref(),
            scheduled.message.as_deref()
        ),
        (
            "PodScheduled",
            "False",
            Some("Unschedulable"),
            Some("0/1 nodes are available: persistentvolumeclaim \"early\" not found.")
        )
    );
    let waiting = fake.get::<Job>(Some("coop"), "early").expect("the job");
    assert_eq!(finished_as(&waiting), None, "the default outcome waits too");
    assert_eq!(waiting.status.and_then(|s| s.active), Some(1));

    create_claim(&client, "early").await;
    let (finished, _) = run_to_end(&fake, "early").await;
    assert_eq!(finished, "Complete");
    assert!(
        fake.get::<Pod>(Some("coop"), "early-00000").is_none(),
        "the pending pod made way for the run (Complete runs no pod)"
    );
}
