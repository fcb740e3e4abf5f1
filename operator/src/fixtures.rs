//! Test fixtures: a representative Cooperative with chainable variations, the operator
//! configuration used by the golden files, and a deterministic random source.

use std::path::PathBuf;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use mono_crds::{
    Bootstrap, ChainSpec, Cooperative, CooperativeSpec, DatabaseMode, DatabaseSpec, DomainSpec,
    ExternalDatabase, FromExport, InstanceSpec, QuotaSpec, SecretKeyRef, SecretsSpec, TlsSpec,
};
use rand_core::{RngCore, impls};

use crate::children::ChildConfig;

/// Compares `actual` with `tests/data/children/<file>`, or rewrites the file when
/// `UPDATE_EXPECT=1`.
pub(crate) fn check_golden(file: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/children")
        .join(file);
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::create_dir_all(path.parent().expect("golden files live in a directory"))
            .expect("create the golden directory");
        std::fs::write(&path, actual).expect("write the golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("{}: {err}; run with UPDATE_EXPECT=1", path.display()));
    assert!(
        expected == actual,
        "{} differs from the built children; review and rerun with UPDATE_EXPECT=1\n--- actual\n{actual}",
        path.display()
    );
}

/// The operator settings the golden files were written with.
pub(crate) fn test_config() -> ChildConfig {
    ChildConfig {
        instance_image: "ghcr.io/coopenomics/mono".to_owned(),
        default_version: "2.4.1".to_owned(),
        postgres_image: "docker.io/library/postgres:17.6".to_owned(),
        ingress_namespace: "ingress-nginx".to_owned(),
        monitoring_namespace: "monitoring".to_owned(),
        cnpg_namespace: "cnpg-system".to_owned(),
        operator_namespace: "mono-system".to_owned(),
        service_monitor: true,
    }
}

/// Cooperative `voskhod` in `coop-voskhod`: builtin database, no domain, version 2.4.1.
pub(crate) fn test_cooperative() -> Cooperative {
    let mut coop = Cooperative::new(
        "voskhod",
        CooperativeSpec {
            coopname: "voskhod".to_owned(),
            chain: ChainSpec {
                api_url: "https://api.coopos.example".to_owned(),
                ship_url: "wss://ship.coopos.example:8443".to_owned(),
                chain_id: "6e37f9ac0f0ea717bfbed3ef2e2bd7e0ba0ee9d4d0f57a1f0d1e8e1e2a5b8d2c"
                    .to_owned(),
            },
            instance: InstanceSpec {
                version: Some("2.4.1".to_owned()),
                ..InstanceSpec::default()
            },
            database: DatabaseSpec::default(),
            domain: None,
            secrets: SecretsSpec {
                cooperative_key: Some(SecretKeyRef {
                    name: "voskhod-key".to_owned(),
                    key: "private-key".to_owned(),
                }),
            },
            extensions: vec!["capital".to_owned()],
            deletion_policy: Default::default(),
            suspend: false,
            bootstrap: None,
            quota: QuotaSpec::default(),
        },
    );
    coop.metadata = ObjectMeta {
        name: Some("voskhod".to_owned()),
        namespace: Some("coop-voskhod".to_owned()),
        uid: Some("5f0c2a8e-1b7d-4c3e-9a61-2d4f8e9b0c11".to_owned()),
        generation: Some(3),
        ..ObjectMeta::default()
    };
    coop
}

/// Chainable variations of [`test_cooperative`].
pub(crate) trait CooperativeFixture: Sized {
    fn cloudnativepg(self) -> Self;
    fn external_db(self) -> Self;
    fn suspended(self) -> Self;
    fn with_domain(self) -> Self;
    fn with_domain_tls(self) -> Self;
    fn bootstrapped_from_export(self) -> Self;
    fn version(self, version: &str) -> Self;
}

impl CooperativeFixture for Cooperative {
    fn cloudnativepg(mut self) -> Self {
        self.spec.database.mode = DatabaseMode::Cloudnativepg;
        self.spec.database.storage.storage_class_name = Some("fast-ssd".to_owned());
        self
    }

    fn external_db(mut self) -> Self {
        self.spec.database.mode = DatabaseMode::External;
        self.spec.database.external = Some(ExternalDatabase {
            secret_ref: SecretKeyRef {
                name: "voskhod-pg".to_owned(),
                key: "url".to_owned(),
            },
        });
        self
    }

    fn suspended(mut self) -> Self {
        self.spec.suspend = true;
        self
    }

    fn with_domain(mut self) -> Self {
        self.spec.domain = Some(DomainSpec {
            host: "voskhod.example.org".to_owned(),
            ingress_class_name: Some("nginx".to_owned()),
            tls: None,
        });
        self
    }

    fn with_domain_tls(self) -> Self {
        let mut coop = self.with_domain();
        if let Some(domain) = &mut coop.spec.domain {
            domain.tls = Some(TlsSpec {
                secret_name: None,
                cluster_issuer: Some("letsencrypt".to_owned()),
            });
        }
        coop
    }

    fn bootstrapped_from_export(mut self) -> Self {
        self.spec.bootstrap = Some(Bootstrap {
            from_export: FromExport {
                claim_name: "voskhod-move-export".to_owned(),
                path: "export".to_owned(),
            },
        });
        self
    }

    fn version(mut self, version: &str) -> Self {
        self.spec.instance.version = Some(version.to_owned());
        self
    }
}

/// A random source returning a counter, so generated Secrets are reproducible in tests.
#[derive(Default)]
pub(crate) struct CountingRng(u64);

impl RngCore for CountingRng {
    fn next_u32(&mut self) -> u32 {
        impls::next_u32_via_fill(self)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        self.0
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        impls::fill_bytes_via_next(self, dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
