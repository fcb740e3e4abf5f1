//! Generated Secrets: the builtin database password, the JWT signing secret and the service
//! credential.
//!
//! They are created once with random values and never updated, so a reconcile can never
//! rotate a credential by accident; the reconciler creates them with `create`, not apply.
//! Randomness is an argument so this module stays pure.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mono_crds::{Cooperative, DatabaseMode};
use rand_core::RngCore;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;

use super::{Child, ChildKind, Ctx, POSTGRES_PORT, database_name};
use crate::Result;

/// Key of the JWT signing secret in the `<name>-jwt` Secret.
pub(crate) const JWT_KEY: &str = "jwt-secret";
/// Key of the service credential in the `<name>-service` Secret.
pub(crate) const SERVICE_TOKEN_KEY: &str = "token";
/// Key of the connection URL in the builtin database Secret.
pub(crate) const DATABASE_URL_KEY: &str = "url";
/// Database and role name of the builtin database.
pub(crate) const DATABASE_USER: &str = "mono";

/// Name of the Secret with the JWT signing secret.
pub(crate) fn jwt_secret_name(coop_name: &str) -> String {
    format!("{coop_name}-jwt")
}

/// Name of the Secret with the service credential.
pub(crate) fn service_secret_name(coop_name: &str) -> String {
    format!("{coop_name}-service")
}

/// The generated Secrets without their values, as `render` shows them.
pub fn generated(coop: &Cooperative) -> Result<Vec<Child>> {
    Ok(build(&Ctx::new(coop)?, None))
}

/// The generated Secrets with fresh random values, for creation.
pub fn generate(coop: &Cooperative, rng: &mut dyn RngCore) -> Result<Vec<Child>> {
    Ok(build(&Ctx::new(coop)?, Some(rng)))
}

struct Values {
    database_password: String,
    jwt_secret: String,
    service_token: String,
}

fn build(ctx: &Ctx<'_>, rng: Option<&mut dyn RngCore>) -> Vec<Child> {
    let values = rng.map(|rng| Values {
        database_password: random_token(rng),
        jwt_secret: random_token(rng),
        service_token: random_token(rng),
    });
    let mut secrets = Vec::with_capacity(3);
    if ctx.database_mode() == DatabaseMode::Builtin {
        let host = format!(
            "{}.{}.svc:{POSTGRES_PORT}",
            database_name(ctx.name),
            ctx.namespace
        );
        secrets.push(secret(
            ctx,
            &database_name(ctx.name),
            &["username", "password", "database", DATABASE_URL_KEY],
            values.as_ref().map(|values| {
                let password = &values.database_password;
                strings(&[
                    ("username", DATABASE_USER),
                    ("password", password),
                    ("database", DATABASE_USER),
                    (
                        DATABASE_URL_KEY,
                        &format!("postgres://{DATABASE_USER}:{password}@{host}/{DATABASE_USER}"),
                    ),
                ])
            }),
        ));
    }
    secrets.push(secret(
        ctx,
        &jwt_secret_name(ctx.name),
        &[JWT_KEY],
        values
            .as_ref()
            .map(|values| strings(&[(JWT_KEY, &values.jwt_secret)])),
    ));
    secrets.push(secret(
        ctx,
        &service_secret_name(ctx.name),
        &[SERVICE_TOKEN_KEY],
        values
            .as_ref()
            .map(|values| strings(&[(SERVICE_TOKEN_KEY, &values.service_token)])),
    ));
    secrets
}

fn secret(
    ctx: &Ctx<'_>,
    name: &str,
    keys: &[&str],
    string_data: Option<BTreeMap<String, String>>,
) -> Child {
    let mut metadata = ctx.metadata(name, "credentials");
    metadata.annotations = Some(strings(&[(
        "mono.coopenomics.io/generated-keys",
        &keys.join(","),
    )]));
    let secret = Secret {
        metadata,
        type_: Some("Opaque".to_owned()),
        string_data,
        ..Secret::default()
    };
    Child::typed(ChildKind::Secret, &secret)
}

fn strings(items: &[(&str, &str)]) -> BTreeMap<String, String> {
    items
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect()
}

/// 256 random bits, URL-safe base64 without padding (43 characters).
fn random_token(rng: &mut dyn RngCore) -> String {
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::fixtures::{CooperativeFixture, CountingRng, test_cooperative};

    #[test]
    fn secrets_per_database_mode() {
        let cases = [
            (
                test_cooperative(),
                vec!["voskhod-db", "voskhod-jwt", "voskhod-service"],
            ),
            (
                test_cooperative().cloudnativepg(),
                vec!["voskhod-jwt", "voskhod-service"],
            ),
            (
                test_cooperative().external_db(),
                vec!["voskhod-jwt", "voskhod-service"],
            ),
        ];
        for (coop, expected) in cases {
            let names: Vec<String> = generated(&coop)
                .unwrap()
                .into_iter()
                .map(|child| child.name)
                .collect();
            assert_eq!(names, expected);
        }
    }

    #[test]
    fn generated_values_are_distinct_and_consistent() {
        let secrets = generate(&test_cooperative(), &mut CountingRng::default()).unwrap();
        let db = &secrets[0].object["stringData"];
        let password = db["password"].as_str().unwrap();
        assert_eq!(password.len(), 43);
        assert_eq!(
            db["url"],
            json!(format!(
                "postgres://mono:{password}@voskhod-db.coop-voskhod.svc:5432/mono"
            ))
        );
        let jwt = secrets[1].object["stringData"][JWT_KEY].as_str().unwrap();
        let token = secrets[2].object["stringData"][SERVICE_TOKEN_KEY]
            .as_str()
            .unwrap();
        assert_ne!(password, jwt);
        assert_ne!(jwt, token);
    }

    #[test]
    fn templates_carry_no_values() {
        for secret in generated(&test_cooperative()).unwrap() {
            assert!(secret.object.get("stringData").is_none());
            assert!(secret.object.get("data").is_none());
        }
    }
}
