//! Tenant guardrails: what hosting staff allow a self-service Cooperative to ask for — host
//! names under their suffixes, their certificate issuers, their chain endpoints, their
//! versions, and never an older version than the one running.
//!
//! Staff set them for the whole platform (the operator's flags) and may narrow them for one
//! namespace by its annotations ([`Guardrails::from_annotations`]): a value must then be
//! allowed by both. Tenants must not be able to edit their Namespace object.
//!
//! The chart's ValidatingAdmissionPolicy refuses the same at the API server; the operator
//! checks again because a policy can be missing, disabled or bypassed by a staff account, and
//! because what staff allow changes after a Cooperative was admitted. A refused spec is
//! reported in the status and nothing is changed for it. Pure: no I/O.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use mono_crds::Cooperative;

/// What staff allow; an empty list allows anything of its kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Guardrails {
    /// DNS suffixes `spec.domain.host` must be under (`coops.example.org` allows
    /// `voskhod.coops.example.org`, not `coops.example.org` itself).
    pub host_suffixes: Vec<String>,
    /// cert-manager ClusterIssuers `spec.domain.tls.clusterIssuer` may name.
    pub cluster_issuers: Vec<String>,
    /// URL prefixes (`https://api.coopos.example`, `wss://ship.coopos.example:8443`) both
    /// chain URLs must start with, up to a path, a port or the end.
    pub chain_endpoints: Vec<String>,
    /// Versions `spec.instance.version` may name.
    pub versions: Vec<String>,
}

/// Namespace annotation listing the DNS suffixes allowed in the namespace, comma-separated.
pub const ALLOWED_HOST_SUFFIXES: &str = "mono.coopenomics.io/allowed-host-suffixes";
/// Namespace annotation listing the ClusterIssuers allowed in the namespace, comma-separated.
pub const ALLOWED_CLUSTER_ISSUERS: &str = "mono.coopenomics.io/allowed-cluster-issuers";
/// Namespace annotation listing the chain endpoints allowed in the namespace, comma-separated.
pub const ALLOWED_CHAIN_ENDPOINTS: &str = "mono.coopenomics.io/allowed-chain-endpoints";
/// Namespace annotation listing the versions allowed in the namespace, comma-separated.
pub const ALLOWED_VERSIONS: &str = "mono.coopenomics.io/allowed-versions";

impl Guardrails {
    /// The allowlists staff set on a namespace through its annotations
    /// ([`ALLOWED_HOST_SUFFIXES`] and the others); an absent or empty annotation allows
    /// anything of its kind, leaving the platform's list alone to decide.
    pub fn from_annotations(annotations: &BTreeMap<String, String>) -> Guardrails {
        let list = |key: &str| {
            annotations
                .get(key)
                .into_iter()
                .flat_map(|value| value.split(','))
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_owned)
                .collect()
        };
        Guardrails {
            host_suffixes: list(ALLOWED_HOST_SUFFIXES),
            cluster_issuers: list(ALLOWED_CLUSTER_ISSUERS),
            chain_endpoints: list(ALLOWED_CHAIN_ENDPOINTS),
            versions: list(ALLOWED_VERSIONS),
        }
    }

    /// What `coop` asks for that staff do not allow, each in a sentence; `running` is the
    /// version its instance runs, which it may not go below. Empty when all is allowed.
    pub fn refusals(&self, coop: &Cooperative, running: Option<&str>) -> Vec<String> {
        let mut refusals = Vec::new();
        if let Some(domain) = &coop.spec.domain {
            if !self.host_suffixes.is_empty()
                && !self
                    .host_suffixes
                    .iter()
                    .any(|suffix| under_suffix(&domain.host, suffix))
            {
                refusals.push(format!(
                    "host {} is not under {}",
                    domain.host,
                    self.host_suffixes.join(", ")
                ));
            }
            let issuer = domain
                .tls
                .as_ref()
                .and_then(|tls| tls.cluster_issuer.as_ref());
            if let Some(issuer) = issuer
                && !self.cluster_issuers.is_empty()
                && !self.cluster_issuers.contains(issuer)
            {
                refusals.push(format!(
                    "ClusterIssuer {issuer} is not one of {}",
                    self.cluster_issuers.join(", ")
                ));
            }
        }
        let chain = &coop.spec.chain;
        for (field, url) in [("apiUrl", &chain.api_url), ("shipUrl", &chain.ship_url)] {
            if !self.chain_endpoints.is_empty()
                && !self
                    .chain_endpoints
                    .iter()
                    .any(|endpoint| under_endpoint(url, endpoint))
            {
                refusals.push(format!(
                    "chain.{field} {url} is not one of the chain endpoints {}",
                    self.chain_endpoints.join(", ")
                ));
            }
        }
        if let Some(version) = &coop.spec.instance.version {
            if !self.versions.is_empty() && !self.versions.contains(version) {
                refusals.push(format!(
                    "version {version} is not one of {}",
                    self.versions.join(", ")
                ));
            }
            if let Some(running) = running
                && compare_versions(version, running) == Ordering::Less
            {
                refusals.push(format!(
                    "version {version} is older than the running {running}; downgrades are not supported"
                ));
            }
        }
        refusals
    }
}

fn under_suffix(host: &str, suffix: &str) -> bool {
    let suffix = suffix.trim_start_matches('.').to_ascii_lowercase();
    let host = host.to_ascii_lowercase();
    host.strip_suffix(&suffix)
        .is_some_and(|rest| rest.len() > 1 && rest.ends_with('.'))
}

fn under_endpoint(url: &str, endpoint: &str) -> bool {
    let endpoint = endpoint.trim_end_matches('/');
    url.strip_prefix(endpoint)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?', '#']))
}

/// Orders two versions: numeric dot-separated parts compare as numbers, a version with a
/// pre-release (`-rc.1`) comes before the release, anything else compares as text.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let split = |v: &str| {
        let v = v.trim_start_matches('v');
        let (core, pre) = match v.split_once(['-', '+']) {
            Some((core, pre)) => (core.to_owned(), Some(pre.to_owned())),
            None => (v.to_owned(), None),
        };
        (core, pre)
    };
    let ((core_a, pre_a), (core_b, pre_b)) = (split(a), split(b));
    let mut parts_a = core_a.split('.');
    let mut parts_b = core_b.split('.');
    loop {
        match (parts_a.next(), parts_b.next()) {
            (None, None) => break,
            (x, y) => {
                let x = x.unwrap_or("0");
                let y = y.unwrap_or("0");
                let order = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(x), Ok(y)) => x.cmp(&y),
                    _ => x.cmp(y),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
    match (pre_a, pre_b) {
        (None, None) => Ordering::Equal,
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (Some(x), Some(y)) => x.cmp(&y),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{CooperativeFixture, test_cooperative};

    fn staff() -> Guardrails {
        Guardrails {
            host_suffixes: vec!["coops.example.org".to_owned()],
            cluster_issuers: vec!["letsencrypt".to_owned()],
            chain_endpoints: vec![
                "https://api.coopos.example".to_owned(),
                "wss://ship.coopos.example:8443/".to_owned(),
            ],
            versions: vec!["2.4.1".to_owned(), "2.5.0".to_owned()],
        }
    }

    #[test]
    fn namespace_annotations_narrow_what_is_allowed() {
        let annotations: BTreeMap<String, String> = [
            (
                ALLOWED_HOST_SUFFIXES.to_owned(),
                " yug.coops.example.org , ,sever.coops.example.org".to_owned(),
            ),
            (ALLOWED_VERSIONS.to_owned(), "2.5.0".to_owned()),
            (ALLOWED_CLUSTER_ISSUERS.to_owned(), String::new()),
            ("unrelated".to_owned(), "x".to_owned()),
        ]
        .into();
        let namespace = Guardrails::from_annotations(&annotations);
        assert_eq!(
            namespace,
            Guardrails {
                host_suffixes: vec![
                    "yug.coops.example.org".to_owned(),
                    "sever.coops.example.org".to_owned()
                ],
                versions: vec!["2.5.0".to_owned()],
                ..Guardrails::default()
            }
        );
        let mut coop = test_cooperative().version("2.4.1").with_domain();
        if let Some(domain) = &mut coop.spec.domain {
            domain.host = "voskhod.coops.example.org".to_owned();
        }
        // The platform allows both; the namespace allows neither.
        assert!(staff().refusals(&coop, None).is_empty());
        assert_eq!(
            namespace.refusals(&coop, None),
            [
                "host voskhod.coops.example.org is not under yug.coops.example.org, sever.coops.example.org",
                "version 2.4.1 is not one of 2.5.0",
            ]
        );
        assert_eq!(
            Guardrails::from_annotations(&BTreeMap::new()),
            Guardrails::default()
        );
    }

    #[test]
    fn versions_order() {
        let cases = [
            ("2.4.1", "2.4.1", Ordering::Equal),
            ("2.10.0", "2.9.9", Ordering::Greater),
            ("2.4", "2.4.0", Ordering::Equal),
            ("2.5.0-rc.1", "2.5.0", Ordering::Less),
            ("v3.0.0", "2.9.0", Ordering::Greater),
            ("1.0.0", "1.0.1", Ordering::Less),
        ];
        for (a, b, expected) in cases {
            assert_eq!(compare_versions(a, b), expected, "{a} vs {b}");
        }
    }

    #[test]
    fn what_staff_allow() {
        let with_host = |host: &str| {
            let mut coop = test_cooperative().with_domain_tls();
            if let Some(domain) = &mut coop.spec.domain {
                domain.host = host.to_owned();
            }
            coop
        };
        let with_issuer = |issuer: &str| {
            let mut coop = with_host("voskhod.coops.example.org");
            if let Some(tls) = coop.spec.domain.as_mut().and_then(|d| d.tls.as_mut()) {
                tls.cluster_issuer = Some(issuer.to_owned());
            }
            coop
        };
        let with_api = |url: &str| {
            let mut coop = test_cooperative();
            coop.spec.chain.api_url = url.to_owned();
            coop
        };
        let cases: Vec<(Cooperative, Option<&str>, Vec<&str>)> = vec![
            (test_cooperative(), None, vec![]),
            (with_host("voskhod.coops.example.org"), None, vec![]),
            (with_host("VOSKHOD.Coops.Example.org"), None, vec![]),
            (
                with_host("coops.example.org"),
                None,
                vec!["host coops.example.org is not under coops.example.org"],
            ),
            (
                with_host("evilcoops.example.org"),
                None,
                vec!["host evilcoops.example.org is not under coops.example.org"],
            ),
            (
                with_host("console.platform.example"),
                None,
                vec!["host console.platform.example is not under coops.example.org"],
            ),
            (
                with_issuer("their-own-ca"),
                None,
                vec!["ClusterIssuer their-own-ca is not one of letsencrypt"],
            ),
            (with_api("https://api.coopos.example/v1"), None, vec![]),
            (
                with_api("https://api.coopos.example.evil.org"),
                None,
                vec![
                    "chain.apiUrl https://api.coopos.example.evil.org is not one of the chain endpoints https://api.coopos.example, wss://ship.coopos.example:8443/",
                ],
            ),
            (
                with_api("http://169.254.169.254/latest"),
                None,
                vec![
                    "chain.apiUrl http://169.254.169.254/latest is not one of the chain endpoints https://api.coopos.example, wss://ship.coopos.example:8443/",
                ],
            ),
            (
                test_cooperative().version("9.9.9"),
                None,
                vec!["version 9.9.9 is not one of 2.4.1, 2.5.0"],
            ),
            (test_cooperative().version("2.5.0"), Some("2.4.1"), vec![]),
            (
                test_cooperative().version("2.4.1"),
                Some("2.5.0"),
                vec!["version 2.4.1 is older than the running 2.5.0; downgrades are not supported"],
            ),
        ];
        for (coop, running, expected) in cases {
            assert_eq!(
                staff().refusals(&coop, running),
                expected,
                "{:?} {:?}",
                coop.spec.domain,
                coop.spec.chain
            );
        }
        // Without allowlists only downgrades are refused.
        let open = Guardrails::default();
        assert!(
            open.refusals(&with_host("anything.example"), None)
                .is_empty()
        );
        assert_eq!(
            open.refusals(&test_cooperative().version("2.4.1"), Some("2.5.0"))
                .len(),
            1
        );
    }
}
