//! Deleting a Cooperative: `Retain` keeps the database volume and generated Secrets, `Delete`
//! removes them; everything else goes with the Cooperative either way.

use kube::api::DeleteParams;
use mono_crds::Cooperative;

use crate::{Cluster, cooperative, name_of, objects};

/// Coopname, deletion policy, and whether volumes and Secrets survive.
const CASES: [(&str, &str, bool); 2] = [("rassvet", "Retain", true), ("mir", "Delete", false)];

fn namespace(name: &str) -> String {
    format!("coop-{name}")
}

#[tokio::test]
async fn deletion_honours_the_policy() {
    let mut cluster = Cluster::start().await;
    for (name, policy, _) in CASES {
        cluster
            .create_cooperative(&namespace(name), cooperative(name, "1.0.0", policy))
            .await;
    }
    let mut kept = Vec::new();
    for (name, _, _) in CASES {
        let ns = namespace(name);
        cluster.ready(&ns, name).await;
        let volumes = objects(&cluster.fake, "", "persistentvolumeclaims", &ns)
            .iter()
            .map(name_of)
            .collect::<Vec<_>>();
        let secrets = objects(&cluster.fake, "", "secrets", &ns)
            .iter()
            .map(name_of)
            .collect::<Vec<_>>();
        assert!(
            !volumes.is_empty() && !secrets.is_empty(),
            "{ns}: volumes {volumes:?} secrets {secrets:?}"
        );
        kept.push((volumes, secrets));
    }
    for (name, _, _) in CASES {
        cluster
            .cooperatives(&namespace(name))
            .delete(name, &DeleteParams::default())
            .await
            .expect("delete cooperative");
    }
    for ((name, policy, survive), (volumes, secrets)) in CASES.into_iter().zip(kept) {
        let ns = namespace(name);
        let what = format!("{ns} ({policy}) to be cleaned up");
        cluster
            .eventually(&what, |fake| {
                let gone = fake.get::<Cooperative>(Some(&ns), name).is_none()
                    && objects(fake, "apps", "deployments", &ns).is_empty()
                    && objects(fake, "apps", "statefulsets", &ns).is_empty();
                let data_gone = objects(fake, "", "persistentvolumeclaims", &ns).is_empty()
                    && objects(fake, "", "secrets", &ns).is_empty();
                (gone && (survive || data_gone)).then_some(())
            })
            .await;
        if survive {
            let live = |plural: &str| -> Vec<String> {
                objects(&cluster.fake, "", plural, &ns)
                    .iter()
                    .filter(|object| object["metadata"].get("deletionTimestamp").is_none())
                    .map(name_of)
                    .collect()
            };
            assert_eq!(
                live("persistentvolumeclaims"),
                volumes,
                "{ns}: volumes kept"
            );
            assert_eq!(live("secrets"), secrets, "{ns}: secrets kept");
        }
    }
}
