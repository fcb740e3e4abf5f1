//! Version changes: the migration Job runs before the rollout, and a failed one stops it.

use kube::api::{Patch, PatchParams};
use mono_crds::Cooperative;
use mono_fake_kube::{FakeKube, JobOutcome};
use serde_json::{Value, json};

use crate::{Cluster, condition, cooperative, deployment_image, job_finished, name_of, objects};

const NAMESPACE: &str = "coop-zarya";
const NAME: &str = "zarya";

/// The migration Job of `version`: named `<coop>-migrate-…` and running that version's image.
fn migration_job(fake: &FakeKube, version: &str) -> Option<Value> {
    objects(fake, "batch", "jobs", NAMESPACE)
        .into_iter()
        .find(|job| {
            let image = job["spec"]["template"]["spec"]["containers"][0]["image"]
                .as_str()
                .unwrap_or_default();
            name_of(job).starts_with(&format!("{NAME}-migrate-"))
                && image.ends_with(&format!(":{version}"))
        })
}

/// Starts a cluster with a Ready Cooperative on 1.0.0, then asks for 1.1.0 with Jobs ending as
/// `outcome` by default.
async fn upgrade_with(outcome: JobOutcome) -> Cluster {
    let mut cluster = Cluster::start().await;
    cluster
        .create_cooperative(NAMESPACE, cooperative(NAME, "1.0.0", "Retain"))
        .await;
    cluster.ready(NAMESPACE, NAME).await;
    cluster.kubelet.set_default_job_outcome(outcome);
    let patch = json!({"spec": {"instance": {"version": "1.1.0"}}});
    cluster
        .cooperatives(NAMESPACE)
        .patch(NAME, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("change version");
    cluster
}

fn current(fake: &FakeKube) -> Option<Cooperative> {
    fake.get::<Cooperative>(Some(NAMESPACE), NAME)
}

#[tokio::test]
async fn version_change_migrates_before_rolling_out() {
    let mut cluster = upgrade_with(JobOutcome::Hold).await;
    let job = cluster
        .eventually("the migration Job of 1.1.0", |fake| {
            migration_job(fake, "1.1.0")
        })
        .await;
    cluster
        .eventually("the Upgrading condition while the migration runs", |fake| {
            current(fake)
                .filter(|coop| condition(coop, "Upgrading").is_some_and(|c| c.status == "True"))
        })
        .await;
    let image = deployment_image(&cluster.fake, NAMESPACE).unwrap_or_default();
    assert!(
        image.ends_with(":1.0.0"),
        "the rollout waits for the migration, image is {image}"
    );

    cluster
        .kubelet
        .set_job_outcome(&name_of(&job), JobOutcome::Complete);
    let coop = cluster
        .eventually("the rollout of 1.1.0 to finish", |fake| {
            let image = deployment_image(fake, NAMESPACE)?;
            let coop = current(fake).filter(crate::is_ready)?;
            let done = image.ends_with(":1.1.0")
                && coop.status.as_ref()?.version.as_deref() == Some("1.1.0");
            done.then_some(coop)
        })
        .await;
    assert!(job_finished(
        &migration_job(&cluster.fake, "1.1.0").unwrap_or_default(),
        "Complete"
    ));
    assert_ne!(
        condition(&coop, "Upgrading").map(|c| c.status.as_str()),
        Some("True"),
        "Upgrading is cleared"
    );
}

#[tokio::test]
async fn failed_migration_stops_the_rollout() {
    let mut cluster =
        upgrade_with(JobOutcome::Fail("mono migrate exited with status 1".into())).await;
    let coop = cluster
        .eventually("a condition reporting the failed migration", |fake| {
            let failed =
                migration_job(fake, "1.1.0").is_some_and(|job| job_finished(&job, "Failed"));
            let coop = current(fake)?;
            let reported = condition(&coop, "Degraded").is_some_and(|c| {
                let text = format!("{} {}", c.reason, c.message).to_lowercase();
                c.status == "True" && text.contains("migrat")
            });
            (failed && reported).then_some(coop)
        })
        .await;
    let image = deployment_image(&cluster.fake, NAMESPACE).unwrap_or_default();
    assert!(
        image.ends_with(":1.0.0"),
        "the rollout stopped, image is {image}"
    );
    assert_ne!(
        coop.status.as_ref().and_then(|s| s.version.as_deref()),
        Some("1.1.0")
    );
}

/// Regression for #14: every migration Job of a Cooperative whose name fills 60 characters
/// was cut to the same 63 characters, so an upgrade found the first rollout's completed Job
/// under its name and rolled out without migrating.
#[tokio::test]
async fn long_cooperative_names_migrate_every_version() {
    const LONG_NAMESPACE: &str = "coop-long";
    let name = "a-cooperative-whose-resource-name-is-long-enough-to-fill-six";
    assert_eq!(name.len(), 60);
    let mut cluster = Cluster::start().await;
    let mut spec = cooperative(name, "1.0.0", "Retain");
    spec["spec"]["coopname"] = json!("longcoop");
    cluster.create_cooperative(LONG_NAMESPACE, spec).await;
    cluster.ready(LONG_NAMESPACE, name).await;
    cluster.kubelet.set_default_job_outcome(JobOutcome::Hold);
    let patch = json!({"spec": {"instance": {"version": "1.1.0"}}});
    cluster
        .cooperatives(LONG_NAMESPACE)
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("change version");

    let coop = cluster
        .eventually("the upgrade to migrate or to roll out", |fake| {
            let coop = fake.get::<Cooperative>(Some(LONG_NAMESPACE), name)?;
            let migrating = condition(&coop, "Upgrading")
                .is_some_and(|c| c.status == "True" && c.reason == "Migrating");
            let rolled_out = coop.status.as_ref()?.version.as_deref() == Some("1.1.0");
            (migrating || rolled_out).then_some(coop)
        })
        .await;
    assert_eq!(
        coop.status.as_ref().and_then(|s| s.version.as_deref()),
        Some("1.0.0"),
        "1.1.0 must not roll out before its own migration ran"
    );
    let jobs = objects(&cluster.fake, "batch", "jobs", LONG_NAMESPACE);
    let images: Vec<(String, bool)> = jobs
        .iter()
        .map(|job| {
            let image = job["spec"]["template"]["spec"]["containers"][0]["image"]
                .as_str()
                .unwrap_or_default();
            (
                image.rsplit(':').next().unwrap_or_default().to_owned(),
                job_finished(job, "Complete"),
            )
        })
        .collect();
    assert_eq!(images.len(), 2, "one migration Job per version: {jobs:?}");
    assert!(images.contains(&("1.0.0".to_owned(), true)), "{images:?}");
    assert!(images.contains(&("1.1.0".to_owned(), false)), "{images:?}");
    for job in &jobs {
        assert!(name_of(job).len() <= 63, "{}", name_of(job));
    }
    let image = deployment_image(&cluster.fake, LONG_NAMESPACE).unwrap_or_default();
    assert!(image.ends_with(":1.0.0"), "{image}");
}

/// A new default version upgrades the fleet at most `--max-concurrent-upgrades` Cooperatives
/// at a time; the others say they wait for a slot (#14).
#[tokio::test]
async fn default_version_rolls_through_the_fleet_one_at_a_time() {
    let args = |version: &'static str| {
        vec![
            "--probe-instances",
            "false",
            "--max-concurrent-upgrades",
            "1",
            "--instance-version",
            version,
        ]
    };
    let mut cluster = crate::Cluster::start_with(&args("1.0.0")).await;
    let fleet = [("coop-flota", "flota"), ("coop-flotb", "flotb")];
    for (namespace, name) in fleet {
        let mut spec = crate::cooperative(name, "1.0.0", "Retain");
        spec["spec"]["instance"] = serde_json::json!({});
        cluster.create_cooperative(namespace, spec).await;
    }
    for (namespace, name) in fleet {
        cluster.ready(namespace, name).await;
    }

    cluster
        .kubelet
        .set_default_job_outcome(mono_fake_kube::JobOutcome::Hold);
    cluster.kill_operator().await;
    cluster.extra_args = args("1.1.0").iter().map(|a| (*a).to_owned()).collect();
    cluster.start_operator();
    let job = |name: &str| format!("{name}-migrate-1-1-0");
    let (first, second) = cluster
        .eventually("one upgrade started and the other queued", |fake| {
            let started: Vec<_> = fleet
                .iter()
                .filter(|(ns, name)| {
                    fake.get_value("batch", "jobs", Some(ns), &job(name))
                        .is_some()
                })
                .collect();
            let queued: Vec<_> = fleet
                .iter()
                .filter(|(ns, name)| {
                    fake.get::<Cooperative>(Some(ns), name).is_some_and(|coop| {
                        crate::condition(&coop, "Upgrading").is_some_and(|c| c.reason == "Queued")
                    })
                })
                .collect();
            match (started.as_slice(), queued.as_slice()) {
                ([started], [queued]) if started != queued => Some((**started, **queued)),
                _ => None,
            }
        })
        .await;
    assert!(
        cluster
            .fake
            .get_value("batch", "jobs", Some(second.0), &job(second.1))
            .is_none(),
        "the queued Cooperative got a migration Job"
    );

    // Once the first upgrade is done, the second takes the slot.
    cluster
        .kubelet
        .set_job_outcome(&job(first.1), mono_fake_kube::JobOutcome::Complete);
    cluster
        .eventually("the second upgrade to start", |fake| {
            fake.get_value("batch", "jobs", Some(second.0), &job(second.1))
        })
        .await;
    cluster
        .kubelet
        .set_job_outcome(&job(second.1), mono_fake_kube::JobOutcome::Complete);
    for (namespace, name) in fleet {
        let coop = cluster
            .eventually("the fleet on 1.1.0", |fake| {
                fake.get::<Cooperative>(Some(namespace), name)
                    .filter(|coop| {
                        coop.status
                            .as_ref()
                            .is_some_and(|s| s.version.as_deref() == Some("1.1.0"))
                    })
            })
            .await;
        assert!(crate::is_ready(&coop), "{name} ready on 1.1.0");
    }
}

/// A new PostgreSQL image of another major version is not rolled out to a builtin database,
/// which its server could not open; a minor one is (#14).
#[tokio::test]
async fn postgres_major_change_is_refused_on_builtin_databases() {
    const NS: &str = "coop-baza";
    let args = |image: &'static str| vec!["--probe-instances", "false", "--postgres-image", image];
    let mut cluster = crate::Cluster::start_with(&args("postgres:17.6")).await;
    cluster
        .create_cooperative(NS, crate::cooperative("baza", "1.0.0", "Retain"))
        .await;
    cluster.ready(NS, "baza").await;
    let image = |fake: &FakeKube| {
        fake.get_value("apps", "statefulsets", Some(NS), "baza-db")
            .and_then(|set| {
                set["spec"]["template"]["spec"]["containers"][0]["image"]
                    .as_str()
                    .map(str::to_owned)
            })
    };

    cluster.kill_operator().await;
    cluster.extra_args = args("postgres:18.1")
        .iter()
        .map(|a| (*a).to_owned())
        .collect();
    cluster.start_operator();
    let coop = cluster
        .eventually("Degraded reason PostgresMajorChangeRefused", |fake| {
            fake.get::<Cooperative>(Some(NS), "baza").filter(|coop| {
                crate::condition(coop, "Degraded")
                    .is_some_and(|c| c.reason == "PostgresMajorChangeRefused")
            })
        })
        .await;
    assert_eq!(image(&cluster.fake).as_deref(), Some("postgres:17.6"));
    assert_eq!(
        crate::condition(&coop, "Degraded").map(|c| c.status.as_str()),
        Some("True")
    );

    cluster.kill_operator().await;
    cluster.extra_args = args("postgres:17.7")
        .iter()
        .map(|a| (*a).to_owned())
        .collect();
    cluster.start_operator();
    cluster
        .eventually("the minor update rolled out", |fake| {
            (image(fake).as_deref() == Some("postgres:17.7")).then_some(())
        })
        .await;
    cluster
        .eventually("Degraded cleared", |fake| {
            fake.get::<Cooperative>(Some(NS), "baza").filter(|coop| {
                crate::condition(coop, "Degraded").is_some_and(|c| c.status == "False")
            })
        })
        .await;
}

/// A new PostgreSQL image restarts every builtin database: like a new version it rolls
/// through the fleet at most N at a time, each database holding its slot until it is ready
/// on the new image (#14).
#[tokio::test]
async fn postgres_image_rolls_through_the_fleet_one_at_a_time() {
    let args = |image: &'static str| {
        vec![
            "--probe-instances",
            "false",
            "--max-concurrent-upgrades",
            "1",
            "--postgres-image",
            image,
        ]
    };
    let mut cluster = crate::Cluster::start_with(&args("postgres:17.6")).await;
    let fleet = [("coop-bazaa", "bazaa"), ("coop-bazab", "bazab")];
    for (namespace, name) in fleet {
        cluster
            .create_cooperative(namespace, crate::cooperative(name, "1.0.0", "Retain"))
            .await;
    }
    for (namespace, name) in fleet {
        cluster.ready(namespace, name).await;
    }
    let image = |fake: &FakeKube, namespace: &str, name: &str| {
        fake.get_value(
            "apps",
            "statefulsets",
            Some(namespace),
            &format!("{name}-db"),
        )
        .and_then(|set| {
            set["spec"]["template"]["spec"]["containers"][0]["image"]
                .as_str()
                .map(str::to_owned)
        })
    };

    // Databases restarted on the new image stay unready until the kubelet resumes.
    cluster.kubelet.pause();
    cluster.kill_operator().await;
    cluster.extra_args = args("postgres:17.7")
        .iter()
        .map(|a| (*a).to_owned())
        .collect();
    cluster.start_operator();
    let queued = cluster
        .eventually("one database on 17.7 and the other queued", |fake| {
            let rolled: Vec<_> = fleet
                .iter()
                .filter(|(ns, name)| image(fake, ns, name).as_deref() == Some("postgres:17.7"))
                .collect();
            let queued: Vec<_> = fleet
                .iter()
                .filter_map(|(ns, name)| {
                    let coop = fake.get::<Cooperative>(Some(ns), name)?;
                    crate::condition(&coop, "Upgrading")
                        .filter(|c| c.reason == "Queued")
                        .map(|c| (*ns, *name, c.message.clone()))
                })
                .collect();
            match (rolled.as_slice(), queued.as_slice()) {
                ([rolled], [queued]) if rolled.1 != queued.1 => Some(queued.clone()),
                _ => None,
            }
        })
        .await;
    assert!(
        queued.2.starts_with(
            "PostgreSQL image postgres:17.7 waits for an upgrade slot; the database runs postgres:17.6"
        ),
        "{}",
        queued.2
    );
    assert_eq!(
        image(&cluster.fake, queued.0, queued.1).as_deref(),
        Some("postgres:17.6"),
        "the queued database keeps its image"
    );

    cluster.kubelet.resume();
    for (namespace, name) in fleet {
        cluster
            .eventually("every database on 17.7", |fake| {
                (image(fake, namespace, name).as_deref() == Some("postgres:17.7")).then_some(())
            })
            .await;
        cluster.ready(namespace, name).await;
    }
}
