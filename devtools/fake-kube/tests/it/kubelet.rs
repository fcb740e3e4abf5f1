//! The simulated kubelet and job controller.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, Patch, PatchParams, PostParams};
use mono_fake_kube::JobOutcome;
use serde_json::json;

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
